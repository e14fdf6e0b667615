"""A sick child, reported by the family (or staff at the counter) even after the cancellation
deadline. The city's rule: the first ``MINOT_ILLNESS_BILLED_DAYS`` days of an illness are
billed as booked; from the next day on, the absence is justified and not billed. A medical
certificate is optional."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

from ..models import Child, IllnessReport
from .common import audit
from .documents import document_upload

MAX_DAYS = 60


def illness_billed_days() -> int:
    return int(getattr(settings, "MINOT_ILLNESS_BILLED_DAYS", 1))


def illness_report(
    *, actor, child: Child, first_day: dt.date, last_day: dt.date, certificate=None
) -> IllnessReport:
    today = timezone.localdate()
    if last_day < first_day:
        raise ApplicationError(_("Le dernier jour précède le premier."))
    if (last_day - first_day).days >= MAX_DAYS:
        raise ApplicationError(
            _("Une absence se déclare pour %(n)s jours au plus.") % {"n": MAX_DAYS}
        )
    if first_day < today - dt.timedelta(days=30):
        raise ApplicationError(_("L'absence se déclare dans les 30 jours."))
    if IllnessReport.objects.filter(
        child=child, first_day__lte=last_day, last_day__gte=first_day
    ).exists():
        raise ApplicationError(_("Une absence pour maladie couvre déjà ces jours."))
    with transaction.atomic():
        document = None
        if certificate is not None:
            document = document_upload(
                actor=actor,
                household=child.household,
                kind="medical_certificate",
                uploaded_file=certificate,
                child=child,
            )
        report = IllnessReport.objects.create(
            child=child,
            first_day=first_day,
            last_day=last_day,
            document=document,
            reported_by=actor,
        )
        audit(
            action="family.illness.report",
            actor=actor,
            target=report,
            household_id=child.household_id,
            data={
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                "certificate": document is not None,
            },
        )
    return report
