"""Prepaid or post-paid, per household and month, never both."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind
from backend.core.services import audit_record

from ..models import BillingModeChange, PaymentSettings


def billing_mode_change(
    *, actor, household, mode: str, effective_from: dt.date, reason: str = ""
) -> BillingModeChange:
    """Switch a household to ``mode`` from the 1st of a month that has not started yet.

    A month already under way keeps its mode: its meals are either debited one by one (prepaid)
    or invoiced at the end (post-paid), never both.
    """
    if mode not in PaymentSettings.Mode.values:
        raise ApplicationError(_("Mode de facturation inconnu."))
    first = effective_from.replace(day=1)
    if effective_from.day != 1 or first <= timezone.localdate():
        raise ApplicationError(
            _(
                "Un changement de mode prend effet au 1er d'un mois qui n'a pas commencé "
                "(le mois en cours garde son mode)."
            )
        )
    try:
        with transaction.atomic():
            change = BillingModeChange.objects.create(
                household=household,
                mode=mode,
                effective_from=first,
                reason=(reason or "").strip()[:255],
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            audit_record(
                action="payments.billing_mode_change",
                actor=actor,
                actor_kind=ActorKind.STAFF_FOR_FAMILY,
                target=change,
                household_id=household.pk,
                data={"mode": mode, "effective_from": f"{first:%Y-%m-%d}"},
            )
    except IntegrityError:
        raise ApplicationError(
            _("Un changement de mode est déjà prévu pour le %(date)s.")
            % {"date": first.strftime("%d/%m/%Y")}
        )
    return change
