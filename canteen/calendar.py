"""Every daily service of a child on one month calendar (reads only).

Per day and service: its state, change deadline, price with its explanation, and the seats left
for units with a capacity. The canteen part is the canteen's own month calendar (menus, allergen
checks); the other services come from the engine. A constant number of queries per service site.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from family.models import Child

from .deadlines import SchoolCalendar, deadline_for, format_deadline, rules_for_services
from .models import AttendanceRecord, AttendanceRoll, Booking, Service, Unit
from .pricing import AssessmentBook, NoPrice, PriceQuote, TariffBook
from .selectors import (
    ACTIVITY,
    CalendarDay,
    child_month_calendar,
    month_bounds,
    state_label,
)

EXTRA_STATES = {
    "waiting": gettext_lazy("Liste d'attente"),
    "not_eligible": gettext_lazy("Non accessible"),
}


@dataclass
class ServiceCell:
    """One service on one day for one child."""

    service: Service
    state: str  # booked | waiting | not_booked | closed | past_deadline | absent | not_eligible
    label: str
    unit: Unit | None = None
    reason: str = ""
    deadline: dt.datetime | None = None
    deadline_text: str = ""
    can_book: bool = False
    can_cancel: bool = False
    locked: bool = False
    price: PriceQuote | None = None
    seats_left: dict[int, int | None] = field(default_factory=dict)  # unit id → seats


@dataclass
class ServicesDay:
    day: dt.date
    canteen: CalendarDay | None
    cells: list[ServiceCell]


def services_for_child(child: Child) -> list[Service]:
    """The active services other than the canteen a child's school offers (one query)."""
    return list(
        Service.objects.filter(is_active=True)
        .exclude(kind=Service.Kind.CANTEEN)
        .filter(Q(schools__isnull=True) | Q(schools=child.school_id))
        .distinct()
        .select_related("site")
        .prefetch_related("units", "schools")
        .order_by("position", "code")
    )


def child_services_month(
    *,
    child: Child,
    year: int,
    month: int,
    now: dt.datetime | None = None,
    services: list[Service] | None = None,
) -> list[ServicesDay]:
    """``services``: the child's ``services_for_child`` when the caller already has them (the
    page does), so they are not read twice."""
    from .services import eligibility_problem, seats_left_read, service_site_id

    now = now or timezone.now()
    first, last = month_bounds(year, month)
    if "household" not in child._state.fields_cache:
        child = Child.objects.select_related("household", "school").get(pk=child.pk)
    canteen_days = {
        d.day: d for d in child_month_calendar(child=child, year=year, month=month, now=now)
    }
    if services is None:
        services = services_for_child(child) if child.school_id else []
    svcs = services
    for s in svcs:
        s._school_ids = {x.id for x in s.schools.all()}  # type: ignore[attr-defined]
    ids = [s.id for s in svcs]
    rules = rules_for_services(ids)
    books = TariffBook.load_all(start=first, end=last, service_ids=ids) if ids else {}
    assessments = AssessmentBook.load(household_ids=[child.household_id], start=first, end=last)
    from .pricing import household_sibling_rows, sibling_ranks

    rank = sibling_ranks(household_sibling_rows([child.household_id])).get(child.id, 1)
    bookings = {
        (b.service_id, b.day): b
        for b in Booking.objects.filter(
            child=child, service_id__in=ids, day__gte=first, day__lte=last
        ).select_related("unit")
    }
    records = {
        (r.service_id, r.day): r
        for r in AttendanceRecord.objects.filter(
            child=child, service_id__in=ids, day__gte=first, day__lte=last
        )
    }
    sites = {s.id: service_site_id(s, child) for s in svcs}
    rolls = set(
        AttendanceRoll.objects.filter(
            service_id__in=ids, school_id__in=set(sites.values()), day__gte=first, day__lte=last
        ).values_list("service_id", "school_id", "day")
    )
    calendars: dict[int | None, SchoolCalendar] = {}
    for s in svcs:
        site = s.site if s.site_id else child.school
        if sites[s.id] not in calendars:
            calendars[sites[s.id]] = SchoolCalendar.load(school=site, start=first, end=last)
    seats = seats_left_read(
        {
            (u, sites[s.id], d)
            for s in svcs
            for u in s.units.all()
            if u.capacity is not None
            for d in _days(first, last)
        }
    )
    out = []
    day = first
    while day <= last:
        cells = []
        for s in svcs:
            cells.append(
                _cell(
                    s,
                    day,
                    child=child,
                    calendar=calendars[sites[s.id]],
                    site_id=sites[s.id],
                    rules=rules[s.id],
                    book=books.get(s.id),
                    bracket=assessments.bracket(child.household_id, day),
                    rank=rank,
                    booking=bookings.get((s.id, day)),
                    record=records.get((s.id, day)),
                    roll_taken=(s.id, sites[s.id], day) in rolls,
                    seats=seats,
                    now=now,
                    eligibility=eligibility_problem,
                )
            )
        out.append(ServicesDay(day=day, canteen=canteen_days.get(day), cells=cells))
        day += dt.timedelta(days=1)
    return out


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _label(state: str) -> str:
    return str(EXTRA_STATES[state]) if state in EXTRA_STATES else state_label(state)


def _cell(
    service,
    day,
    *,
    child,
    calendar,
    site_id,
    rules,
    book,
    bracket,
    rank,
    booking,
    record,
    roll_taken,
    seats,
    now,
    eligibility,
) -> ServiceCell:
    reason = calendar.service_closed_reason(service, day)
    if reason:
        return ServiceCell(service, "closed", _label("closed"), reason=reason)
    problem = eligibility(service, child, day)
    if problem:
        return ServiceCell(service, "not_eligible", _label("not_eligible"), reason=problem)
    units = list(service.units.all())
    active = booking if booking is not None and booking.status != Booking.Status.CANCELLED else None
    unit = active.unit if active else (units[0] if units else None)
    cell = ServiceCell(service, "not_booked", "", unit=unit)
    cell.seats_left = {
        u.id: seats.get((u.id, site_id, day)) for u in units if u.capacity is not None
    }
    if book is not None and unit is not None:
        frozen = record or active
        try:
            cell.price = book.quote(
                day=day,
                bracket=bracket,
                rank=frozen.price_rank if frozen and frozen.price_rank else rank,
                resident=(
                    frozen.price_resident
                    if frozen and frozen.price_resident is not None
                    else child.household.is_resident
                ),
                kind=ACTIVITY,
                unit_id=unit.id,
                label=unit.name,
            )
        except NoPrice:  # no tariff in force: the day is still shown
            cell.price = None
    if record is not None:
        cell.locked = True
        absent = record.status in (
            AttendanceRecord.Status.ABSENT_JUSTIFIED,
            AttendanceRecord.Status.ABSENT_UNJUSTIFIED,
        )
        cell.state = "absent" if absent else "booked"
        cell.label = str(AttendanceRecord.Status(record.status).label)
        if record.status == AttendanceRecord.Status.ABSENT_JUSTIFIED:
            cell.price = None
        return cell
    if roll_taken:
        cell.locked = True
        cell.state = "booked" if active and active.status == Booking.Status.BOOKED else "not_booked"
        cell.label = _label(cell.state)
        cell.reason = _("Appel pris : journée close.")
        return cell
    if active is not None:
        deadline = deadline_for(day, rules.cancel, calendar)
        cell.state = "waiting" if active.status == Booking.Status.WAITING else "booked"
        cell.deadline = deadline
        cell.can_cancel = now < deadline or cell.state == "waiting"
        cell.deadline_text = (
            _("Annulable jusqu'au %(d)s")
            if now < deadline
            else _("Annulation close depuis le %(d)s")
        ) % {"d": format_deadline(deadline)}
    else:
        deadline = deadline_for(day, rules.book, calendar)
        cell.deadline = deadline
        cell.can_book = now < deadline
        cell.state = "not_booked" if cell.can_book else "past_deadline"
        cell.deadline_text = (
            _("Réservable jusqu'au %(d)s")
            if cell.can_book
            else _("Réservation close depuis le %(d)s")
        ) % {"d": format_deadline(deadline)}
    cell.label = _label(cell.state)
    return cell
