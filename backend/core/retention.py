"""How long Minot keeps each class of personal data, and the job that applies it (RGPD art. 5).

The schedule lives in settings (``MINOT_RETENTION_DAYS``, one entry per data class) and in
docs/security.md. :func:`retention_apply` deletes or anonymises what is past its date; the
nightly Celery task and ``manage.py retention`` call it (``--dry-run`` only counts).
Accounting records are never touched: the law keeps them (10 years, Code de commerce L123-22).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ActorKind
from .services import audit_record

DATA_CLASSES = {
    "documents": _(
        "Justificatifs envoyés (domicile, quotient, PAI…), une fois la demande close ou sans demande"
    ),
    "applications": _("Demandes d'inscription closes (acceptées, refusées, retirées)"),
    "health_records": _(
        "Données de santé (allergies, régime, PAI) des enfants qui ont quitté les écoles"
    ),
    "audit_log": _("Journal d'audit (actions et consultations des dossiers)"),
    "device_history": _("Historique des appareils (inventaires, batterie, états)"),
    "accounting": _("Factures, paiements et écritures comptables (obligation légale)"),
}


@dataclass(frozen=True)
class RetentionRule:
    data_class: str
    label: str
    days: int
    action: str  # "delete", "anonymise" or "keep"


def retention_schedule() -> list[RetentionRule]:
    days = settings.MINOT_RETENTION_DAYS
    actions = {"health_records": "anonymise", "accounting": "keep"}
    return [
        RetentionRule(key, str(label), days[key], actions.get(key, "delete"))
        for key, label in DATA_CLASSES.items()
    ]


def _cutoff(data_class: str, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.MINOT_RETENTION_DAYS[data_class])


def retention_apply(*, dry_run: bool = False, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete or anonymise what is past its retention date; returns counts per data class."""
    from family.models import CarePlan, Child, Document, SchoolApplication
    from fleet.models import BatterySample, InventoryReport, StatusLog

    from .models import AuditEvent

    now = now or timezone.now()
    final = [
        SchoolApplication.State.ACCEPTED,
        SchoolApplication.State.REFUSED,
        SchoolApplication.State.WITHDRAWN,
    ]
    documents = Document.objects.filter(created_at__lt=_cutoff("documents", now)).filter(
        Q(application__isnull=True) | Q(application__state__in=final)
    )
    applications = SchoolApplication.objects.filter(
        state__in=final, updated_at__lt=_cutoff("applications", now)
    )
    left = Child.objects.filter(
        school__isnull=True, updated_at__lt=_cutoff("health_records", now)
    ).exclude(allergies=[], diet=Child.Diet.STANDARD, care_plans__isnull=True)
    old_care_plans = CarePlan.objects.filter(valid_until__lt=_cutoff("health_records", now).date())
    audit_rows = AuditEvent.objects.filter(created_at__lt=_cutoff("audit_log", now))
    device_cutoff = _cutoff("device_history", now)
    device_rows = [
        InventoryReport.objects.filter(collected_at__lt=device_cutoff),
        BatterySample.objects.filter(measured_at__lt=device_cutoff),
        StatusLog.objects.filter(logged_at__lt=device_cutoff),
    ]
    counts = {
        "documents": documents.count(),
        "applications": applications.count(),
        "health_records": left.distinct().count() + old_care_plans.count(),
        "audit_log": audit_rows.count(),
        "device_history": sum(qs.count() for qs in device_rows),
        "accounting": 0,
    }
    if dry_run:
        return counts
    with transaction.atomic():
        for document in documents.iterator():
            document.file.delete(save=False)
        documents.delete()
        for application in applications.prefetch_related("documents"):
            for document in application.documents.all():
                document.file.delete(save=False)
        applications.delete()
        old_care_plans.delete()
        for child in left.distinct():
            child.care_plans.all().delete()
            child.allergies = []
            child.diet = Child.Diet.STANDARD
            child.save(update_fields=["allergies", "diet", "updated_at"])
        audit_rows.delete()
        for qs in device_rows:
            qs.delete()
        audit_record(
            action="core.retention.apply",
            actor_kind=ActorKind.SYSTEM,
            actor_label="retention",
            data=counts,
        )
    return counts
