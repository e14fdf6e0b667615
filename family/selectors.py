from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .addresses import parse_address
from .models import (
    Activity,
    ActivityRegistration,
    ApplicationEvent,
    CalendarClosure,
    CatchmentArea,
    Child,
    Document,
    DocumentKind,
    DocumentRequest,
    Guardian,
    Household,
    IncomeAssessment,
    IncomeBracket,
    School,
    SchoolApplication,
    SchoolYear,
)


def school_year_for_date(*, day: dt.date) -> SchoolYear | None:
    return SchoolYear.objects.filter(start_date__lte=day, end_date__gte=day).first()


def closed_days(
    *, school: School | None, start: dt.date, end: dt.date
) -> dict[dt.date, CalendarClosure]:
    """Every day in [start, end] on which ``school`` (or every school) is closed, with why."""
    closures = CalendarClosure.objects.filter(start_date__lte=end, end_date__gte=start)
    closures = (
        closures.filter(Q(school__isnull=True) | Q(school=school))
        if school
        else closures.filter(school__isnull=True)
    )
    days: dict[dt.date, CalendarClosure] = {}
    for closure in closures:
        day = max(closure.start_date, start)
        while day <= min(closure.end_date, end):
            days.setdefault(day, closure)
            day += dt.timedelta(days=1)
    return days


def household_income_assessment(*, household: Household, day: dt.date) -> IncomeAssessment | None:
    """The validated assessment in force on ``day``, if any."""
    return (
        IncomeAssessment.objects.filter(
            household=household,
            status=IncomeAssessment.Status.VALIDATED,
            valid_from__lte=day,
            valid_until__gte=day,
        )
        .order_by("-valid_from")
        .first()
    )


# --- Added by the family module: payers, catchment, applications, activities, work queue. ----


def household_payers(*, household: Household) -> QuerySet[Guardian]:
    """Guardians who pay for at least one of the household's children (``billing_payer``), in
    the order they joined. A household with no payer flag set (or no child yet) answers every
    guardian, so that someone is always billable."""
    payers = Guardian.objects.filter(
        household=household, guardianships__billing_payer=True
    ).distinct()
    if payers.exists():
        return payers.order_by("created_at", "id").select_related("user")
    return (
        Guardian.objects.filter(household=household)
        .order_by("created_at", "id")
        .select_related("user")
    )


def catchment_areas_for_address(*, address_line: str) -> list[CatchmentArea]:
    """The catchment areas covering an address, most specific (narrowest range) first."""
    parsed = parse_address(address_line)
    if not parsed.street_key:
        return []
    areas = CatchmentArea.objects.filter(street_key=parsed.street_key).select_related("school")
    matches = []
    for area in areas:
        if parsed.number is not None:
            if parsed.number < area.number_from or (
                area.number_to is not None and parsed.number > area.number_to
            ):
                continue
            if area.parity == CatchmentArea.Parity.ODD and parsed.number % 2 == 0:
                continue
            if area.parity == CatchmentArea.Parity.EVEN and parsed.number % 2 == 1:
                continue
        elif (
            area.number_from > 1
            or area.number_to is not None
            or area.parity != CatchmentArea.Parity.ALL
        ):
            continue  # no house number: only a whole-street area can answer
        matches.append(area)
    matches.sort(
        key=lambda a: ((a.number_to or 10**9) - a.number_from, a.parity == CatchmentArea.Parity.ALL)
    )
    return matches


def catchment_school_for_address(*, address_line: str) -> School | None:
    areas = [
        a for a in catchment_areas_for_address(address_line=address_line) if a.school.is_active
    ]
    return areas[0].school if areas else None


def address_lookup(*, address_line: str) -> dict:
    parsed = parse_address(address_line)
    areas = catchment_areas_for_address(address_line=address_line)
    return {
        "number": parsed.number,
        "street": parsed.street_key,
        "school": areas[0].school if areas else None,
        "areas": areas,
    }


def application_required_groups(*, application: SchoolApplication) -> list[dict]:
    """Documents an application needs: each group is satisfied by any one of its kinds."""
    groups = [
        {
            "key": "address",
            "kinds": [DocumentKind.PROOF_OF_ADDRESS],
            "label": DocumentKind.PROOF_OF_ADDRESS.label,
        },
        {
            "key": "identity",
            "kinds": [DocumentKind.FAMILY_RECORD_BOOK, DocumentKind.BIRTH_CERTIFICATE],
            "label": _("Livret de famille ou acte de naissance"),
        },
        {
            "key": "vaccinations",
            "kinds": [DocumentKind.VACCINATIONS],
            "label": DocumentKind.VACCINATIONS.label,
        },
    ]
    if application.child.custody != Child.Custody.JOINT:
        groups.append(
            {
                "key": "custody",
                "kinds": [DocumentKind.CUSTODY_JUDGMENT],
                "label": DocumentKind.CUSTODY_JUDGMENT.label,
            }
        )
    return groups


def application_document_status(*, application: SchoolApplication) -> list[dict]:
    """Each required group (and each open staff request) with its documents and a status:
    missing, pending (uploaded, not checked), accepted or rejected."""
    documents = list(
        Document.objects.filter(application=application).order_by("-created_at", "-id")
    )
    open_requests = list(
        DocumentRequest.objects.filter(application=application, fulfilled_at__isnull=True)
    )
    rows = []
    covered = set()
    for group in application_required_groups(application=application):
        docs = [d for d in documents if d.kind in group["kinds"]]
        covered.update(group["kinds"])
        rows.append({**group, "documents": docs, "status": _group_status(docs), "required": True})
    for request in open_requests:
        if request.kind in covered:
            for row in rows:
                if request.kind in row["kinds"]:
                    row["status"] = "requested"
                    row["request"] = request
            continue
        covered.add(request.kind)
        docs = [d for d in documents if d.kind == request.kind]
        rows.append(
            {
                "key": request.kind,
                "kinds": [request.kind],
                "label": DocumentKind(request.kind).label,
                "documents": docs,
                "status": "requested",
                "request": request,
                "required": False,
            }
        )
    return rows


def _group_status(docs: list[Document]) -> str:
    statuses = {d.status for d in docs}
    if Document.Status.ACCEPTED in statuses:
        return "accepted"
    if Document.Status.PENDING in statuses:
        return "pending"
    if Document.Status.REJECTED in statuses:
        return "rejected"
    return "missing"


def application_missing_documents(
    *, application: SchoolApplication, for_acceptance: bool
) -> list[dict]:
    """Groups not yet satisfied. For acceptance a document must be accepted by staff; otherwise an
    uploaded, unchecked document counts."""
    ok = {"accepted"} if for_acceptance else {"accepted", "pending"}
    return [
        row
        for row in application_document_status(application=application)
        if row["status"] not in ok
    ]


def applications_with_missing_documents(
    qs: QuerySet[SchoolApplication],
) -> QuerySet[SchoolApplication]:
    """Filter a queryset to applications missing a required document (none uploaded that is not
    rejected) or with a staff document request still open."""

    def has(kinds):
        return Exists(
            Document.objects.filter(application=OuterRef("pk"), kind__in=kinds).exclude(
                status=Document.Status.REJECTED
            )
        )

    open_request = Exists(
        DocumentRequest.objects.filter(application=OuterRef("pk"), fulfilled_at__isnull=True)
    )
    qs = qs.annotate(
        _has_address=has([DocumentKind.PROOF_OF_ADDRESS]),
        _has_identity=has([DocumentKind.FAMILY_RECORD_BOOK, DocumentKind.BIRTH_CERTIFICATE]),
        _has_vaccinations=has([DocumentKind.VACCINATIONS]),
        _has_custody=has([DocumentKind.CUSTODY_JUDGMENT]),
        _open_request=open_request,
    )
    return qs.filter(
        Q(_open_request=True)
        | Q(_has_address=False)
        | Q(_has_identity=False)
        | Q(_has_vaccinations=False)
        | (~Q(child__custody=Child.Custody.JOINT) & Q(_has_custody=False))
    )


def work_queue(
    *,
    applications: QuerySet[SchoolApplication],
    states: list[str] | None = None,
    school_id: int | None = None,
    missing_documents: bool | None = None,
    older_than_days: int | None = None,
    search: str = "",
) -> QuerySet[SchoolApplication]:
    """Staff's queue: drafts are never shown; oldest submitted first."""
    qs = applications.exclude(state=SchoolApplication.State.DRAFT)
    if states:
        qs = qs.filter(state__in=states)
    if school_id:
        qs = qs.filter(school_id=school_id)
    if missing_documents:
        qs = applications_with_missing_documents(qs)
    if older_than_days:
        qs = qs.filter(submitted_at__lte=timezone.now() - dt.timedelta(days=older_than_days))
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(tracking_code__iexact=term.replace("-", ""))
            | Q(child__last_name__icontains=term)
            | Q(child__first_name__icontains=term)
        )
    return qs.select_related(
        "child", "school", "school_year", "household", "catchment_school"
    ).order_by(F("submitted_at").asc(nulls_last=True), "id")


def application_timeline(*, application: SchoolApplication) -> QuerySet[ApplicationEvent]:
    return application.events.select_related("actor").order_by("created_at", "id")


def sibling_applications(*, application: SchoolApplication) -> QuerySet[SchoolApplication]:
    if not application.sibling_group:
        return SchoolApplication.objects.none()
    return (
        SchoolApplication.objects.filter(sibling_group=application.sibling_group)
        .exclude(pk=application.pk)
        .select_related("child", "school")
    )


def activity_seats(*, activity: Activity) -> dict[str, int]:
    counts = dict(
        activity.registrations.exclude(state=ActivityRegistration.State.CANCELLED)
        .values_list("state")
        .annotate(n=Count("id"))
    )
    confirmed = counts.get(ActivityRegistration.State.CONFIRMED, 0)
    return {
        "capacity": activity.capacity,
        "confirmed": confirmed,
        "waiting": counts.get(ActivityRegistration.State.WAITING, 0),
        "free": max(activity.capacity - confirmed, 0),
    }


def activities_with_seats(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    return qs.annotate(
        confirmed_count=Count(
            "registrations", filter=Q(registrations__state=ActivityRegistration.State.CONFIRMED)
        ),
        waiting_count=Count(
            "registrations", filter=Q(registrations__state=ActivityRegistration.State.WAITING)
        ),
    ).select_related("school")


def waiting_position(*, registration: ActivityRegistration) -> int | None:
    if registration.state != ActivityRegistration.State.WAITING:
        return None
    return (
        ActivityRegistration.objects.filter(
            activity_id=registration.activity_id, state=ActivityRegistration.State.WAITING
        )
        .filter(
            Q(created_at__lt=registration.created_at)
            | Q(created_at=registration.created_at, id__lt=registration.id)
        )
        .count()
        + 1
    )


def bracket_for_quotient(*, quotient: int) -> IncomeBracket | None:
    return (
        IncomeBracket.objects.filter(min_quotient__lte=quotient)
        .filter(Q(max_quotient__isnull=True) | Q(max_quotient__gte=quotient))
        .order_by("-min_quotient")
        .first()
    )


# --- home pages ---------------------------------------------------------------------------------
ACTION_STATES = ("draft", "incomplete")
WAITING_STATES = ("submitted", "under_review")


def applications_needing_action(*, applications: QuerySet[SchoolApplication]) -> list[dict]:
    """A family's applications that wait for the family (draft or incomplete) with what is
    missing, for the parent's home page."""
    rows = []
    for application in applications.filter(state__in=ACTION_STATES).select_related(
        "child", "school", "school_year"
    ):
        missing = application_missing_documents(application=application, for_acceptance=False)
        rows.append({"application": application, "missing": missing})
    return rows


def staff_work_summary(*, applications: QuerySet[SchoolApplication], documents) -> dict:
    """What waits for staff: applications to review and documents to check."""
    waiting = applications.filter(state__in=WAITING_STATES)
    return {
        "waiting": waiting.count(),
        "oldest": waiting.order_by(F("submitted_at").asc(nulls_last=True))
        .select_related("child", "school")
        .first(),
        "incomplete": applications.filter(state="incomplete").count(),
        "documents": documents.filter(status=Document.Status.PENDING).count(),
    }


def registrations_by_state_and_school():
    """City dashboard (pandas): one row per school, one column per application state."""
    import pandas as pd

    rows = list(
        SchoolApplication.objects.exclude(state="draft")
        .values_list("school__name", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    frame = pd.DataFrame(rows, columns=["school", "state", "n"])
    labels = dict(SchoolApplication.State.choices)
    if frame.empty:
        return pd.DataFrame(columns=["school"])
    pivot = frame.pivot_table(
        index="school", columns="state", values="n", aggfunc="sum", fill_value=0
    )
    states = [s for s in labels if s in pivot.columns]
    pivot = pivot[states].rename(columns={s: str(labels[s]) for s in states})
    pivot["total"] = pivot.sum(axis=1)
    return pivot.sort_values("total", ascending=False).reset_index()
