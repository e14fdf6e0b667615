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
from django.utils import timezone
from django.utils.module_loading import import_string
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


def retention_cutoff(data_class: str, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.MINOT_RETENTION_DAYS[data_class])


def audit_log_apply(*, dry_run: bool, now: dt.datetime) -> dict[str, int]:
    from .models import AuditEvent

    rows = AuditEvent.objects.filter(created_at__lt=retention_cutoff("audit_log", now))
    count = rows.count()
    if not dry_run:
        rows.delete()
    return {"audit_log": count}


def retention_apply(*, dry_run: bool = False, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete or anonymise what is past its retention date; returns counts per data class.

    Each app applies the classes it owns (``MINOT_RETENTION_APPLIERS`` in settings: the family,
    fleet and core appliers), all in one transaction."""
    now = now or timezone.now()
    counts = {key: 0 for key in DATA_CLASSES}
    with transaction.atomic():
        for path in settings.MINOT_RETENTION_APPLIERS:
            for key, value in import_string(path)(dry_run=dry_run, now=now).items():
                counts[key] += value
        if not dry_run:
            audit_record(
                action="core.retention.apply",
                actor_kind=ActorKind.SYSTEM,
                actor_label="retention",
                data=counts,
            )
    return counts
