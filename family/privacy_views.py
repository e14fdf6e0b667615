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
    for event in page:
        event.label = READ_LABELS.get(event.action, event.action)
    return render(
        request,
        "core/privacy_access.html",
        {"title": _("Consultations du dossier de mes enfants"), "page": page},
    )
