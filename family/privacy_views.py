"""RGPD pages of a family: its data export and who among staff read its children's records."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from backend.core.access import role_required
from backend.core.selectors import record_reads
from backend.core.views import READ_LABELS

from . import permissions as perms
from .models import Child, Document
from .services import household_export_zip


def _zip_response(data: bytes, household) -> HttpResponse:
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="minot-foyer-{household.pk}-{stamp}.zip"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@role_required("parent")
def data_export(request):
    """A guardian downloads everything Minot holds about their household (zip)."""
    household = perms.household_for_user(request.user)
    return _zip_response(household_export_zip(actor=request.user, household=household), household)


@never_cache
@role_required("staff", "admin")
def data_export_for_family(request, household_id: int):
    """Staff at the counter produce the export for a family they serve (audited as such)."""
    household = perms.household_for_staff(request.user, household_id)
    return _zip_response(household_export_zip(actor=request.user, household=household), household)


@role_required("parent")
def privacy_access(request):
    """A guardian sees which staff opened their children's records and documents."""
    household = perms.household_for_user(request.user)
    page = Paginator(record_reads(household_id=household.pk), 50).get_page(request.GET.get("page"))
    subjects = _read_subjects(household, page)
    for event in page:
        event.label = READ_LABELS.get(event.action, event.action)  # type: ignore[attr-defined]  # for the template
        event.subject = subjects.get((event.target_type, event.target_id), "")  # type: ignore[attr-defined]
    return render(
        request,
        "core/privacy_access.html",
        {"title": _("Consultations du dossier de mes enfants"), "page": page},
    )


def _read_subjects(household, events) -> dict[tuple[str, str], str]:
    """Which child or document each reading was about, named for the family (only this
    household's own children and documents are looked up)."""
    ids: dict[str, set[int]] = {"family.child": set(), "family.document": set()}
    for event in events:
        if event.target_type in ids and str(event.target_id).isdigit():
            ids[event.target_type].add(int(event.target_id))
    subjects: dict[tuple[str, str], str] = {}
    for child in Child.objects.filter(household=household, pk__in=ids["family.child"]):
        subjects[("family.child", str(child.pk))] = child.first_name
    documents = Document.objects.filter(household=household, pk__in=ids["family.document"])
    for document in documents.select_related("child"):
        name = str(document.get_kind_display())
        if document.child is not None:
            name = f"{name} ({document.child.first_name})"
        subjects[("family.document", str(document.pk))] = name
    return subjects
