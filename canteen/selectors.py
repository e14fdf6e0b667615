"""Reads for pages, the API and other modules (payments calls ``meal_price`` and ``billable_meals``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from family.models import CarePlan, Child, School
from family.selectors import (
    PendingHealth,
    illness_unbilled_days,
    pending_health,
    pending_health_requests,
)

from . import shared
from .deadlines import Rules, SchoolCalendar, deadline_for, deadline_rules, format_deadline
from .models import (
    CANTEEN_CODE,
    AttendanceRecord,
    AttendanceRoll,
    Booking,
    Dish,
    Menu,
    Service,
    Tariff,
    Variant,
)
from .pricing import (
    MEAL,
    PACKED_LUNCH,
    UNBOOKED_MEAL,
    AssessmentBook,
    NoPrice,
    PriceQuote,
    TariffBook,
    household_sibling_rows,
    sibling_ranks,
)
from .safety import (
    KNOWN_ALLERGENS,
    SafetyCheck,
    active_care_plan,
    active_packed_lunch,
    allergen_label,
    check_menu,
    child_variant,
    kitchen_action,
)

if TYPE_CHECKING:
    pass

__all__ = [
    "BillableMeal",
    "BillableUnit",
    "PriceQuote",
    "billable_meals",
    "billable_units",
    "child_month_calendar",
    "kitchen_daily_list",
    "meal_price",
    "menus_for_school",
]


# --- pricing -------------------------------------------------------------------------------------
def meal_price(*, child: Child, day: dt.date, unbooked: bool = False) -> PriceQuote:
    """The price of one meal for ``child`` on ``day`` with its explanation.

    No validated income assessment on ``day``: the full price, and the explanation says so.
    A child on a PAI packed lunch pays the packed-lunch price.
    """
    tariffs = TariffBook.load(start=day, end=day)
    assessments = AssessmentBook.load(household_ids=[child.household_id], start=day, end=day)
    ranks = sibling_ranks(household_sibling_rows([child.household_id]))
    plans = list(CarePlan.objects.filter(child=child))
    variant = child_variant(diet=child.diet, packed_lunch_pai=active_packed_lunch(plans, day))
    kind = (
        PACKED_LUNCH if variant == Variant.PACKED_LUNCH else (UNBOOKED_MEAL if unbooked else MEAL)
    )
    return tariffs.quote(
        day=day,
        bracket=assessments.bracket(child.household_id, day),
        rank=ranks.get(child.id, 1),
        resident=child.household.is_resident,
        kind=kind,
    )


@dataclass(frozen=True)
class BillableUnit:
    """One line the monthly run bills: a unit of a service on a day, priced and explained."""

    child_id: int
    household_id: int
    day: dt.date
    kind: str  # meal | packed_lunch | unbooked_meal (canteen) | activity (other services)
    amount_cents: int
    currency: str
    explanation: str
    source: str  # attendance | booking | flat_attendance | flat_booking
    source_id: int
    service_code: str = CANTEEN_CODE
    service_kind: str = Service.Kind.CANTEEN
    unit_code: str = ""


BillableMeal = BillableUnit  # the canteen's name in the payments contract


def billable_meals(
    *, start: dt.date, end: dt.date, child_ids: list[int] | None = None
) -> list[BillableUnit]:
    """What families owe for canteen meals in [start, end] (see :func:`billable_units`)."""
    return _billable(start=start, end=end, child_ids=child_ids, canteen_only=True)


def billable_units(
    *, start: dt.date, end: dt.date, child_ids: list[int] | None = None
) -> list[BillableUnit]:
    """What families owe for every daily service in [start, end], each line with its service
    code, set-based (a constant number of queries whatever the count).

    Days whose roll was taken bill from attendance: present and absent-unjustified are billed,
    absent-justified is not, present without booking pays the unbooked surcharge. Other days bill
    from the bookings still standing (a roll lists every booked child, so a booked child is never
    both on a roll and billed from the booking); waiting-list requests are not billed. A day is
    priced with the sibling rank and residency frozen on its attendance record (the service day)
    or its booking, and the income bracket valid that day. A service whose tariff is a monthly
    flat price bills one line per child and month.
    """
    return _billable(start=start, end=end, child_ids=child_ids, canteen_only=False)


def _billable(
    *, start: dt.date, end: dt.date, child_ids: list[int] | None, canteen_only: bool
) -> list[BillableUnit]:
    ids_filter = Q(child_id__in=child_ids) if child_ids is not None else Q()
    if canteen_only:
        ids_filter &= Q(service__kind=Service.Kind.CANTEEN)
    info = ("service_id", "service__code", "service__kind", "unit_id", "unit__code", "unit__name")
    records = list(
        AttendanceRecord.objects.filter(ids_filter, day__gte=start, day__lte=end)
        .values_list(
            "id", "child_id", "day", "status", "variant", "price_rank", "price_resident", *info
        )
        .iterator(chunk_size=20000)
    )
    bookings = list(
        Booking.objects.filter(
            ids_filter, day__gte=start, day__lte=end, status=Booking.Status.BOOKED
        )
        .values_list("id", "child_id", "day", "variant", "price_rank", "price_resident", *info)
        .iterator(chunk_size=20000)
    )
    children, ranks, assessments = _billing_facts(child_ids=child_ids, start=start, end=end)
    service_ids = {r[7] for r in records} | {b[6] for b in bookings}
    books = TariffBook.load_all(start=start, end=end, service_ids=service_ids or [None])
    price = _Pricer(children=children, ranks=ranks, assessments=assessments, books=books).price

    out: list[BillableUnit] = []
    # A reported illness makes its days past the city's first billed days a justified absence.
    ill = illness_unbilled_days(start=start, end=end, child_ids=child_ids)
    flat_seen: set[tuple[int, int, int, int]] = set()

    def emit(
        child_id: int,
        day: dt.date,
        kind: str,
        source: str,
        source_id: int,
        frozen_rank: int | None,
        frozen_resident: bool | None,
        svc: list[Any],
    ) -> None:
        service_id, code, service_kind, unit_id, unit_code, unit_name = svc
        household_id, quote, tariff = price(
            child_id,
            day,
            kind,
            frozen_rank,
            frozen_resident,
            (service_id, code, service_kind),
            unit_id,
            unit_name,
        )
        if tariff.mode == Tariff.Mode.FLAT_MONTH:
            month_key = (child_id, service_id, day.year, day.month)
            if month_key in flat_seen:
                return
            flat_seen.add(month_key)
            source = f"flat_{source}"
        out.append(
            BillableUnit(
                child_id,
                household_id,
                day,
                kind,
                quote.amount_cents,
                quote.currency,
                quote.explanation,
                source,
                source_id,
                code,
                service_kind,
                unit_code,
            )
        )

    attended: set[tuple[int, int, dt.date]] = set()
    for rec_id, child_id, day, status, variant, f_rank, f_res, *svc in records:
        if child_id not in children:
            continue
        attended.add((child_id, svc[0], day))
        kind = _record_kind(status, variant, svc[2], ill=(child_id, day) in ill)
        if kind is None:
            continue
        emit(
            child_id,
            day,
            kind,
            "attendance",
            rec_id,
            f_rank,
            f_res,
            svc,
        )
    for booking_id, child_id, day, variant, f_rank, f_res, *svc in bookings:
        if (
            child_id not in children
            or (child_id, svc[0], day) in attended
            or (child_id, day) in ill
        ):
            continue
        canteen = svc[2] == Service.Kind.CANTEEN
        kind = PACKED_LUNCH if canteen and variant == Variant.PACKED_LUNCH else MEAL
        emit(
            child_id,
            day,
            kind if canteen else ACTIVITY,
            "booking",
            booking_id,
            f_rank,
            f_res,
            svc,
        )
    out.sort(key=lambda m: (m.household_id, m.child_id, m.day, m.service_code))
    return out


ACTIVITY = "activity"


def _billing_facts(
    *, child_ids: list[int] | None, start: dt.date, end: dt.date
) -> tuple[dict[int, tuple[int, int, bool]], dict[int, int], AssessmentBook]:
    """Per child (household, school, residency), the sibling ranks and the income brackets that
    price the period (3 queries)."""
    child_qs = Child.objects.all() if child_ids is None else Child.objects.filter(id__in=child_ids)
    children = {
        cid: (household_id, school_id, resident)
        for cid, household_id, school_id, resident in child_qs.values_list(
            "id", "household_id", "school_id", "household__is_resident"
        ).iterator(chunk_size=20000)
    }
    household_ids = None if child_ids is None else {h for h, _s, _r in children.values()}
    sib_qs = Child.objects.filter(school__isnull=False)
    if household_ids is not None:
        sib_qs = sib_qs.filter(household_id__in=household_ids)
    ranks = sibling_ranks(
        sib_qs.values_list("id", "household_id", "birth_date").iterator(chunk_size=20000)
    )
    assessments = AssessmentBook.load(household_ids=household_ids, start=start, end=end)
    return children, ranks, assessments


class _Pricer:
    """Prices of billable units in memory, each distinct (grid, bracket, rank, residency, kind,
    unit) quoted once."""

    def __init__(
        self,
        *,
        children: dict[int, tuple[int, int, bool]],
        ranks: dict[int, int],
        assessments: AssessmentBook,
        books: dict[Any, TariffBook],
    ) -> None:
        self.children, self.ranks = children, ranks
        self.assessments, self.books = assessments, books
        self.cache: dict[tuple, PriceQuote] = {}

    def price(
        self,
        child_id: int,
        day: dt.date,
        kind: str,
        frozen_rank: int | None,
        frozen_resident: bool | None,
        service: tuple[Any, ...],
        unit_id: Any,
        unit_name: Any,
    ) -> tuple[int, PriceQuote, Tariff]:
        household_id, _school, resident = self.children[child_id]
        bracket = self.assessments.bracket(household_id, day)
        rank = frozen_rank if frozen_rank is not None else self.ranks.get(child_id, 1)
        if frozen_resident is not None:
            resident = frozen_resident
        book = self.books.get(service[0])
        if book is None:
            raise NoPrice(
                _("Aucune grille tarifaire pour le service %(code)s.") % {"code": service[1]}
            )
        tariff = book.tariff_for(day)
        label = "" if service[2] == Service.Kind.CANTEEN else unit_name
        key = (tariff.id, bracket, rank, resident, kind, unit_id)
        quote = self.cache.get(key)
        if quote is None:
            quote = self.cache[key] = book.quote(
                day=day,
                bracket=bracket,
                rank=rank,
                resident=resident,
                kind=kind,
                unit_id=unit_id,
                label=label,
            )
        return household_id, quote, tariff


def _record_kind(status: str, variant: str, service_kind: str, *, ill: bool) -> str | None:
    """What an attendance record bills, or ``None``: a justified absence, or an unjustified one
    on a day covered by a reported illness, bills nothing."""
    if status == AttendanceRecord.Status.ABSENT_JUSTIFIED:
        return None
    if status == AttendanceRecord.Status.ABSENT_UNJUSTIFIED and ill:
        return None
    canteen = service_kind == Service.Kind.CANTEEN
    if canteen and variant == Variant.PACKED_LUNCH:
        kind = PACKED_LUNCH
    elif status == AttendanceRecord.Status.PRESENT_UNBOOKED:
        kind = UNBOOKED_MEAL
    else:
        kind = MEAL
    return kind if canteen else _service_kind(kind)


def _service_kind(kind: str) -> str:
    """Price with the unbooked surcharge when needed, bill as an activity line."""
    return UNBOOKED_MEAL if kind == UNBOOKED_MEAL else ACTIVITY


# --- menus ---------------------------------------------------------------------------------------
def menus_for_school(
    *, school: School | None, start: dt.date, end: dt.date, published_only: bool = True
) -> dict[dt.date, Menu]:
    """The menu of each day for ``school``: its own menu, else the city-wide one.

    Shared cache (every family of the school reads the same week), else two queries.
    """

    def load() -> dict[dt.date, Menu]:
        qs = Menu.objects.filter(day__gte=start, day__lte=end)
        qs = (
            qs.filter(Q(school__isnull=True) | Q(school=school))
            if school
            else qs.filter(school__isnull=True)
        )
        if published_only:
            qs = qs.filter(published=True)
        menus: dict[dt.date, Menu] = {}
        for menu in qs.prefetch_related("dishes").order_by("day", "school_id"):
            if menu.day not in menus or menu.school_id is not None:
                menus[menu.day] = menu
        return menus

    key = (school.pk if school else "city", start, end, published_only)
    return shared.cached("menus", key, load)


def dishes_by_course(menu: Menu) -> list[tuple[str, list[Dish]]]:
    from .models import COURSE_ORDER

    labels = dict(Dish.Course.choices)
    grouped: dict[str, list[Dish]] = defaultdict(list)
    for dish in sorted(
        menu.dishes.all(), key=lambda d: (d.variant != Variant.STANDARD, d.variant, d.id)
    ):
        grouped[dish.course].append(dish)
    return [(str(labels[c]), grouped[c]) for c in COURSE_ORDER if grouped.get(c)]


# --- month calendar ------------------------------------------------------------------------------
@dataclass
class CalendarDay:
    day: dt.date
    state: str  # booked | not_booked | closed | past_deadline | absent
    label: str
    closed_reason: str | None = None
    deadline: dt.datetime | None = None
    deadline_text: str = ""
    can_book: bool = False
    can_cancel: bool = False
    locked: bool = False
    attendance: str | None = None
    variant: str = Variant.STANDARD
    price: PriceQuote | None = None
    safety: SafetyCheck | None = None
    menu: Menu | None = None
    in_month: bool = True
    notes: list[str] = field(default_factory=list)


STATE_LABELS = {
    "booked": gettext_lazy("Réservé"),
    "not_booked": gettext_lazy("Non réservé"),
    "closed": gettext_lazy("Fermé"),
    "past_deadline": gettext_lazy("Délai dépassé"),
    "absent": gettext_lazy("Absent"),
}


def state_label(state: str) -> str:
    return str(STATE_LABELS[state])


@dataclass
class ChildContext:
    """Everything needed to decide and price a child's days, loaded once."""

    child: Child
    calendar: SchoolCalendar
    rules: Rules
    plans: list
    tariffs: TariffBook
    assessments: AssessmentBook
    rank: int
    pending: PendingHealth | None = None


def child_context(*, child: Child, start: dt.date, end: dt.date) -> ChildContext:
    return ChildContext(
        child=child,
        calendar=SchoolCalendar.load(school=child.school, start=start, end=end),
        rules=deadline_rules(),
        plans=list(CarePlan.objects.filter(child=child)),
        tariffs=TariffBook.load(start=start, end=end),
        assessments=AssessmentBook.load(household_ids=[child.household_id], start=start, end=end),
        rank=sibling_ranks(household_sibling_rows([child.household_id])).get(child.id, 1),
        pending=pending_health(child_ids=[child.id]).get(child.id),
    )


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def child_month_calendar(
    *, child: Child, year: int, month: int, now: dt.datetime | None = None
) -> list[CalendarDay]:
    """Each day of the month for one child with its state, deadline, price and allergen check.

    A constant number of queries whatever the month holds.
    """
    now = now or timezone.now()
    first, last = month_bounds(year, month)
    loaded = child._state.fields_cache
    if "household" not in loaded or (child.school_id and "school" not in loaded):
        child = Child.objects.select_related("household", "school").get(pk=child.pk)
    ctx = child_context(child=child, start=first, end=last)
    bookings = {
        b.day: b
        for b in Booking.objects.filter(
            child=child, day__gte=first, day__lte=last, service__kind=Service.Kind.CANTEEN
        )
    }
    records = {
        r.day: r
        for r in AttendanceRecord.objects.filter(
            child=child, day__gte=first, day__lte=last, service__kind=Service.Kind.CANTEEN
        )
    }
    rolls = (
        set(
            AttendanceRoll.objects.filter(
                school_id=child.school_id,
                day__gte=first,
                day__lte=last,
                service__kind=Service.Kind.CANTEEN,
            ).values_list("day", flat=True)
        )
        if child.school_id
        else set()
    )
    menus = menus_for_school(school=child.school, start=first, end=last)
    out = []
    day = first
    while day <= last:
        out.append(
            _calendar_day(
                ctx, day, bookings.get(day), records.get(day), day in rolls, menus.get(day), now
            )
        )
        day += dt.timedelta(days=1)
    return out


def _calendar_day(
    ctx: ChildContext,
    day: dt.date,
    booking: Booking | None,
    record: AttendanceRecord | None,
    roll_taken: bool,
    menu: Menu | None,
    now: dt.datetime,
) -> CalendarDay:
    child = ctx.child
    reason = ctx.calendar.closed_reason(day) if child.school_id else _("Aucune école renseignée")
    if reason:
        return CalendarDay(
            day=day, state="closed", label=state_label("closed"), closed_reason=reason
        )
    packed = active_packed_lunch(ctx.plans, day)
    variant = child_variant(diet=child.diet, packed_lunch_pai=packed)
    booked = booking is not None and booking.status == Booking.Status.BOOKED
    if booked and booking is not None:  # booked implies a booking; narrows for mypy
        variant = booking.variant
    kind = PACKED_LUNCH if variant == Variant.PACKED_LUNCH else MEAL
    # Prices frozen on the service day: the record's facts, else the booking's, else today's.
    frozen = record if record is not None else (booking if booked else None)
    rank = ctx.rank if frozen is None or frozen.price_rank is None else frozen.price_rank
    resident = (
        child.household.is_resident
        if frozen is None or frozen.price_resident is None
        else frozen.price_resident
    )
    try:
        price = ctx.tariffs.quote(
            day=day,
            bracket=ctx.assessments.bracket(child.household_id, day),
            rank=rank,
            resident=resident,
            kind=kind,
        )
    except NoPrice:  # no tariff in force: the page still shows the day
        price = None
    # What the family declared counts at once, before staff validate it (safety rule).
    pending = ctx.pending
    safety = check_menu(
        allergies=pending.allergies_with(child.allergies) if pending else child.allergies or [],
        variant=variant,
        dishes=list(menu.dishes.all()) if menu else None,
    )
    result = CalendarDay(
        day=day,
        state="not_booked",
        label="",
        variant=variant,
        price=price,
        safety=safety,
        menu=menu,
    )
    note = pending.describe(day=day, validated=child.allergies) if pending else ""
    if note:
        result.notes.append(note)
    if record is not None:
        result.attendance = record.status
        result.locked = True
        if record.status in (
            AttendanceRecord.Status.ABSENT_JUSTIFIED,
            AttendanceRecord.Status.ABSENT_UNJUSTIFIED,
        ):
            result.state = "absent"
        else:
            result.state = "booked"
        result.label = str(AttendanceRecord.Status(record.status).label)
        if record.status == AttendanceRecord.Status.ABSENT_JUSTIFIED:
            result.price = None
            result.notes.append(_("Absence justifiée : repas non facturé."))
        elif record.status == AttendanceRecord.Status.PRESENT_UNBOOKED and price is not None:
            result.price = ctx.tariffs.quote(
                day=day,
                bracket=ctx.assessments.bracket(child.household_id, day),
                rank=rank,
                resident=resident,
                kind=UNBOOKED_MEAL if kind == MEAL else kind,
            )
        return result
    if roll_taken:
        result.locked = True
        result.state = "booked" if booked else "not_booked"
        result.label = state_label(result.state)
        result.notes.append(_("Appel pris : journée close."))
        return result
    if booked:
        deadline = deadline_for(day, ctx.rules.cancel, ctx.calendar)
        result.state = "booked"
        result.deadline = deadline
        result.can_cancel = now < deadline
        result.deadline_text = (
            _("Annulable jusqu'au %(d)s")
            if result.can_cancel
            else _("Annulation close depuis le %(d)s")
        ) % {"d": format_deadline(deadline)}
    else:
        deadline = deadline_for(day, ctx.rules.book, ctx.calendar)
        result.deadline = deadline
        result.can_book = now < deadline
        result.state = "not_booked" if result.can_book else "past_deadline"
        result.deadline_text = (
            _("Réservable jusqu'au %(d)s")
            if result.can_book
            else _("Réservation close depuis le %(d)s")
        ) % {"d": format_deadline(deadline)}
    result.label = state_label(result.state)
    return result


VARIANT_LABELS = dict(Variant.choices)


# --- kitchen -------------------------------------------------------------------------------------
@dataclass
class KitchenEntry:
    child_id: int
    name: str
    class_name: str
    allergies: list[str]
    has_pai: bool
    variant: str
    level: str
    action: str
    # Declared by the family, awaiting validation (empty when everything is validated).
    pending: str = ""


def kitchen_daily_list(*, school: School, day: dt.date) -> list[KitchenEntry]:
    """Every booked child with an allergy or a PAI at ``school`` on ``day``, with what to do."""
    return kitchen_lists(school_ids=[school.id], day=day).get(school.id, [])


def kitchen_lists(*, school_ids: list[int], day: dt.date) -> dict[int, list[KitchenEntry]]:
    """The kitchen list of several schools at once, in a constant number of queries."""
    # Children who need the list (an allergy or a PAI in force) first, then their bookings of the
    # day through the (child, day) unique index: no scan of the day's 50,000 bookings.
    active_plan = CarePlan.objects.filter(
        child_id=OuterRef("pk"), valid_from__lte=day, valid_until__gte=day
    )
    declared = pending_health_requests().filter(child_id=OuterRef("pk"))
    # Meals served at these sites: the canteen (and any unit with a meal of a service held at the
    # child's school) at the child's school, a holiday-centre lunch at the centre's site.
    meals = Booking.objects.filter(day=day, status=Booking.Status.BOOKED).filter(
        Q(service__kind=Service.Kind.CANTEEN) | Q(unit__includes_meal=True)
    )
    at_site = meals.filter(service__site_id__in=school_ids)
    concerned = Child.objects.filter(
        Q(school_id__in=school_ids) | Q(id__in=at_site.values("child_id"))
    ).filter(~Q(allergies=[]) | Exists(active_plan) | Exists(declared))
    bookings = _kitchen_bookings(
        meals.filter(child_id__in=concerned.values("id")).filter(
            Q(service__site__isnull=True, child__school_id__in=school_ids)
            | Q(service__site_id__in=school_ids)
        )
    )
    plans: dict[int, list] = defaultdict(list)
    for care_plan in CarePlan.objects.filter(
        child_id__in=[b.child_id for _s, b in bookings], valid_from__lte=day, valid_until__gte=day
    ):
        plans[care_plan.child_id].append(care_plan)
    declarations = pending_health(child_ids=[b.child_id for _s, b in bookings])
    menus = Menu.objects.filter(day=day, published=True).filter(
        Q(school__isnull=True) | Q(school_id__in=school_ids)
    )
    citywide, own = None, {}
    for menu in menus.prefetch_related("dishes"):
        if menu.school_id is None:
            citywide = menu
        else:
            own[menu.school_id] = menu
    out: dict[int, list[KitchenEntry]] = defaultdict(list)
    variant_labels = {k: str(v) for k, v in VARIANT_LABELS.items()}
    # Children of the same menu share their checks and instructions: compute each once.
    checks: dict[tuple, SafetyCheck] = {}
    actions: dict[tuple, str] = {}
    labels: dict[tuple, list[str]] = {}
    for site_id, booking in bookings:
        child = booking.child
        plan = active_care_plan(plans.get(child.id, []), day)
        pending = declarations.get(child.id)
        pending_note = pending.describe(day=day, validated=child.allergies) if pending else ""
        if not child.allergies and plan is None and not pending_note:
            continue
        menu = own.get(site_id, citywide)  # type: ignore[assignment]
        allergies = tuple(
            pending.allergies_with(child.allergies) if pending else child.allergies or ()
        )
        pending_plan = pending.care_plan_on(day) if pending else None
        key = (menu.id if menu else None, allergies, booking.variant)
        check = checks.get(key)
        if check is None:
            dishes = list(menu.dishes.all()) if menu else None
            check = checks[key] = check_menu(
                allergies=allergies, variant=booking.variant, dishes=dishes
            )
        instructions = plan.instructions if plan else None
        if pending_note:
            instructions = " ".join(filter(None, [pending_note, instructions]))
        action = actions.get((key, instructions))
        if action is None:
            action = actions[(key, instructions)] = kitchen_action(
                check=check, pai_instructions=instructions
            )
        if allergies not in labels:
            labels[allergies] = [allergen_label(a) for a in allergies if a in KNOWN_ALLERGENS]
        out[site_id].append(
            KitchenEntry(
                child_id=child.id,
                name=f"{child.first_name} {child.last_name}",
                class_name=child.class_name,
                allergies=labels[allergies],
                has_pai=plan is not None or pending_plan is not None,
                variant=variant_labels[booking.variant],
                level=check.level,
                action=action,
                pending=pending_note,
            )
        )
    return dict(out)


def _kitchen_bookings(qs: QuerySet[Booking]) -> list[tuple[int, Booking]]:
    """(site that serves the meal, booking), one per child and site (a child booked on two units
    with a meal at the same site is listed once)."""
    rows = (
        qs.select_related("child")
        .only(
            "id",
            "variant",
            "service_id",
            "child__id",
            "child__first_name",
            "child__last_name",
            "child__class_name",
            "child__allergies",
            "child__school_id",
        )
        .annotate(site_id=Coalesce("service__site_id", "child__school_id"))
        .order_by("child__last_name", "child__first_name", "child_id", "service__position")
    )
    chosen: dict[tuple[int, int], Booking] = {}
    for booking in rows:
        chosen.setdefault((booking.site_id, booking.child_id), booking)  # type: ignore[attr-defined]  # annotated
    return [(site_id, b) for (site_id, _c), b in chosen.items()]


def roll_sheet(*, school: School, day: dt.date) -> tuple[AttendanceRoll | None, list[dict]]:
    """The roll of a school day: every booked child, plus children already marked."""
    roll = AttendanceRoll.objects.filter(
        school=school, day=day, service__kind=Service.Kind.CANTEEN
    ).first()
    records = {r.child_id: r for r in AttendanceRecord.objects.filter(roll=roll)} if roll else {}
    booked = {
        b.child_id: b
        for b in Booking.objects.filter(
            child__school=school,
            day=day,
            status=Booking.Status.BOOKED,
            service__kind=Service.Kind.CANTEEN,
        )
    }
    children = Child.objects.filter(school=school).order_by("class_name", "last_name", "first_name")
    declarations = pending_health(school_ids=[school.id])
    rows = []
    for child in children:
        record = records.get(child.id)
        booking = booked.get(child.id)
        rows.append(
            {
                "child": child,
                "booked": booking is not None,
                "variant": booking.variant if booking else None,
                "variant_label": Variant(booking.variant).label if booking else "",
                "status": record.status if record else None,
                "has_allergy": bool(child.allergies)
                or bool(child.id in declarations and declarations[child.id].allergies),
                "pending_health": (
                    declarations[child.id].describe(day=day, validated=child.allergies)
                    if child.id in declarations
                    else ""
                ),
            }
        )
    rows.sort(key=lambda r: (not r["booked"], r["child"].class_name, r["child"].last_name))  # type: ignore[attr-defined]
    return roll, rows


def booking_prices(bookings: list[Booking]) -> dict[int, PriceQuote | None]:
    """The price of each booking with its explanation, in a constant number of queries."""
    if not bookings:
        return {}
    start, end = min(b.day for b in bookings), max(b.day for b in bookings)
    child_ids = {b.child_id for b in bookings}
    children = {
        cid: (household_id, resident)
        for cid, household_id, resident in Child.objects.filter(id__in=child_ids).values_list(
            "id", "household_id", "household__is_resident"
        )
    }
    household_ids = {h for h, _r in children.values()}
    ranks = sibling_ranks(household_sibling_rows(household_ids))
    assessments = AssessmentBook.load(household_ids=household_ids, start=start, end=end)
    tariffs = TariffBook.load(start=start, end=end)
    out: dict[int, PriceQuote | None] = {}
    for booking in bookings:
        household_id, resident = children[booking.child_id]
        kind = PACKED_LUNCH if booking.variant == Variant.PACKED_LUNCH else MEAL
        try:
            out[booking.id] = tariffs.quote(
                day=booking.day,
                bracket=assessments.bracket(household_id, booking.day),
                rank=ranks.get(booking.child_id, 1),
                resident=resident,
                kind=kind,
            )
        except NoPrice:  # no tariff in force that day
            out[booking.id] = None
    return out


def meals_booked_by_child(*, start: dt.date, end: dt.date) -> dict[int, int]:
    """Meals booked per child in [start, end] (the family year switch archives it)."""
    from django.db.models import Count

    return dict(
        Booking.objects.filter(day__gte=start, day__lte=end, status=Booking.Status.BOOKED)
        .values_list("child_id")
        .annotate(n=Count("id"))
        .values_list("child_id", "n")
    )


def service_roll_sheet(
    *, service: Service, school: School, day: dt.date
) -> tuple[AttendanceRoll | None, list[dict]]:
    """The roll of one service at one site on one day: every child booked there (whatever their
    school for a service with its own site), plus the site's children already marked."""
    roll = AttendanceRoll.objects.filter(school=school, service=service, day=day).first()
    records = {r.child_id: r for r in AttendanceRecord.objects.filter(roll=roll)} if roll else {}
    booked_qs = Booking.objects.filter(service=service, day=day, status=Booking.Status.BOOKED)
    if not service.site_id:
        booked_qs = booked_qs.filter(child__school=school)
    booked = {b.child_id: b for b in booked_qs.select_related("unit")}
    children = Child.objects.filter(Q(id__in=list(booked)) | Q(id__in=list(records))).order_by(
        "class_name", "last_name", "first_name"
    )
    rows = []
    for child in children:
        booking = booked.get(child.id)
        record = records.get(child.id)
        rows.append(
            {
                "child": child,
                "booked": booking is not None,
                "unit": booking.unit.name if booking else "",
                "status": record.status if record else None,
            }
        )
    return roll, rows


# --- home pages ----------------------------------------------------------------------------------
def child_home_summary(*, child: Child, today: dt.date, upcoming: int = 3) -> dict:
    """Today's menu with the child's allergen check, and the next days whose booking (or
    cancelling) deadline is still ahead — what a parent's home page shows per child."""
    days = child_month_calendar(child=child, year=today.year, month=today.month)
    if today.day > 20:
        nxt = month_bounds(today.year, today.month)[1] + dt.timedelta(days=1)
        days += child_month_calendar(child=child, year=nxt.year, month=nxt.month)
    today_entry = next((d for d in days if d.day == today), None)
    coming = [d for d in days if d.day >= today and (d.can_book or d.can_cancel)][:upcoming]
    return {
        "child": child,
        "today": today_entry,
        "courses": dishes_by_course(today_entry.menu) if today_entry and today_entry.menu else [],
        "coming": coming,
    }


def rolls_today(*, schools: QuerySet[School], day: dt.date) -> list[dict]:
    """Each school's roll of the day: taken or not, and how many meals are booked."""
    school_list = list(schools.order_by("name"))
    taken = set(
        AttendanceRoll.objects.filter(school__in=school_list, day=day).values_list(
            "school_id", flat=True
        )
    )
    booked = dict(
        Booking.objects.filter(child__school__in=school_list, day=day, status=Booking.Status.BOOKED)
        .values("child__school_id")
        .annotate(n=Count("id"))
        .values_list("child__school_id", "n")
    )
    return [
        {"school": s, "taken": s.pk in taken, "booked": booked.get(s.pk, 0)} for s in school_list
    ]
