"""Everything that writes canteen data: bookings, cancellations, rolls and menus."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.access import is_parent
from backend.core.allergens import Allergen
from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind, NotificationCategory
from backend.core.outbox import enqueue
from backend.core.services import audit_record
from backend.core.text import render_text
from family.models import CarePlan, Child, School
from family.services.common import notify_guardians

from . import shared
from .deadlines import (
    DAY,
    Rules,
    SchoolCalendar,
    days_between,
    deadline_for,
    format_deadline,
    monday_of,
    rules_for_services,
)
from .models import (
    AllergenPresence,
    AttendanceRecord,
    AttendanceRoll,
    Booking,
    Dish,
    Menu,
    Service,
    Unit,
    UnitDay,
    Variant,
    canteen_service_id,
    canteen_unit_id,
)
from .pricing import household_sibling_rows, sibling_ranks
from .safety import active_packed_lunch, child_variant

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.db import models

    from backend.accounts.models import User
    from family.models import Household

MAX_BULK_DAYS = 400


def _fmt(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def booking_block_reason(*, household: Household) -> str | None:
    """Why this household may not book now (e.g. unpaid invoices), or ``None``.

    Asks each guard of ``settings.MINOT_BOOKING_GUARDS`` (dotted paths of functions
    ``(*, household) -> str | None``): the canteen does not import payments, payments registers
    its rule in settings. A wrong path fails at start-up (``CanteenConfig.ready``), never silently.
    """
    for guard in booking_guards():
        reason = guard(household=household)
        if reason:
            return reason
    return None


def booking_guards() -> list[Callable[..., str | None]]:
    return [import_string(path) for path in settings.MINOT_BOOKING_GUARDS]


def _actor_kind(actor: User | None) -> str:
    if actor is None:
        return ActorKind.SYSTEM
    return ActorKind.PERSON if is_parent(actor) else ActorKind.STAFF_FOR_FAMILY


@dataclass
class BookingResult:
    booked: list[tuple[int, dt.date]] = field(default_factory=list)
    cancelled: list[tuple[int, dt.date]] = field(default_factory=list)
    skipped: list[tuple[int, dt.date, str]] = field(default_factory=list)
    waiting: list[tuple[int, dt.date]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "booked": [{"child": c, "day": d.isoformat()} for c, d in self.booked],
            "waiting": [{"child": c, "day": d.isoformat()} for c, d in self.waiting],
            "cancelled": [{"child": c, "day": d.isoformat()} for c, d in self.cancelled],
            "skipped": [
                {"child": c, "day": d.isoformat(), "reason": r} for c, d, r in self.skipped
            ],
        }


def _validate_days(days: Sequence[dt.date]) -> list[dt.date]:
    unique = sorted(set(days))
    if not unique:
        raise ApplicationError(_("Aucun jour choisi."))
    if unique[0] < dt.date(2000, 1, 1) or unique[-1] > dt.date(2100, 12, 31):
        raise ApplicationError(_("Date hors limites (2000–2100)."))
    if len(unique) > MAX_BULK_DAYS or (unique[-1] - unique[0]).days > MAX_BULK_DAYS:
        raise ApplicationError(
            _("Période trop longue : %(n)s jours au plus.") % {"n": MAX_BULK_DAYS}
        )
    return unique


def _rolls_taken(
    site_ids: Iterable[int], days: Sequence[dt.date], service_ids: Iterable[int] | None = None
) -> set[tuple[int, int, dt.date]]:
    """(site, service, day) of the rolls taken over ``days``."""
    qs = AttendanceRoll.objects.filter(
        school_id__in=set(site_ids), day__gte=days[0], day__lte=days[-1]
    )
    if service_ids is not None:
        qs = qs.filter(service_id__in=set(service_ids))
    return set(qs.values_list("school_id", "service_id", "day"))


def service_site_id(service: Service, child: Child) -> int | None:
    """Where ``child`` is looked after for ``service``: its own site, else the child's school."""
    return service.site_id or child.school_id


def eligibility_problem(service: Service, child: Child, day: dt.date) -> str | None:
    """Age, class and school conditions of a service, or ``None`` when the child may come."""
    school_ids = _service_schools(service)
    if school_ids and child.school_id not in school_ids:
        return _("%(service)s n'accueille pas les enfants de cette école.") % {
            "service": service.name
        }
    age = (
        day.year
        - child.birth_date.year
        - ((day.month, day.day) < (child.birth_date.month, child.birth_date.day))
    )
    if service.min_age is not None and age < service.min_age:
        return _("%(service)s : à partir de %(n)s ans.") % {
            "service": service.name,
            "n": service.min_age,
        }
    if service.max_age is not None and age > service.max_age:
        return _("%(service)s : jusqu'à %(n)s ans.") % {
            "service": service.name,
            "n": service.max_age,
        }
    if service.classes and child.class_name not in service.classes:
        return _("%(service)s : réservé aux classes %(classes)s.") % {
            "service": service.name,
            "classes": ", ".join(service.classes),
        }
    return None


def _service_schools(service: Service) -> set[int]:
    cached = getattr(service, "_school_ids", None)
    if cached is None:
        cached = set(service.schools.values_list("id", flat=True)) if service.pk else set()
        service._school_ids = cached  # type: ignore[attr-defined]
    return cached


@dataclass(frozen=True)
class Request:
    """One booking asked for: a child, a unit (of a service) and a day."""

    child: Child
    unit: Unit
    day: dt.date


def bookings_create(
    *,
    children: Sequence[Child],
    days: Sequence[dt.date],
    actor: User | None = None,
    strict: bool = True,
    now: dt.datetime | None = None,
    unit: Unit | None = None,
    waitlist: bool = True,
) -> BookingResult:
    """Book ``days`` of ``unit`` (default: the canteen meal) for each child.

    ``strict``: any day that cannot be booked (closed, past its deadline, already booked, roll
    taken) refuses the whole request with a message and nothing is written. Otherwise such days are
    skipped and reported (bulk booking by weekday pattern over a term skips the holidays).
    """
    days = _validate_days(days)
    if not children:
        raise ApplicationError(_("Aucun enfant choisi."))
    unit = unit or _canteen_unit()
    return requests_book(
        requests=[Request(child, unit, day) for child in children for day in days],
        actor=actor,
        strict=strict,
        now=now,
        waitlist=waitlist,
    )


def _canteen_unit() -> Unit:
    return Unit.objects.select_related("service").get(pk=canteen_unit_id())


def requests_book(
    *,
    requests: Sequence[Request],
    actor: User | None = None,
    strict: bool = True,
    now: dt.datetime | None = None,
    waitlist: bool = True,
) -> BookingResult:
    """The booking engine: book each (child, unit, day) of ``requests``, for any services.

    Each request is checked (open day, conditions, deadline, roll, not already booked) with a
    constant number of queries whatever the count. Units with a capacity are booked under a row
    lock on their (unit, site, day) seats: a full unit puts the request on the waiting list
    (``waitlist``) or refuses it, never oversells.
    """
    now = now or timezone.now()
    if not requests:
        raise ApplicationError(_("Aucun jour choisi."))
    all_days = _validate_days([r.day for r in requests])
    children = {r.child.id: r.child for r in requests}
    households = {c.household_id: c.household for c in children.values()}
    _check_booking_guards(households)
    services = {r.unit.service_id: r.unit.service for r in requests}
    result = BookingResult()
    planned = _plan_requests(
        requests,
        services=services,
        all_days=all_days,
        strict=strict,
        now=now,
        result=result,
    )
    if not planned:
        return result
    with transaction.atomic():
        to_insert, to_revive, done = _allocate(
            planned,
            ranks=_ranks_now(households),
            households=households,
            actor=actor,
            now=now,
            strict=strict,
            waitlist=waitlist,
            result=result,
        )
        _save_bookings(to_insert, to_revive, actor=actor, now=now, strict=strict)
        _audit_bookings(done, services=services, children=children, actor=actor)
    return result


def _check_booking_guards(households: dict) -> None:
    for household in households.values():
        reason = booking_block_reason(household=household)
        if reason:
            raise ApplicationError(reason, {"code": "booking_blocked"})


def _care_plans(requests: Sequence[Request], all_days: list[dt.date]) -> dict[int, list]:
    """Care plans of the children over the period, when a requested unit includes a meal."""
    plans: dict[int, list] = defaultdict(list)
    if any(u.includes_meal for u in {r.unit for r in requests}):
        for plan in CarePlan.objects.filter(
            child_id__in=list({r.child.id for r in requests}),
            valid_until__gte=all_days[0],
            valid_from__lte=all_days[-1],
        ):
            plans[plan.child_id].append(plan)
    return plans


def _existing_bookings(
    requests: Sequence[Request], services: dict, all_days: list[dt.date]
) -> dict[tuple[int, int | None, dt.date], Booking]:
    return {
        (b.child_id, b.service_id, b.day): b
        for b in Booking.objects.filter(
            child_id__in=list({r.child.id for r in requests}),
            service_id__in=list(services),
            day__gte=all_days[0],
            day__lte=all_days[-1],
        ).only("id", "child_id", "service_id", "unit_id", "day", "status")
    }


Planned = tuple[Request, int | None, str, Booking | None]


def _plan_requests(
    requests: Sequence[Request],
    *,
    services: dict,
    all_days: list[dt.date],
    strict: bool,
    now: dt.datetime,
    result: BookingResult,
) -> list[Planned]:
    """Check each distinct (child, service, day) request: the ones that can be booked with their
    site, variant and existing row; the others refuse everything (``strict``) or are skipped."""
    rules = rules_for_services(services)
    calendars: dict[int | None, SchoolCalendar] = {}
    plans = _care_plans(requests, all_days)
    sites = {
        site
        for site in (service_site_id(r.unit.service, r.child) for r in requests)
        if site is not None
    }
    rolls = _rolls_taken(sites, all_days, services)
    existing = _existing_bookings(requests, services, all_days)
    planned: list[Planned] = []
    seen: set[tuple[int, int, dt.date]] = set()
    for req in sorted(requests, key=lambda r: (r.child.id, r.day, r.unit.service_id)):
        child, service = req.child, req.unit.service
        key = (child.id, service.id, req.day)
        if key in seen:
            continue
        seen.add(key)
        site_id = service_site_id(service, child)
        if site_id not in calendars:
            calendars[site_id] = SchoolCalendar.load(
                school=service.site if service.site_id else child.school,
                start=all_days[0],
                end=all_days[-1],
            )
        problem = _booking_problem(
            req, site_id, calendars[site_id], rules[service.id], rolls, existing, now
        )
        if problem:
            _refuse(result, req, problem, strict=strict)
            continue
        planned.append((req, site_id, _request_variant(req, plans), existing.get(key)))
    return planned


def _refuse(
    result: BookingResult, req: Request, problem: str, *, strict: bool, code: str = ""
) -> None:
    """A request that cannot be booked: refuses everything when ``strict``, else is reported."""
    if strict:
        extra: dict[str, Any] = {"child": req.child.id, "day": req.day.isoformat()}
        if code:
            extra["code"] = code
        raise ApplicationError(problem, extra)
    result.skipped.append((req.child.id, req.day, problem))


def _request_variant(req: Request, plans: dict[int, list]) -> str:
    if not req.unit.includes_meal:
        return Variant.STANDARD
    child = req.child
    return child_variant(
        diet=child.diet, packed_lunch_pai=active_packed_lunch(plans[child.id], req.day)
    )


def _seat_status(seats: dict, slot: tuple, *, waitlist: bool) -> str | None:
    """Booked when the unit has no limit or a seat is left (taking it), waiting when full and
    the waiting list is accepted, ``None`` when full and refused."""
    if slot not in seats:
        return Booking.Status.BOOKED
    if seats[slot] > 0:
        seats[slot] -= 1
        return Booking.Status.BOOKED
    return Booking.Status.WAITING if waitlist else None


def _allocate(
    planned: list[Planned],
    *,
    ranks: dict[int, int],
    households: dict,
    actor: User | None,
    now: dt.datetime,
    strict: bool,
    waitlist: bool,
    result: BookingResult,
) -> tuple[list[Booking], dict[tuple[str, str, int], list[int]], list[tuple[int, int, dt.date]]]:
    """Give each planned request a seat under the seats' row locks: new rows to insert, cancelled
    rows to revive (by status, variant and unit), and what was done (for the audit)."""
    seats = _seats_left(
        {
            (req.unit, site_id, req.day)
            for req, site_id, _v, _b in planned
            if req.unit.capacity is not None
        }
    )
    to_insert: list[Booking] = []
    to_revive: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    done: list[tuple[int, int, dt.date]] = []
    for req, site_id, variant, found in planned:
        status = _seat_status(seats, (req.unit.id, site_id, req.day), waitlist=waitlist)
        if status is None:
            problem = _("Complet : plus de place le %(day)s.") % {"day": _fmt(req.day)}
            _refuse(result, req, problem, strict=strict, code="full")
            continue
        if found is not None:
            to_revive[(status, variant, req.unit.id)].append(found.id)
        else:
            to_insert.append(
                Booking(
                    child=req.child,
                    service_id=req.unit.service_id,
                    unit=req.unit,
                    day=req.day,
                    status=status,
                    variant=variant,
                    booked_by=actor,
                    created_at=now,
                    price_rank=ranks.get(req.child.id, 1),
                    price_resident=households[req.child.household_id].is_resident,
                )
            )
        done.append((req.child.id, req.unit.service_id, req.day))
        target = result.waiting if status == Booking.Status.WAITING else result.booked
        target.append((req.child.id, req.day))
    return to_insert, to_revive, done


def _save_bookings(
    to_insert: list[Booking],
    to_revive: dict[tuple[str, str, int], list[int]],
    *,
    actor: User | None,
    now: dt.datetime,
    strict: bool,
) -> None:
    if strict and len(to_insert) == 1 and not to_revive:
        try:
            with transaction.atomic():
                to_insert[0].save(force_insert=True)
        except IntegrityError:
            raise ApplicationError(
                _("Ce repas est déjà réservé (%(day)s).") % {"day": _fmt(to_insert[0].day)}
                if to_insert[0].unit.service.is_canteen
                else _("Déjà réservé le %(day)s.") % {"day": _fmt(to_insert[0].day)},
                {"code": "already_booked"},
            )
    elif to_insert:
        # A concurrent request that inserted the same (child, service, day) wins; one booking.
        Booking.objects.bulk_create(to_insert, ignore_conflicts=True, batch_size=1000)
    for (new_status, variant, unit_id), ids in to_revive.items():
        Booking.objects.filter(id__in=ids, status=Booking.Status.CANCELLED).update(
            status=new_status,
            unit_id=unit_id,
            variant=variant,
            booked_by=actor,
            cancelled_at=None,
            updated_at=now,
        )


def _audit_bookings(
    done: list[tuple[int, int, dt.date]], *, services: dict, children: dict, actor: User | None
) -> None:
    """One audit row per child and service, with the days booked."""
    by_child: dict[tuple[int, int], list[str]] = defaultdict(list)
    for child_id, service_id, day in done:
        by_child[(child_id, service_id)].append(day.isoformat())
    for (child_id, service_id), booked_days in by_child.items():
        audit_record(
            action="canteen.booking.create",
            actor=actor,
            actor_kind=_actor_kind(actor),
            target=children[child_id],
            household_id=children[child_id].household_id,
            data={"days": booked_days, "service": services[service_id].code},
        )


def _ranks_now(households: dict) -> dict[int, int]:
    return sibling_ranks(household_sibling_rows(list(households)))


def _seats_left(
    slots: set[tuple[Unit, int | None, dt.date]],
) -> dict[tuple[int, int | None, dt.date], int]:
    """Lock the seats of each (unit, site, day) and count what is left (3 queries).

    The ``UnitDay`` rows are created if missing and locked in a fixed order; the bookings are
    counted after the lock, so two concurrent requests for the last seat cannot both get it.
    """
    if not slots:
        return {}
    slots = {s for s in slots if s[1] is not None}
    UnitDay.objects.bulk_create(
        [UnitDay(unit=u, site_id=int(site or 0), day=day) for u, site, day in slots],
        ignore_conflicts=True,
    )
    cond = Q()
    for u, site, day in slots:
        cond |= Q(unit_id=u.id, site_id=site, day=day)
    locked: dict[tuple[int, int | None, dt.date], int | None] = {
        (d.unit_id, d.site_id, d.day): d.capacity
        for d in UnitDay.objects.select_for_update().filter(cond).order_by("id")
    }
    counts = _booked_counts(
        {(u.id, site, day) for u, site, day in slots}, {u.id: u for u, _s, _d in slots}
    )
    out = {}
    for u, site, day in slots:
        capacity = locked.get((u.id, site, day))
        capacity = u.capacity if capacity is None else capacity
        out[(u.id, site, day)] = max(0, (capacity or 0) - counts.get((u.id, site, day), 0))
    return out


def seats_left_read(
    slots: set[tuple[Unit, int | None, dt.date]],
) -> dict[tuple[int, int | None, dt.date], int]:
    """Seats left per (unit, site, day) for display: no lock, no write (2 queries)."""
    slots = {s for s in slots if s[1] is not None}
    if not slots:
        return {}
    unit_ids = {u.id for u, _s, _d in slots}
    days = sorted({d for _u, _s, d in slots})
    overrides: dict[tuple[int, int | None, dt.date], int] = {
        (unit_id, site, day): int(capacity or 0)
        for unit_id, site, day, capacity in UnitDay.objects.filter(
            unit_id__in=unit_ids, day__gte=days[0], day__lte=days[-1], capacity__isnull=False
        ).values_list("unit_id", "site_id", "day", "capacity")
    }
    counts = _booked_counts(
        {(u.id, site, day) for u, site, day in slots}, {u.id: u for u, _s, _d in slots}
    )
    return {
        (u.id, site, day): max(
            0,
            overrides.get((u.id, site, day), u.capacity or 0) - counts.get((u.id, site, day), 0),
        )
        for u, site, day in slots
    }


def _booked_counts(
    slots: set[tuple[int, int | None, dt.date]], units: dict[int, Unit]
) -> dict[tuple[int, int | None, dt.date], int]:
    """Booked count per (unit, site, day): one grouped query."""
    unit_ids = {u for u, _s, _d in slots}
    days = sorted({d for _u, _s, d in slots})
    rows = (
        Booking.objects.filter(
            unit_id__in=unit_ids, day__gte=days[0], day__lte=days[-1], status=Booking.Status.BOOKED
        )
        .values_list("unit_id", "child__school_id", "day")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple[int, int | None, dt.date], int] = defaultdict(int)
    for unit_id, school_id, day, n in rows:
        site = units[unit_id].service.site_id or school_id
        counts[(unit_id, site, day)] += n
    return counts


def _booking_problem(
    req: Request,
    site_id: int | None,
    calendar: SchoolCalendar,
    rules: Rules,
    rolls: set[tuple[int, int, dt.date]],
    existing: dict[tuple[int, int | None, dt.date], Booking],
    now: dt.datetime,
) -> str | None:
    child, service, day = req.child, req.unit.service, req.day
    canteen = service.is_canteen
    if site_id is None:
        return _("%(child)s n'a pas d'école : réservation impossible.") % {
            "child": child.first_name
        }
    reason = calendar.service_closed_reason(service, day)
    if reason:
        if canteen:
            return _("Pas de repas le %(day)s : %(reason)s.") % {"day": _fmt(day), "reason": reason}
        return _("%(service)s fermé le %(day)s : %(reason)s.") % {
            "service": service.name,
            "day": _fmt(day),
            "reason": reason,
        }
    if not canteen:
        problem = eligibility_problem(service, child, day)
        if problem:
            return problem
    if (site_id, service.id, day) in rolls:
        return _("L'appel du %(day)s a été pris : la journée est close.") % {"day": _fmt(day)}
    found = existing.get((child.id, service.id, day))
    if found is not None and found.status != Booking.Status.CANCELLED:
        if canteen:
            return _("Repas déjà réservé pour %(child)s le %(day)s.") % {
                "child": child.first_name,
                "day": _fmt(day),
            }
        return _("%(service)s déjà réservé pour %(child)s le %(day)s.") % {
            "service": service.name,
            "child": child.first_name,
            "day": _fmt(day),
        }
    deadline = deadline_for(day, rules.book, calendar)
    if now >= deadline:
        if canteen:
            return _(
                "Délai dépassé : le repas du %(day)s pouvait être réservé jusqu'au %(deadline)s."
            ) % {"day": _fmt(day), "deadline": format_deadline(deadline)}
        return _(
            "Délai dépassé : %(service)s du %(day)s pouvait être réservé jusqu'au %(deadline)s."
        ) % {"service": service.name, "day": _fmt(day), "deadline": format_deadline(deadline)}
    return None


def booking_create(
    *, child: Child, day: dt.date, actor: User | None = None, now: dt.datetime | None = None
) -> Booking:
    bookings_create(children=[child], days=[day], actor=actor, strict=True, now=now)
    return Booking.objects.get(child=child, day=day, service_id=canteen_service_id())


def bookings_create_pattern(
    *,
    children: Sequence[Child],
    start: dt.date,
    end: dt.date,
    weekdays: Iterable[int],
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Bulk booking by weekday pattern (0 = Monday) over a period: closed, past-deadline and
    already booked days are skipped and reported."""
    if end < start:
        raise ApplicationError(_("La date de fin précède la date de début."))
    weekdays = {int(w) for w in weekdays}
    if not weekdays or not weekdays <= set(range(7)):
        raise ApplicationError(_("Choisissez au moins un jour de la semaine."))
    days = days_between(start, end, weekdays)
    if not days:
        raise ApplicationError(_("Aucun jour de ce type dans la période."))
    return bookings_create(children=children, days=days, actor=actor, strict=False, now=now)


def bookings_create_plan(
    *,
    children: Sequence[Child],
    start: dt.date,
    end: dt.date,
    weekdays: Iterable[int],
    units: Sequence[Unit],
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> BookingResult:
    """One pattern across services: "every Monday and Thursday: canteen + evening care".

    Every (child, unit, day) is checked on its own; what cannot be booked (closed service, past
    deadline, already booked, condition not met) is skipped and reported, a full unit joins the
    waiting list. Nothing is half-written: the whole plan is one transaction.
    """
    if end < start:
        raise ApplicationError(_("La date de fin précède la date de début."))
    weekdays = {int(w) for w in weekdays}
    if not weekdays or not weekdays <= set(range(7)):
        raise ApplicationError(_("Choisissez au moins un jour de la semaine."))
    if not units:
        raise ApplicationError(_("Choisissez au moins un service."))
    if len({u.service_id for u in units}) != len(units):
        raise ApplicationError(_("Une seule unité par service et par jour."))
    days = _validate_days(days_between(start, end, weekdays))
    return requests_book(
        requests=[Request(c, u, d) for c in children for u in units for d in days],
        actor=actor,
        strict=False,
        now=now,
    )


def holiday_week_book(
    *,
    child: Child,
    unit: Unit,
    monday: dt.date,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Book the open days of one week of a holiday centre (a full unit joins the waiting list)."""
    monday = monday_of(monday)
    days = days_between(monday, monday + 4 * DAY)
    return requests_book(
        requests=[Request(child, unit, d) for d in days], actor=actor, strict=False, now=now
    )


def bookings_copy_week(
    *,
    child: Child,
    source_monday: dt.date,
    target_monday: dt.date,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Book in the target week the weekdays booked in the source week (skipping what cannot be)."""
    source_monday, target_monday = monday_of(source_monday), monday_of(target_monday)
    if source_monday == target_monday:
        raise ApplicationError(_("Choisissez une autre semaine que la semaine copiée."))
    source = Booking.objects.filter(
        child=child,
        service__kind=Service.Kind.CANTEEN,
        day__gte=source_monday,
        day__lte=source_monday + dt.timedelta(days=6),
        status=Booking.Status.BOOKED,
    ).values_list("day", flat=True)
    days = [target_monday + dt.timedelta(days=d.weekday()) for d in source]
    if not days:
        raise ApplicationError(_("Aucun repas réservé dans la semaine copiée."))
    return bookings_create(children=[child], days=days, actor=actor, strict=False, now=now)


def bookings_cancel(
    *,
    child: Child,
    days: Sequence[dt.date],
    actor: User | None = None,
    strict: bool = True,
    now: dt.datetime | None = None,
    service: Service | None = None,
) -> BookingResult:
    """Cancel booked (or waiting) days of ``service`` (default: the canteen). ``strict``: a day
    past its cancel deadline (or not booked, or whose roll was taken) refuses everything;
    otherwise it is kept and reported. A seat freed in a full unit goes to the first child of its
    waiting list, in the same transaction."""
    now = now or timezone.now()
    days = _validate_days(days)
    if service is None:
        service = Service.objects.get(pk=canteen_service_id())
    canteen = service.is_canteen
    rules = rules_for_services([service.id])[service.id]
    site_id = service_site_id(service, child)
    site = service.site if service.site_id else child.school
    calendar = SchoolCalendar.load(school=site, start=days[0], end=days[-1])
    rolls = _rolls_taken([site_id] if site_id else [], days, [service.id])
    booked = {
        b.day: b
        for b in Booking.objects.filter(
            child=child,
            service=service,
            day__gte=days[0],
            day__lte=days[-1],
            status__in=[Booking.Status.BOOKED, Booking.Status.WAITING],
        ).select_related("unit")
    }
    result = BookingResult()
    ids = []
    freed = set()
    for day in days:
        booking = booked.get(day)
        if booking is None and not strict:
            continue
        problem = _cancel_problem(
            booking,
            day,
            canteen=canteen,
            rolled=(site_id, service.id, day) in rolls,
            rule=rules.cancel,
            calendar=calendar,
            now=now,
        )
        if problem:
            if strict:
                raise ApplicationError(problem, {"child": child.id, "day": day.isoformat()})
            result.skipped.append((child.id, day, problem))
            continue
        assert booking is not None
        ids.append(booking.id)
        if booking.status == Booking.Status.BOOKED and booking.unit.capacity is not None:
            freed.add((booking.unit, site_id, day))
        result.cancelled.append((child.id, day))
    if ids:
        with transaction.atomic():
            Booking.objects.filter(
                id__in=ids, status__in=[Booking.Status.BOOKED, Booking.Status.WAITING]
            ).update(status=Booking.Status.CANCELLED, cancelled_at=now, updated_at=now)
            audit_record(
                action="canteen.booking.cancel",
                actor=actor,
                actor_kind=_actor_kind(actor),
                target=child,
                household_id=child.household_id,
                data={
                    "days": [d.isoformat() for _c, d in result.cancelled],
                    "service": service.code,
                },
            )
            if freed:
                waitlist_promote(slots=freed, now=now)
    return result


def _cancel_problem(
    booking: Booking | None,
    day: dt.date,
    *,
    canteen: bool,
    rolled: bool,
    rule: Any,
    calendar: SchoolCalendar,
    now: dt.datetime,
) -> str | None:
    """Why this day cannot be cancelled (nothing booked, roll taken, deadline passed), or
    ``None``. A waiting request can always be withdrawn before the roll."""
    if booking is None:
        return (
            _("Aucun repas réservé le %(day)s.") if canteen else _("Rien de réservé le %(day)s.")
        ) % {"day": _fmt(day)}
    if rolled:
        return _("L'appel du %(day)s a été pris : la journée est close.") % {"day": _fmt(day)}
    if booking.status != Booking.Status.BOOKED:
        return None
    deadline = deadline_for(day, rule, calendar)
    if now < deadline:
        return None
    return (
        _("Délai dépassé : le repas du %(day)s pouvait être annulé jusqu'au %(deadline)s.")
        if canteen
        else _("Délai dépassé : le %(day)s pouvait être annulé jusqu'au %(deadline)s.")
    ) % {"day": _fmt(day), "deadline": format_deadline(deadline)}


def waitlist_promote(
    *, slots: set[tuple[Unit, int | None, dt.date]], now: dt.datetime | None = None
) -> list[int]:
    """Give the free seats of each (unit, site, day) to its waiting list, first come first served.

    Called when a booking is cancelled and when staff raise a capacity. Returns the promoted
    booking ids (each gets an audit row).
    """
    from .tasks import booking_promotion_notify_task

    now = now or timezone.now()
    promoted: list[int] = []
    with transaction.atomic():
        left = _seats_left(slots)
        for unit, site_id, day in sorted(slots, key=lambda s: (s[0].id, s[1] or 0, s[2])):
            free = left.get((unit.id, site_id, day), 0)
            if free <= 0:
                continue
            waiting = Booking.objects.filter(unit=unit, day=day, status=Booking.Status.WAITING)
            if not unit.service.site_id and site_id is not None:
                waiting = waiting.filter(child__school_id=site_id)
            chosen = list(waiting.order_by("created_at", "id").values_list("id", "child_id")[:free])
            if not chosen:
                continue
            Booking.objects.filter(
                id__in=[b for b, _c in chosen], status=Booking.Status.WAITING
            ).update(
                status=Booking.Status.BOOKED,
                updated_at=now,
                promoted_at=now,
                promotion_notified_at=None,
            )
            for booking_id, child_id in chosen:
                enqueue(booking_promotion_notify_task, booking_id)
                audit_record(
                    action="canteen.booking.promote",
                    actor=None,
                    actor_kind=ActorKind.SYSTEM,
                    target_type="canteen.booking",
                    target_id=str(booking_id),
                    data={"child": child_id, "day": day.isoformat(), "unit": unit.code},
                )
                promoted.append(booking_id)
    return promoted


def booking_promotion_notify(*, booking_id: int) -> bool:
    """Tell the family that a waiting request got a seat (in the app and by email), once per
    promotion: a second delivery of the task, or a booking cancelled meanwhile, does nothing.
    Stored as keys + parameters, rendered in each reader's language."""
    with transaction.atomic():
        booking = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("child", "child__household", "service", "unit")
            .filter(pk=booking_id)
            .first()
        )
        if (
            booking is None
            or booking.status != Booking.Status.BOOKED
            or booking.promoted_at is None
            or booking.promotion_notified_at is not None
        ):
            return False
        child = booking.child
        params = {
            "child": child.first_name,
            "service": booking.service.name,
            "unit": booking.unit.name,
            "day": _fmt(booking.day),
        }
        subject_key = gettext_noop("Place libérée : %(service)s le %(day)s pour %(child)s")
        body_key = gettext_noop(
            "Une place s'est libérée : la demande %(de_child)s en liste d'attente pour "
            "%(service)s (%(unit)s) le %(day)s est maintenant réservée. Si vous n'en avez plus "
            "besoin, annulez-la avant le délai d'annulation."
        )
        notify_guardians(
            household=child.household,
            child=child,
            subject=render_text(subject_key, params),
            body=render_text(body_key, params),
            url=reverse(
                "canteen:services-calendar", args=[child.id, booking.day.year, booking.day.month]
            ),
            subject_key=subject_key,
            body_key=body_key,
            params=params,
            category=NotificationCategory.CANTEEN,
        )
        booking.promotion_notified_at = timezone.now()
        booking.save(update_fields=["promotion_notified_at"])
    return True


def booking_cancel(
    *, child: Child, day: dt.date, actor: User | None = None, now: dt.datetime | None = None
) -> BookingResult:
    return bookings_cancel(child=child, days=[day], actor=actor, strict=True, now=now)


def bookings_cancel_range(
    *,
    child: Child,
    start: dt.date,
    end: dt.date,
    actor: User | None = None,
    now: dt.datetime | None = None,
) -> BookingResult:
    if end < start:
        raise ApplicationError(_("La date de fin précède la date de début."))
    return bookings_cancel(
        child=child, days=days_between(start, end), actor=actor, strict=False, now=now
    )


# --- attendance ----------------------------------------------------------------------------------
def roll_day_check(*, school: School, day: dt.date, now: dt.datetime | None = None) -> None:
    """A roll is taken on a past or present school day of this school (never a Saturday, a
    holiday or a day off); raises ``ApplicationError`` otherwise."""
    now = now or timezone.now()
    if day > timezone.localdate(now):
        raise ApplicationError(_("L'appel ne peut pas être pris pour un jour futur."))
    closed = SchoolCalendar.load(school=school, start=day, end=day).closed_reason(day)
    if closed:
        raise ApplicationError(
            _("Pas d'appel le %(day)s : ce n'est pas un jour de cantine (%(reason)s).")
            % {"day": day.strftime("%d/%m/%Y"), "reason": closed}
        )


def roll_take(
    *,
    school: School,
    day: dt.date,
    statuses: dict[int, str],
    actor: User | None = None,
    now: dt.datetime | None = None,
    service: Service | None = None,
) -> AttendanceRoll:
    """Record the roll of ``service`` (default: the canteen) at site ``school`` on ``day`` and
    lock the day for billing.

    Every booked child must be marked (present or absent); unbooked children marked present are
    recorded as "present without booking". A roll is taken once. Each record freezes the sibling
    rank and residency of that day, which price it from then on.
    """
    now = now or timezone.now()
    if service is None:
        service = Service.objects.get(pk=canteen_service_id())
    _roll_request_check(service=service, school=school, day=day, statuses=statuses, now=now)
    booked_qs = Booking.objects.filter(service=service, day=day, status=Booking.Status.BOOKED)
    if not service.site_id:
        booked_qs = booked_qs.filter(child__school=school)
    booked = {b.child_id: b for b in booked_qs.select_related("unit")}
    children = {
        c.id: c
        for c in Child.objects.filter(
            Q(school=school) | Q(id__in=list(booked)), id__in=list(statuses)
        ).select_related("household")
    }
    foreign = set(statuses) - set(children)
    if foreign:
        raise ApplicationError(
            _("Ces enfants ne sont pas inscrits dans cette école."), {"children": sorted(foreign)}
        )
    default_unit = (
        Unit.objects.filter(service=service).order_by("position", "id").first()
        if len(booked) < len(statuses)
        else None
    )
    missing = set(booked) - set(statuses)
    if missing:
        raise ApplicationError(
            _("Indiquez la présence de chaque enfant inscrit : %(n)s sans réponse.")
            % {"n": len(missing)},
            {"children": sorted(missing)},
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                roll = AttendanceRoll.objects.create(
                    school=school, service=service, day=day, taken_by=actor, taken_at=now
                )
        except IntegrityError:
            raise ApplicationError(_("L'appel de ce jour a déjà été pris."), {"code": "roll_taken"})
        plans: dict[int, list] = defaultdict(list)
        for plan in CarePlan.objects.filter(
            child_id__in=list(children), valid_from__lte=day, valid_until__gte=day
        ):
            plans[plan.child_id].append(plan)
        ranks = sibling_ranks(household_sibling_rows({c.household_id for c in children.values()}))
        records = []
        for child_id, asked in statuses.items():
            booking = booked.get(child_id)
            status = _record_status(booking, asked)
            if status is None:
                continue  # not booked, not there: nothing to record
            child = children[child_id]
            unit = booking.unit if booking else default_unit
            if unit is None:
                raise ApplicationError(_("Ce service n'a aucune unité."))
            variant = (
                booking.variant if booking else _unbooked_variant(child, unit, plans[child_id], day)
            )
            records.append(
                AttendanceRecord(
                    roll=roll,
                    child_id=child_id,
                    service=service,
                    unit=unit,
                    day=day,
                    status=status,
                    booking=booking,
                    variant=variant,
                    price_rank=ranks.get(child_id, 1),
                    price_resident=child.household.is_resident,
                )
            )
        AttendanceRecord.objects.bulk_create(records)
        audit_record(
            action="canteen.roll.take",
            actor=actor,
            actor_kind=ActorKind.PERSON if actor else ActorKind.SYSTEM,
            target=roll,
            data={
                "school": school.id,
                "service": service.code,
                "day": day.isoformat(),
                "records": len(records),
            },
        )
    return roll


def _roll_request_check(
    *,
    service: Service,
    school: School,
    day: dt.date,
    statuses: dict[int, str],
    now: dt.datetime,
) -> None:
    """The service is held at this site, the day can be rolled, every status is known."""
    if service.site_id and service.site_id != school.id:
        raise ApplicationError(_("Ce service n'est pas accueilli dans cette école."))
    if service.kind == Service.Kind.CANTEEN:
        roll_day_check(school=school, day=day, now=now)  # never a Saturday, holiday or day off
    elif day > timezone.localdate(now):
        raise ApplicationError(_("L'appel ne peut pas être pris pour un jour futur."))
    valid = set(AttendanceRecord.Status.values)
    bad = {k: v for k, v in statuses.items() if v not in valid}
    if bad:
        raise ApplicationError(
            _("Présence inconnue : %(v)s.") % {"v": ", ".join(sorted(set(bad.values())))}
        )


def _record_status(booking: Booking | None, status: str) -> str | None:
    """The status recorded for a child marked ``status``: an unbooked child present is "present
    without booking", an unbooked child absent is not recorded (``None``)."""
    if booking is None:
        if status in (
            AttendanceRecord.Status.ABSENT_JUSTIFIED,
            AttendanceRecord.Status.ABSENT_UNJUSTIFIED,
        ):
            return None
        return AttendanceRecord.Status.PRESENT_UNBOOKED
    if status == AttendanceRecord.Status.PRESENT_UNBOOKED:
        return AttendanceRecord.Status.PRESENT
    return status


def _unbooked_variant(child: Child, unit: Unit, plans: list, day: dt.date) -> str:
    if not unit.includes_meal:
        return Variant.STANDARD
    return child_variant(diet=child.diet, packed_lunch_pai=active_packed_lunch(plans, day))


# --- menus ---------------------------------------------------------------------------------------
def _clean_allergens(allergens: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for code, presence in (allergens or {}).items():
        if code not in Allergen.values:
            raise ApplicationError(_("Allergène inconnu : %(c)s.") % {"c": code})
        if presence not in AllergenPresence.values:
            raise ApplicationError(_("Valeur d'allergène inconnue : %(v)s.") % {"v": presence})
        if presence != AllergenPresence.UNKNOWN:  # unknown is stored as absence
            cleaned[code] = presence
    return cleaned


def menu_save(
    *,
    school: School | None,
    day: dt.date,
    dishes: list[dict],
    publish: bool = False,
    note: str = "",
    actor: User | None = None,
) -> Menu:
    """Create or replace the menu of a day. ``dishes``: [{course, variant, name, allergens}]."""
    seen = set()
    for dish in dishes:
        if dish.get("course") not in Dish.Course.values:
            raise ApplicationError(_("Service inconnu : %(c)s.") % {"c": dish.get("course")})
        variant = dish.get("variant") or Variant.STANDARD
        if variant not in Variant.values or variant == Variant.PACKED_LUNCH:
            raise ApplicationError(_("Variante inconnue : %(v)s.") % {"v": variant})
        if not (dish.get("name") or "").strip():
            raise ApplicationError(_("Chaque plat doit avoir un nom."))
        key = (dish["course"], variant)
        if key in seen:
            raise ApplicationError(_("Un seul plat par service et par variante."))
        seen.add(key)
    if day.weekday() >= 5:
        raise ApplicationError(_("Pas de menu le week-end."))
    with transaction.atomic():
        menu, _created = Menu.objects.select_for_update().get_or_create(school=school, day=day)
        menu.dishes.all().delete()
        Dish.objects.bulk_create(
            [
                Dish(
                    menu=menu,
                    course=d["course"],
                    variant=d.get("variant") or Variant.STANDARD,
                    name=d["name"].strip()[:200],
                    allergens=_clean_allergens(d.get("allergens") or {}),
                )
                for d in dishes
            ]
        )
        menu.note = note[:255]
        if publish and not menu.published:
            menu.published, menu.published_at = True, timezone.now()
        menu.save()
        audit_record(
            action="canteen.menu.save", actor=actor, target=menu, data={"dishes": len(dishes)}
        )
    return menu


def menu_publish(*, menu: Menu, actor: User | None = None) -> Menu:
    with transaction.atomic():
        Menu.objects.filter(pk=menu.pk, published=False).update(
            published=True, published_at=timezone.now()
        )
        audit_record(action="canteen.menu.publish", actor=actor, target=menu)
        shared.bump("menus")  # update() sends no post_save
    menu.refresh_from_db()
    return menu


def menus_publish_week(*, school: School | None, monday: dt.date, actor: User | None = None) -> int:
    """Publish every unpublished menu of a school's (or the city's) week at once: all or none."""
    monday = monday_of(monday)
    with transaction.atomic():
        menus = list(
            Menu.objects.select_for_update()
            .filter(school=school, day__gte=monday, day__lte=monday + 4 * DAY, published=False)
            .order_by("day")
        )
        for menu in menus:
            menu_publish(menu=menu, actor=actor)
    return len(menus)


def menus_copy_week(
    *,
    school: School | None,
    source_monday: dt.date,
    target_monday: dt.date,
    actor: User | None = None,
) -> list[Menu]:
    """Copy a week's menus (dishes and allergens, unpublished) onto another week, day by day."""
    source_monday, target_monday = monday_of(source_monday), monday_of(target_monday)
    if source_monday == target_monday:
        raise ApplicationError(_("Choisissez une autre semaine que la semaine copiée."))
    source = list(
        Menu.objects.filter(
            school=school, day__gte=source_monday, day__lte=source_monday + 4 * DAY
        ).prefetch_related("dishes")
    )
    if not source:
        raise ApplicationError(_("Aucun menu dans la semaine copiée."))
    copied = []
    with transaction.atomic():
        for menu in source:
            target_day = target_monday + dt.timedelta(days=menu.day.weekday())
            target, _created = Menu.objects.select_for_update().get_or_create(
                school=school, day=target_day
            )
            target.dishes.all().delete()
            Dish.objects.bulk_create(
                [
                    Dish(
                        menu=target,
                        course=d.course,
                        variant=d.variant,
                        name=d.name,
                        allergens=dict(d.allergens),
                    )
                    for d in menu.dishes.all()
                ]
            )
            target.note = menu.note
            target.published, target.published_at = False, None
            target.save()
            copied.append(target)
        audit_record(
            action="canteen.menu.copy_week",
            actor=actor,
            target_type="canteen.menu",
            data={
                "school": school.id if school else None,
                "from": source_monday.isoformat(),
                "to": target_monday.isoformat(),
            },
        )
    return copied


def staff_read_record(
    *,
    user: User | AnonymousUser | None,
    action: str,
    target: models.Model | None = None,
    household_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Staff reads of children's records (calendar, roll, kitchen list) are audited; parents' are not."""
    if user is None or is_parent(user):
        return
    audit_record(
        action=action,
        actor=user,  # type: ignore[arg-type]  # staff-only views: never AnonymousUser here
        actor_kind=ActorKind.STAFF_FOR_FAMILY if household_id else ActorKind.PERSON,
        target=target,
        household_id=household_id,
        data=data or {},
    )


def bookings_freeze_prices(*, day: dt.date) -> int:
    """Freeze the sibling rank and residency of ``day``'s bookings as they stand that day.

    Run early each morning (Celery beat), so a booking made weeks ahead is priced with the facts
    of its service day; the roll freezes them again on its records. Idempotent. Returns the number
    of bookings updated (a constant number of queries per distinct (rank, residency) pair).
    """
    rows = list(
        Booking.objects.filter(day=day, status=Booking.Status.BOOKED).values_list(
            "id", "child_id", "child__household_id", "child__household__is_resident"
        )
    )
    if not rows:
        return 0
    ranks = sibling_ranks(household_sibling_rows({household for _b, _c, household, _r in rows}))
    groups: dict[tuple[int, bool], list[int]] = defaultdict(list)
    for booking_id, child_id, _household, resident in rows:
        groups[(ranks.get(child_id, 1), bool(resident))].append(booking_id)
    with transaction.atomic():
        for (rank, resident), ids in groups.items():
            Booking.objects.filter(id__in=ids).update(price_rank=rank, price_resident=resident)
    return len(rows)
