"""Prepaid mode: each attended meal is debited once; alerts once per threshold crossing.

A child is never refused a meal: this module only debits and alerts, it blocks nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.services import notification_send
from family.models import ChildGuardian

from .. import sources
from ..models import (
    Account,
    BillingModeChange,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    PaymentSettings,
)
from ..selectors import balances_for_accounts, format_cents, household_is_prepaid
from .billing import payers_for_day, split_amount


def prepaid_debit_meals(*, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Debit attended meals of the last days (idempotent: one entry per meal source and payer)."""
    conf = PaymentSettings.current()
    if (
        conf.mode != PaymentSettings.Mode.PREPAID
        and not BillingModeChange.objects.filter(mode=PaymentSettings.Mode.PREPAID).exists()
    ):
        return 0
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=7)
    # Only households prepaid in the meal's month; a meal already on an invoice is never debited.
    predicates: dict[dt.date, object] = {}

    def prepaid_on(household_id: int, day: dt.date) -> bool:
        first = day.replace(day=1)
        if first not in predicates:
            predicates[first] = household_is_prepaid(period=first)
        return predicates[first](household_id)  # type: ignore[operator]

    meals = [
        m
        for m in sources.billable_meals(start=start, end=end)
        if m.source == "attendance" and prepaid_on(m.household_id, m.day)
    ]
    invoiced = set(
        InvoiceLine.objects.filter(source="attendance", source_id__in=[m.source_id for m in meals])
        .exclude(invoice__status=Invoice.Status.CANCELLED)
        .values_list("source_id", flat=True)
    )
    meals = [m for m in meals if m.source_id not in invoiced]
    if not meals:
        return 0
    child_payers: dict[int, list] = {}
    households: dict[int, int] = {}
    for child_id, guardian_id, household_id, weeks, share in ChildGuardian.objects.filter(
        billing_payer=True, child_id__in={m.child_id for m in meals}
    ).values_list(
        "child_id",
        "guardian_id",
        "guardian__household_id",
        "custody_weeks",
        "billing_share_percent",
    ):
        child_payers.setdefault(child_id, []).append((guardian_id, weeks, share))
        households[guardian_id] = household_id
    Account.objects.bulk_create(
        [Account(guardian_id=g, household_id=h) for g, h in households.items()],
        ignore_conflicts=True,
    )
    accounts = dict(
        Account.objects.filter(guardian_id__in=households).values_list("guardian_id", "id")
    )
    entries = []
    for meal in meals:
        payers = child_payers.get(meal.child_id)
        if not payers:
            continue
        present = payers_for_day(payers, meal.day)
        parts = split_amount(int(meal.amount_cents), [s for _g, s in present])
        for (guardian_id, _share), cents in zip(present, parts, strict=True):
            if cents <= 0:
                continue
            entries.append(
                LedgerEntry(
                    account_id=accounts[guardian_id],
                    household_id=households[guardian_id],
                    kind=LedgerEntry.Kind.MEAL_CHARGE,
                    amount_cents=-cents,
                    currency=meal.currency,
                    source_key=f"meal:{meal.source}:{meal.source_id}:{guardian_id}",
                    child_id=meal.child_id,
                    day=meal.day,
                    label=(meal.explanation or _("Repas"))[:255],
                )
            )
    with transaction.atomic():
        existing = set(
            LedgerEntry.objects.filter(source_key__in=[e.source_key for e in entries]).values_list(
                "source_key", flat=True
            )
        )
        new = [e for e in entries if e.source_key not in existing]
        LedgerEntry.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    prepaid_check_alerts(account_ids={e.account_id for e in new})
    return len(new)


def prepaid_check_alerts(*, account_ids: Iterable[int]) -> int:
    """Low-balance and below-floor alerts, once per crossing (reset when back above)."""
    conf = PaymentSettings.current()
    balances = balances_for_accounts(account_ids=account_ids)
    sent = 0
    for account in Account.objects.filter(pk__in=list(account_ids)).select_related(
        "guardian__user"
    ):
        balance = balances.get(account.pk, 0)
        low = balance < conf.low_balance_threshold_cents
        below = balance < conf.negative_floor_cents
        if low and not account.low_balance_alerted:
            if Account.objects.filter(pk=account.pk, low_balance_alerted=False).update(
                low_balance_alerted=True
            ):
                notification_send(
                    user=account.guardian.user,
                    subject_key=gettext_noop("Solde de cantine bas : %(balance)s"),
                    body_key=gettext_noop(
                        "Pensez à recharger votre compte. Les repas de vos enfants restent servis."
                    ),
                    params={"balance": format_cents(balance)},
                    category="payments",
                    url="/paiements/",
                )
                sent += 1
        elif not low and account.low_balance_alerted:
            Account.objects.filter(pk=account.pk).update(low_balance_alerted=False)
        if below and not account.below_floor_alerted:
            if Account.objects.filter(pk=account.pk, below_floor_alerted=False).update(
                below_floor_alerted=True
            ):
                notification_send(
                    user=account.guardian.user,
                    subject_key=gettext_noop("Compte de cantine débiteur : %(balance)s"),
                    body_key=gettext_noop(
                        "Votre solde est passé sous le plancher autorisé. Merci de le régulariser ; "
                        "les repas de vos enfants restent servis."
                    ),
                    params={"balance": format_cents(balance)},
                    category="payments",
                    url="/paiements/",
                )
                sent += 1
        elif not below and account.below_floor_alerted:
            Account.objects.filter(pk=account.pk).update(below_floor_alerted=False)
    return sent
