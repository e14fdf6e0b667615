"""The family's share of the retention schedule (backend/core/retention.py, docs/security.md)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from backend.core.retention import retention_cutoff

from .models import CarePlan, Child, Document, SchoolApplication

FINAL = [
    SchoolApplication.State.ACCEPTED,
    SchoolApplication.State.REFUSED,
    SchoolApplication.State.WITHDRAWN,
]


def apply(*, dry_run: bool, now: dt.datetime) -> dict[str, int]:
    """Documents and closed applications past their date are deleted (files too); the health
    data of children who left (no school) are erased."""
    documents = Document.objects.filter(created_at__lt=retention_cutoff("documents", now)).filter(
        Q(application__isnull=True) | Q(application__state__in=FINAL)
    )
    applications = SchoolApplication.objects.filter(
        state__in=FINAL, updated_at__lt=retention_cutoff("applications", now)
    )
    health_cutoff = retention_cutoff("health_records", now)
    left = (
        Child.objects.filter(school__isnull=True, updated_at__lt=health_cutoff)
        .exclude(allergies=[], diet=Child.Diet.STANDARD, care_plans__isnull=True)
        .distinct()
    )
    old_care_plans = CarePlan.objects.filter(valid_until__lt=health_cutoff.date())
    counts = {
        "documents": documents.count(),
        "applications": applications.count(),
        "health_records": left.count() + old_care_plans.count(),
    }
    if dry_run:
        return counts
    for document in documents.iterator():
        document.file.delete(save=False)
    documents.delete()
    for document in Document.objects.filter(application__in=applications):
        document.file.delete(save=False)
    applications.delete()
    old_care_plans.delete()
    for child in left:
        child.care_plans.all().delete()
        child.allergies = []
        child.diet = Child.Diet.STANDARD
        child.save(update_fields=["allergies", "diet", "updated_at"])
    return counts
