"""Everything that writes canteen data: bookings, cancellations, rolls and menus."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from backend.core.access import is_parent
from backend.core.allergens import Allergen
from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind
from backend.core.services import audit_record
from family.models import CarePlan, Child, School

from . import shared
from .deadlines import (
    DAY,
    Rules,
    SchoolCalendar,
    days_between,
    deadline_for,
    deadline_rules,
    format_deadline,
    monday_of,
)
from .models import AllergenPresence, AttendanceRecord, AttendanceRoll, Booking, Dish, Menu, Variant
from .safety import active_packed_lunch, child_variant

MAX_BULK_DAYS = 400


def _fmt(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def booking_block_reason(*, household) -> str | None:
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


def _actor_kind(actor) -> str:
    if actor is None:
        return ActorKind.SYSTEM
    return ActorKind.PERSON if is_parent(actor) else ActorKind.STAFF_FOR_FAMILY


@dataclass
class BookingResult:
    booked: list[tuple[int, dt.date]] = field(default_factory=list)
    cancelled: list[tuple[int, dt.date]] = field(default_factory=list)
    skipped: list[tuple[int, dt.date, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "booked": [{"child": c, "day": d.isoformat()} for c, d in self.booked],
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


def _rolls_taken(school_ids: Iterable[int], days: Sequence[dt.date]) -> set[tuple[int, dt.date]]:
    return set(
        AttendanceRoll.objects.filter(
            school_id__in=set(school_ids), day__gte=days[0], day__lte=days[-1]
        ).values_list("school_id", "day")
    )


def bookings_create(
    *,
    children: Sequence[Child],
    days: Sequence[dt.date],
    actor=None,
    strict: bool = True,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Book ``days`` for each child.

    ``strict``: any day that cannot be booked (closed, past its deadline, already booked, roll
    taken) refuses the whole request with a message and nothing is written. Otherwise such days are
    skipped and reported (bulk booking by weekday pattern over a term skips the holidays).
    """
    now = now or timezone.now()
    days = _validate_days(days)
    if not children:
        raise ApplicationError(_("Aucun enfant choisi."))
    households = {c.household_id: c.household for c in children}
    for household in households.values():
        reason = booking_block_reason(household=household)
        if reason:
            raise ApplicationError(reason, {"code": "booking_blocked"})

    rules = deadline_rules()
    calendars: dict[int | None, SchoolCalendar] = {}
    for child in children:
        if child.school_id not in calendars:
            calendars[child.school_id] = SchoolCalendar.load(
                school=child.school, start=days[0], end=days[-1]
            )
    plans: dict[int, list] = defaultdict(list)
    for plan in CarePlan.objects.filter(
        child__in=children, valid_until__gte=days[0], valid_from__lte=days[-1]
    ):
        plans[plan.child_id].append(plan)
    rolls = _rolls_taken([c.school_id for c in children if c.school_id], days)
    existing = {
        (b.child_id, b.day): b
        for b in Booking.objects.filter(
            child__in=children, day__gte=days[0], day__lte=days[-1]
        ).only("id", "child_id", "day", "status")
    }

    result = BookingResult()
    to_insert: list[Booking] = []
    to_revive: dict[str, list[int]] = defaultdict(list)
    for child in children:
        calendar = calendars[child.school_id]
        for day in days:
            problem = _booking_problem(child, day, calendar, rules, rolls, existing, now)
            if problem:
                if strict:
                    raise ApplicationError(problem, {"child": child.id, "day": day.isoformat()})
                result.skipped.append((child.id, day, problem))
                continue
            variant = child_variant(
                diet=child.diet, packed_lunch_pai=active_packed_lunch(plans[child.id], day)
            )
            found = existing.get((child.id, day))
            if found is not None:
                to_revive[variant].append(found.id)
            else:
                to_insert.append(
                    Booking(child=child, day=day, variant=variant, booked_by=actor, created_at=now)
                )
            result.booked.append((child.id, day))

    if not result.booked:
        return result
    with transaction.atomic():
        if strict and len(to_insert) == 1 and not to_revive:
            try:
                with transaction.atomic():
                    to_insert[0].save(force_insert=True)
            except IntegrityError:
                raise ApplicationError(
                    _("Ce repas est déjà réservé (%(day)s).") % {"day": _fmt(to_insert[0].day)},
                    {"code": "already_booked"},
                )
        elif to_insert:
            # A concurrent request that inserted the same (child, day) wins; one booking either way.
            Booking.objects.bulk_create(to_insert, ignore_conflicts=True, batch_size=1000)
        for variant, ids in to_revive.items():
            Booking.objects.filter(id__in=ids, status=Booking.Status.CANCELLED).update(
                status=Booking.Status.BOOKED,
                variant=variant,
                booked_by=actor,
                cancelled_at=None,
                updated_at=now,
            )
        by_child: dict[int, list[str]] = defaultdict(list)
        for child_id, day in result.booked:
            by_child[child_id].append(day.isoformat())
        child_map = {c.id: c for c in children}
        for child_id, booked_days in by_child.items():
            audit_record(
                action="canteen.booking.create",
                actor=actor,
                actor_kind=_actor_kind(actor),
                target=child_map[child_id],
                household_id=child_map[child_id].household_id,
                data={"days": booked_days},
            )
    return result


def _booking_problem(child, day, calendar, rules: Rules, rolls, existing, now) -> str | None:
    if child.school_id is None:
        return _("%(child)s n'a pas d'école : réservation impossible.") % {
            "child": child.first_name
        }
    reason = calendar.closed_reason(day)
    if reason:
        return _("Pas de repas le %(day)s : %(reason)s.") % {"day": _fmt(day), "reason": reason}
    if (child.school_id, day) in rolls:
        return _("L'appel du %(day)s a été pris : la journée est close.") % {"day": _fmt(day)}
    found = existing.get((child.id, day))
    if found is not None and found.status == Booking.Status.BOOKED:
        return _("Repas déjà réservé pour %(child)s le %(day)s.") % {
            "child": child.first_name,
            "day": _fmt(day),
        }
    deadline = deadline_for(day, rules.book, calendar)
    if now >= deadline:
        return _(
            "Délai dépassé : le repas du %(day)s pouvait être réservé jusqu'au %(deadline)s."
        ) % {
            "day": _fmt(day),
            "deadline": format_deadline(deadline),
        }
    return None


def booking_create(
    *, child: Child, day: dt.date, actor=None, now: dt.datetime | None = None
) -> Booking:
    bookings_create(children=[child], days=[day], actor=actor, strict=True, now=now)
    return Booking.objects.get(child=child, day=day)


def bookings_create_pattern(
    *,
    children: Sequence[Child],
    start: dt.date,
    end: dt.date,
    weekdays: Iterable[int],
    actor=None,
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


def bookings_copy_week(
    *,
    child: Child,
    source_monday: dt.date,
    target_monday: dt.date,
    actor=None,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Book in the target week the weekdays booked in the source week (skipping what cannot be)."""
    source_monday, target_monday = monday_of(source_monday), monday_of(target_monday)
    if source_monday == target_monday:
        raise ApplicationError(_("Choisissez une autre semaine que la semaine copiée."))
    source = Booking.objects.filter(
        child=child,
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
    actor=None,
    strict: bool = True,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Cancel booked meals. ``strict``: a day past its cancel deadline (or not booked, or whose roll
    was taken) refuses everything; otherwise it is kept and reported."""
    now = now or timezone.now()
    days = _validate_days(days)
    rules = deadline_rules()
    calendar = SchoolCalendar.load(school=child.school, start=days[0], end=days[-1])
    rolls = _rolls_taken([child.school_id] if child.school_id else [], days)
    booked = {
        b.day: b
        for b in Booking.objects.filter(
            child=child, day__gte=days[0], day__lte=days[-1], status=Booking.Status.BOOKED
        )
    }
    result = BookingResult()
    ids = []
    for day in days:
        booking = booked.get(day)
        problem = None
        if booking is None:
            if strict:
                problem = _("Aucun repas réservé le %(day)s.") % {"day": _fmt(day)}
            else:
                continue
        elif (child.school_id, day) in rolls:
            problem = _("L'appel du %(day)s a été pris : la journée est close.") % {
                "day": _fmt(day)
            }
        else:
            deadline = deadline_for(day, rules.cancel, calendar)
            if now >= deadline:
                problem = _(
                    "Délai dépassé : le repas du %(day)s pouvait être annulé jusqu'au %(deadline)s."
                ) % {
                    "day": _fmt(day),
                    "deadline": format_deadline(deadline),
                }
        if problem:
            if strict:
                raise ApplicationError(problem, {"child": child.id, "day": day.isoformat()})
            result.skipped.append((child.id, day, problem))
            continue
        assert booking is not None  # noqa: S101 - no problem means the booking exists
        ids.append(booking.id)
        result.cancelled.append((child.id, day))
    if ids:
        with transaction.atomic():
            Booking.objects.filter(id__in=ids, status=Booking.Status.BOOKED).update(
                status=Booking.Status.CANCELLED, cancelled_at=now, updated_at=now
            )
            audit_record(
                action="canteen.booking.cancel",
                actor=actor,
                actor_kind=_actor_kind(actor),
                target=child,
                household_id=child.household_id,
                data={"days": [d.isoformat() for _c, d in result.cancelled]},
            )
    return result


def booking_cancel(
    *, child: Child, day: dt.date, actor=None, now: dt.datetime | None = None
) -> BookingResult:
    return bookings_cancel(child=child, days=[day], actor=actor, strict=True, now=now)


def bookings_cancel_range(
    *, child: Child, start: dt.date, end: dt.date, actor=None, now: dt.datetime | None = None
) -> BookingResult:
    if end < start:
        raise ApplicationError(_("La date de fin précède la date de début."))
    return bookings_cancel(
        child=child, days=days_between(start, end), actor=actor, strict=False, now=now
    )


# --- attendance ----------------------------------------------------------------------------------
def roll_take(
    *,
    school: School,
    day: dt.date,
    statuses: dict[int, str],
    actor=None,
    now: dt.datetime | None = None,
) -> AttendanceRoll:
    """Record the canteen roll of ``school`` on ``day`` and lock the day for billing.

    Every booked child must be marked (present or absent); unbooked children marked present are
    recorded as "present without booking". A roll is taken once.
    """
    now = now or timezone.now()
    if day > timezone.localdate(now):
        raise ApplicationError(_("L'appel ne peut pas être pris pour un jour futur."))
    valid = set(AttendanceRecord.Status.values)
    bad = {k: v for k, v in statuses.items() if v not in valid}
    if bad:
        raise ApplicationError(
            _("Présence inconnue : %(v)s.") % {"v": ", ".join(sorted(set(bad.values())))}
        )
    children = {c.id: c for c in Child.objects.filter(school=school, id__in=list(statuses))}
    foreign = set(statuses) - set(children)
    if foreign:
        raise ApplicationError(
            _("Ces enfants ne sont pas inscrits dans cette école."), {"children": sorted(foreign)}
        )
    booked = {
        b.child_id: b
        for b in Booking.objects.filter(child__school=school, day=day, status=Booking.Status.BOOKED)
    }
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
                    school=school, day=day, taken_by=actor, taken_at=now
                )
        except IntegrityError:
            raise ApplicationError(_("L'appel de ce jour a déjà été pris."), {"code": "roll_taken"})
        plans: dict[int, list] = defaultdict(list)
        for plan in CarePlan.objects.filter(
            child_id__in=list(children), valid_from__lte=day, valid_until__gte=day
        ):
            plans[plan.child_id].append(plan)
        records = []
        for child_id, status in statuses.items():
            booking = booked.get(child_id)
            if booking is None:
                if status in (
                    AttendanceRecord.Status.ABSENT_JUSTIFIED,
                    AttendanceRecord.Status.ABSENT_UNJUSTIFIED,
                ):
                    continue  # not booked, not there: nothing to record
                status = AttendanceRecord.Status.PRESENT_UNBOOKED
            elif status == AttendanceRecord.Status.PRESENT_UNBOOKED:
                status = AttendanceRecord.Status.PRESENT
            child = children[child_id]
            variant = (
                booking.variant
                if booking
                else child_variant(
                    diet=child.diet, packed_lunch_pai=active_packed_lunch(plans[child_id], day)
                )
            )
            records.append(
                AttendanceRecord(
                    roll=roll,
                    child_id=child_id,
                    day=day,
                    status=status,
                    booking=booking,
                    variant=variant,
                )
            )
        AttendanceRecord.objects.bulk_create(records)
        audit_record(
            action="canteen.roll.take",
            actor=actor,
            actor_kind=ActorKind.PERSON if actor else ActorKind.SYSTEM,
            target=roll,
            data={"school": school.id, "day": day.isoformat(), "records": len(records)},
        )
    return roll


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
    actor=None,
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


def menu_publish(*, menu: Menu, actor=None) -> Menu:
    with transaction.atomic():
        Menu.objects.filter(pk=menu.pk, published=False).update(
            published=True, published_at=timezone.now()
        )
        audit_record(action="canteen.menu.publish", actor=actor, target=menu)
        shared.bump("menus")  # update() sends no post_save
    menu.refresh_from_db()
    return menu


def menus_publish_week(*, school: School | None, monday: dt.date, actor=None) -> int:
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
    *, school: School | None, source_monday: dt.date, target_monday: dt.date, actor=None
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
    *, user, action: str, target=None, household_id: int | None = None, data=None
) -> None:
    """Staff reads of children's records (calendar, roll, kitchen list) are audited; parents' are not."""
    if user is None or is_parent(user):
        return
    audit_record(
        action=action,
        actor=user,
        actor_kind=ActorKind.STAFF_FOR_FAMILY if household_id else ActorKind.PERSON,
        target=target,
        household_id=household_id,
        data=data or {},
    )
