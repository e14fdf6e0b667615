from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.allergens import Allergen

from .addresses import parse_address
from .models import (
    DEROGATION_DOCUMENTS,
    Activity,
    ActivityAttendance,
    ActivityRegistration,
    ApplicationEvent,
    CalendarClosure,
    CatchmentArea,
    ChangeRequest,
    Child,
    DerogationReview,
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

if TYPE_CHECKING:
    import pandas as pd
    from django.db.models import Case

    from backend.accounts.models import User

    from .models import ReenrolmentCampaign


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
    derogation_kinds = DEROGATION_DOCUMENTS.get(application.derogation_reason)
    if derogation_kinds:
        groups.append(
            {
                "key": "derogation",
                "kinds": derogation_kinds,
                "label": DocumentKind(derogation_kinds[0]).label,
            }
        )
    return groups


# Household documents that serve every application of the family while they are valid (a
# sibling's application reuses them): the family record book always, a proof of address for
# three months after its date. Only documents staff accepted are reused.
REUSABLE_DOCUMENTS = {DocumentKind.FAMILY_RECORD_BOOK: None, DocumentKind.PROOF_OF_ADDRESS: 3}


def reusable_household_documents(
    *, household_id: int, exclude_application_id: int | None = None, today: dt.date | None = None
) -> list[Document]:
    """Accepted household documents still valid, from other applications or the household."""
    from dateutil.relativedelta import relativedelta

    today = today or timezone.localdate()
    address_since = today - relativedelta(months=REUSABLE_DOCUMENTS[DocumentKind.PROOF_OF_ADDRESS])
    qs = Document.objects.filter(household_id=household_id, status=Document.Status.ACCEPTED).filter(
        Q(kind=DocumentKind.FAMILY_RECORD_BOOK)
        | Q(kind=DocumentKind.PROOF_OF_ADDRESS, issued_on__gte=address_since)
    )
    if exclude_application_id is not None:
        qs = qs.exclude(application_id=exclude_application_id)
    return list(qs.order_by("-created_at", "-id"))


def application_document_status(*, application: SchoolApplication) -> list[dict]:
    """Each required group (and each open staff request) with its documents and a status:
    missing, pending (uploaded, not checked), accepted or rejected. A valid household document
    accepted on a sibling's application counts too (``reused``)."""
    documents = list(
        Document.objects.filter(application=application).order_by("-created_at", "-id")
    )
    own_kinds = {d.kind for d in documents if d.status != Document.Status.REJECTED}
    for document in reusable_household_documents(
        household_id=application.household_id, exclude_application_id=application.pk
    ):
        if document.kind not in own_kinds:
            document.reused = True  # type: ignore[attr-defined]  # shown on the page
            documents.append(document)
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


def _derogation_document_missing() -> Case:
    """True when the application's derogation reason needs a document none was uploaded for."""
    from django.db.models import BooleanField, Case, Value, When

    whens = [
        When(
            Q(derogation_reason=reason)
            & ~Exists(
                Document.objects.filter(application=OuterRef("pk"), kind__in=kinds).exclude(
                    status=Document.Status.REJECTED
                )
            ),
            then=Value(True),
        )
        for reason, kinds in DEROGATION_DOCUMENTS.items()
    ]
    return Case(*whens, default=Value(False), output_field=BooleanField())


def applications_with_missing_documents(
    qs: QuerySet[SchoolApplication],
) -> QuerySet[SchoolApplication]:
    """Filter a queryset to applications missing a required document (none uploaded that is not
    rejected) or with a staff document request still open."""

    from dateutil.relativedelta import relativedelta

    address_since = timezone.localdate() - relativedelta(months=3)

    def has(kinds: Iterable[str]) -> Exists | Q:
        own = Exists(
            Document.objects.filter(application=OuterRef("pk"), kind__in=kinds).exclude(
                status=Document.Status.REJECTED
            )
        )
        reusable = [k for k in kinds if k in REUSABLE_DOCUMENTS]
        if not reusable:
            return own
        shared = Exists(
            Document.objects.filter(
                household_id=OuterRef("household_id"),
                kind__in=reusable,
                status=Document.Status.ACCEPTED,
            ).filter(
                Q(kind=DocumentKind.FAMILY_RECORD_BOOK)
                | Q(kind=DocumentKind.PROOF_OF_ADDRESS, issued_on__gte=address_since)
            )
        )
        return own | shared

    open_request = Exists(
        DocumentRequest.objects.filter(application=OuterRef("pk"), fulfilled_at__isnull=True)
    )
    qs = qs.annotate(
        _has_address=has([DocumentKind.PROOF_OF_ADDRESS]),
        _has_identity=has([DocumentKind.FAMILY_RECORD_BOOK, DocumentKind.BIRTH_CERTIFICATE]),
        _has_vaccinations=has([DocumentKind.VACCINATIONS]),
        _has_custody=has([DocumentKind.CUSTODY_JUDGMENT]),
        _open_request=open_request,
        _derogation_missing=_derogation_document_missing(),
    )
    return qs.filter(
        Q(_open_request=True)
        | Q(_has_address=False)
        | Q(_has_identity=False)
        | Q(_has_vaccinations=False)
        | (~Q(child__custody=Child.Custody.JOINT) & Q(_has_custody=False))
        | Q(_derogation_missing=True)
    )


def work_queue(
    *,
    applications: QuerySet[SchoolApplication],
    states: list[str] | None = None,
    school_id: int | None = None,
    missing_documents: bool | None = None,
    older_than_days: int | None = None,
    search: str = "",
    derogation: str = "",
) -> QuerySet[SchoolApplication]:
    """Staff's queue: drafts are never shown; oldest submitted first. ``derogation``: "" (all),
    "any", "opinion" (awaiting the catchment school), "decision" (opinion given, awaiting the
    decision), "decided"."""
    qs = applications.exclude(state=SchoolApplication.State.DRAFT)
    if derogation:
        qs = qs.exclude(derogation_reason="")
        opinion, decision = DerogationReview.Opinion, DerogationReview.Decision
        if derogation == "opinion":
            qs = qs.filter(
                Q(derogation_review__isnull=True) | Q(derogation_review__opinion=opinion.PENDING)
            )
        elif derogation == "decision":
            qs = qs.exclude(derogation_review__opinion=opinion.PENDING).filter(
                derogation_review__isnull=False, derogation_review__decision=decision.PENDING
            )
        elif derogation == "decided":
            qs = qs.exclude(derogation_review__decision=decision.PENDING).filter(
                derogation_review__isnull=False
            )
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
    # Children by a second query on the page's ids: joined, PostgreSQL scanned every child of
    # the city to sort a school's queue (the sort cannot run before the join).
    return (
        qs.select_related("school", "school_year", "catchment_school")
        .prefetch_related("child")
        .order_by(F("submitted_at").asc(nulls_last=True), "id")
    )


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


def _registrations_count(state: str) -> Coalesce:
    """Registrations of the outer activity in ``state``, as a correlated subquery: the count
    stays right whatever joins the outer queryset carries (a parent's activities are reached
    through their children, which would multiply a JOIN-based count by the siblings)."""
    return Coalesce(
        Subquery(
            ActivityRegistration.objects.filter(activity_id=OuterRef("pk"), state=state)
            .order_by()
            .values("activity_id")
            .annotate(n=Count("id"))
            .values("n")[:1]
        ),
        0,
    )


def activities_with_seats(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    """The one place seat counts come from, for pages and the API."""
    return qs.annotate(
        confirmed_count=_registrations_count(ActivityRegistration.State.CONFIRMED),
        waiting_count=_registrations_count(ActivityRegistration.State.WAITING),
    ).select_related("school")


def activity_offers(*, user: User, activities: Iterable[Activity]) -> dict[int, list[Child]]:
    """For a parent: per activity, the children they may still register (same school, not
    already registered or waiting). Two queries whatever the number of activities."""
    children = list(
        Child.objects.filter(household__guardians__user=user)
        .exclude(school__isnull=True)
        .order_by("birth_date", "id")
        .distinct()
    )
    ids = [a.pk for a in activities]
    taken = set(
        ActivityRegistration.objects.filter(
            activity_id__in=ids,
            child__in=children,
            state__in=[ActivityRegistration.State.CONFIRMED, ActivityRegistration.State.WAITING],
        ).values_list("activity_id", "child_id")
    )
    return {
        a.pk: [c for c in children if c.school_id == a.school_id and (a.pk, c.pk) not in taken]
        for a in activities
    }


def activity_runs_on(activity: Activity, day: dt.date) -> bool:
    return activity.start_date <= day <= activity.end_date and (
        not activity.weekdays or day.weekday() in activity.weekdays
    )


def activity_roll_sheet(*, activity: Activity, day: dt.date) -> tuple[bool, list[dict]]:
    """The roll of an activity on a day: every confirmed child, plus children already marked.
    Answers (roll already taken, rows)."""
    records = {r.child_id: r for r in ActivityAttendance.objects.filter(activity=activity, day=day)}
    confirmed = {
        r.child_id
        for r in ActivityRegistration.objects.filter(
            activity=activity, state=ActivityRegistration.State.CONFIRMED
        )
    }
    children = Child.objects.filter(pk__in=confirmed | set(records)).order_by(
        "class_name", "last_name", "first_name"
    )
    rows = [
        {
            "child": child,
            "registered": child.pk in confirmed,
            "status": records[child.pk].status if child.pk in records else None,
        }
        for child in children
    ]
    return bool(records), rows


@dataclass(frozen=True)
class BillableActivityDay:
    child_id: int
    household_id: int
    activity_id: int
    day: dt.date
    status: str
    attendance_id: int


def billable_activity_attendance(
    *, start: dt.date, end: dt.date, child_ids: Iterable[int] | None = None
) -> list[BillableActivityDay]:
    """Activity days families owe (contract with payments): present and absent-unjustified are
    billed, a justified absence is not. One query."""
    qs = ActivityAttendance.objects.filter(
        day__gte=start,
        day__lte=end,
        status__in=[
            ActivityAttendance.Status.PRESENT,
            ActivityAttendance.Status.ABSENT_UNJUSTIFIED,
        ],
    )
    if child_ids is not None:
        qs = qs.filter(child_id__in=child_ids)
    return [
        BillableActivityDay(child_id, household_id, activity_id, day, status, pk)
        for pk, child_id, household_id, activity_id, day, status in qs.order_by(
            "child__household_id", "child_id", "day", "activity_id"
        ).values_list("id", "child_id", "child__household_id", "activity_id", "day", "status")
    ]


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


# --- health declared by the family, awaiting validation ----------------------------------------
PENDING_HEALTH_NOTE = _("déclaré par la famille, en attente de validation")


@dataclass
class PendingHealth:
    """What a family declared about a child's health and staff have not validated yet.

    Safety rule: a declaration counts at once. ``allergies`` are the codes declared and not yet
    validated (added to the validated ones, never removing them: a removal waits for staff);
    ``care_plans`` the declared PAIs (dicts with ISO dates); ``diet`` the last declared diet."""

    allergies: list[str] = field(default_factory=list)
    diet: str | None = None
    care_plans: list[dict] = field(default_factory=list)
    request_ids: list[int] = field(default_factory=list)

    def care_plan_on(self, day: dt.date) -> dict | None:
        iso = day.isoformat()
        for plan in self.care_plans:
            if plan["valid_from"] <= iso <= plan["valid_until"]:
                return plan
        return None

    def allergies_with(self, validated: Iterable[str] | None) -> list[str]:
        """Validated allergies plus the declared ones, in the regulation's order."""
        codes = set(validated or ()) | set(self.allergies)
        return [code for code in Allergen.values if code in codes]

    def describe(self, *, day: dt.date | None = None, validated: Iterable[str] | None = ()) -> str:
        """One sentence for the kitchen, the roll and the parent's calendar (allergies already
        validated are not repeated)."""
        parts = []
        declared = [a for a in self.allergies if a not in (validated or ())]
        if declared:
            parts.append(
                _("Allergies : %(list)s")
                % {"list": ", ".join(str(Allergen(a).label) for a in declared)}
            )
        plan = self.care_plan_on(day) if day else (self.care_plans[0] if self.care_plans else None)
        if plan is not None:
            parts.append(
                _("PAI%(packed)s%(instructions)s")
                % {
                    "packed": _(" avec panier-repas") if plan.get("packed_lunch") else "",
                    "instructions": f" ({plan['instructions']})"
                    if plan.get("instructions")
                    else "",
                }
            )
        if self.diet:
            parts.append(_("Régime : %(diet)s") % {"diet": str(Child.Diet(self.diet).label)})
        if not parts:
            return ""
        return f"{' ; '.join(str(p) for p in parts)} — {PENDING_HEALTH_NOTE!s}"


def pending_health_requests(
    *, child_ids: Iterable[int] | None = None, school_ids: Iterable[int] | None = None
) -> QuerySet[ChangeRequest]:
    qs = ChangeRequest.objects.filter(
        category=ChangeRequest.Category.HEALTH, state=ChangeRequest.State.PENDING
    )
    if child_ids is not None:
        qs = qs.filter(child_id__in=child_ids)
    if school_ids is not None:
        qs = qs.filter(child__school_id__in=school_ids)
    return qs


def pending_health(
    *, child_ids: Iterable[int] | None = None, school_ids: Iterable[int] | None = None
) -> dict[int, PendingHealth]:
    """Every child's pending health declarations, in one query (oldest request first)."""
    out: dict[int, PendingHealth] = {}
    rows = (
        pending_health_requests(child_ids=child_ids, school_ids=school_ids)
        .order_by("created_at", "id")
        .values_list("id", "child_id", "changes")
    )
    for request_id, child_id, changes in rows:
        pending = out.setdefault(child_id, PendingHealth())
        pending.request_ids.append(request_id)
        for code in changes.get("allergies") or []:
            if code in Allergen.values and code not in pending.allergies:
                pending.allergies.append(code)
        if changes.get("diet"):
            pending.diet = changes["diet"]
        if changes.get("care_plan"):
            pending.care_plans.append(changes["care_plan"])
    return out


# --- school year lifecycle ------------------------------------------------------------------
def reenrolment_missing(
    *, campaign: ReenrolmentCampaign, school_ids: Iterable[int] | None = None
) -> QuerySet[Household]:
    """Households with a child at school that have not answered the campaign yet."""
    from .models import ReenrolmentAnswer

    children = Child.objects.filter(school__isnull=False)
    if school_ids is not None:
        children = children.filter(school_id__in=school_ids)
    return (
        Household.objects.filter(pk__in=children.values("household_id"))
        .exclude(pk__in=ReenrolmentAnswer.objects.filter(campaign=campaign).values("household_id"))
        .order_by("name", "id")
    )


def open_reenrolment_campaign(*, day: dt.date | None = None) -> ReenrolmentCampaign | None:
    from .models import ReenrolmentCampaign

    day = day or timezone.localdate()
    return (
        ReenrolmentCampaign.objects.filter(opens_on__lte=day, closes_on__gte=day)
        .select_related("school_year")
        .first()
    )


def illness_unbilled_days(
    *, start: dt.date, end: dt.date, child_ids: Iterable[int] | None = None
) -> set[tuple[int, dt.date]]:
    """(child, day) pairs of a reported illness that are not billed: every day after the first
    MINOT_ILLNESS_BILLED_DAYS days of the illness. One query."""
    from .models import IllnessReport
    from .services.illness import illness_billed_days

    billed = illness_billed_days()
    qs = IllnessReport.objects.filter(first_day__lte=end, last_day__gte=start)
    if child_ids is not None:
        qs = qs.filter(child_id__in=child_ids)
    out: set[tuple[int, dt.date]] = set()
    for child_id, first_day, last_day in qs.values_list("child_id", "first_day", "last_day"):
        day = max(first_day + dt.timedelta(days=billed), start)
        while day <= min(last_day, end):
            out.add((child_id, day))
            day += dt.timedelta(days=1)
    return out


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


def staff_work_summary(
    *, applications: QuerySet[SchoolApplication], documents: QuerySet[Document]
) -> dict[str, Any]:
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


def registrations_by_state_and_school() -> pd.DataFrame:
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
