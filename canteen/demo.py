"""Canteen demo data: a tariff grid, three weeks of city-wide menus with allergens (one day with
unknown allergen data, one with peanuts), bookings for the Martin children and last week's rolls.
Idempotent: running it again changes nothing."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from backend.core.allergens import ALLERGEN_CODES
from family.models import Child

from .deadlines import SchoolCalendar, monday_of
from .models import (
    AttendanceRecord,
    AttendanceRoll,
    Booking,
    Dish,
    Menu,
    Service,
    Tariff,
    TariffLine,
    Unit,
    Variant,
    canteen_service_id,
    canteen_unit_id,
)
from .safety import child_variant

F, C, M = "free", "contains", "may_contain"

# bracket -> prices in cents for the 1st, 2nd, 3rd+ child (residents); non-residents +100
GRID = {
    None: (367, 367, 367),
    1: (183, 165, 150),
    2: (215, 195, 180),
    3: (265, 245, 230),
    4: (315, 295, 280),
    5: (367, 347, 330),
}


def _a(**overrides) -> dict:
    data = dict.fromkeys(ALLERGEN_CODES, F)
    data.update(overrides)
    return data


MENUS = [
    [
        ("starter", "standard", "Carottes râpées vinaigrette", _a(mustard=C)),
        ("main", "standard", "Poulet rôti", _a()),
        ("main", "vegetarian", "Galette de lentilles", _a(gluten=C)),
        ("side", "standard", "Haricots verts", _a()),
        ("dairy", "standard", "Yaourt nature", _a(milk=C)),
        ("dessert", "standard", "Pomme", _a()),
    ],
    [
        ("starter", "standard", "Salade de riz", _a(eggs=M)),
        ("main", "standard", "Poisson pané", _a(fish=C, gluten=C, eggs=C)),
        ("main", "vegetarian", "Omelette aux herbes", _a(eggs=C)),
        ("side", "standard", "Purée", _a(milk=C)),
        ("dessert", "standard", "Cookie aux cacahuètes", _a(peanuts=C, gluten=C, nuts=M, milk=C)),
    ],
    [
        ("starter", "standard", "Velouté de potiron", _a(milk=C, celery=C)),
        ("main", "standard", "Spaghetti bolognaise", _a(gluten=C, celery=M)),
        ("main", "vegetarian", "Spaghetti sauce tomate", _a(gluten=C)),
        ("dairy", "standard", "Emmental", _a(milk=C)),
        ("dessert", "standard", "Compote", _a()),
    ],
    [
        ("starter", "standard", "Betteraves", _a()),
        ("main", "standard", "Sauté de porc au caramel", _a(soybeans=C, sesame=M)),
        ("main", "no_pork", "Sauté de dinde au caramel", _a(soybeans=C, sesame=M)),
        ("main", "vegetarian", "Tofu au caramel", _a(soybeans=C, sesame=M)),
        ("side", "standard", "Riz", _a()),
        ("dessert", "standard", "Gâteau du chef", {"gluten": C, "eggs": C, "milk": C}),
    ],  # other allergens unknown
    [
        ("starter", "standard", "Concombres à la crème", _a(milk=C)),
        ("main", "standard", "Colin sauce citron", _a(fish=C, milk=M)),
        ("main", "vegetarian", "Quiche aux légumes", _a(gluten=C, eggs=C, milk=C)),
        ("side", "standard", "Boulgour", _a(gluten=C)),
        ("dessert", "standard", "Banane", _a()),
    ],
]


def _tariff(today: dt.date) -> Tariff:
    start_year = today.year if today.month >= 8 else today.year - 1
    tariff, created = Tariff.objects.get_or_create(
        name=f"Tarifs {start_year}-{start_year + 1}",
        defaults={
            "valid_from": dt.date(start_year, 8, 1),
            "valid_until": dt.date(start_year + 1, 8, 31),
            "packed_lunch_cents": 64,
            "unbooked_surcharge_cents": 150,
        },
    )
    if created:
        TariffLine.objects.bulk_create(
            [
                TariffLine(
                    tariff=tariff,
                    bracket=bracket,
                    sibling_rank=rank,
                    resident=resident,
                    amount_cents=cents + (0 if resident else 100),
                )
                for bracket, prices in GRID.items()
                for rank, cents in enumerate(prices, start=1)
                for resident in (True, False)
            ]
        )
    return tariff


@transaction.atomic
def seed(*, progress) -> None:
    from . import shared

    today = timezone.localdate()
    _tariff(today)
    _services(today)
    monday = monday_of(today)
    calendar = SchoolCalendar.load(
        school=None, start=monday - dt.timedelta(days=7), end=monday + dt.timedelta(days=21)
    )
    _seed_menus(progress=progress, monday=monday, calendar=calendar)
    martin = list(
        Child.objects.filter(household__guardians__user__email="parent@example.org").select_related(
            "school"
        )
    )
    if not martin:
        return
    _book_martins(martin, monday)
    _evening_care_bookings(martin, monday)
    if martin[0].school is None:
        return
    _seed_rolls(martin, monday=monday, calendar=calendar)
    for topic in shared.TOPICS:  # lines and dishes were bulk-created (no post_save)
        shared.bump(topic)


def _seed_menus(*, progress, monday: dt.date, calendar: SchoolCalendar) -> None:
    """City-wide published menus from last week to two weeks ahead (school days only)."""
    for i in progress("canteen menus", range(-5, 15)):
        day = monday + dt.timedelta(days=(i // 5) * 7 + i % 5)
        if calendar.closed_reason(day):
            continue
        menu, created = Menu.objects.get_or_create(
            school=None, day=day, defaults={"published": True, "published_at": timezone.now()}
        )
        if created:
            Dish.objects.bulk_create(
                [
                    Dish(menu=menu, course=c, variant=v, name=n, allergens=a)
                    for c, v, n, a in MENUS[day.weekday()]
                ]
            )


def _book_martins(martin: list[Child], monday: dt.date) -> None:
    """The Martin children are booked this week and on next week's Monday to Wednesday (Tuesday
    has the peanut cookie: Léa's warning), and last week; the rest of the month is left for the
    demo."""
    days = [monday + dt.timedelta(days=i) for i in range(5)] + [
        monday + dt.timedelta(days=7 + i) for i in range(3)
    ]
    days += [monday - dt.timedelta(days=7 - i) for i in range(5)]
    rows = []
    service_id, unit_id = canteen_service_id(), canteen_unit_id()
    for child in martin:
        school_calendar = SchoolCalendar.load(
            school=child.school, start=days[-5], end=days[-1] + dt.timedelta(days=14)
        )
        variant = child_variant(diet=child.diet, packed_lunch_pai=False)
        rows += [
            Booking(child=child, service_id=service_id, unit_id=unit_id, day=day, variant=variant)
            for day in days
            if not school_calendar.closed_reason(day)
        ]
    Booking.objects.bulk_create(rows, ignore_conflicts=True)


def _seed_rolls(martin: list[Child], *, monday: dt.date, calendar: SchoolCalendar) -> None:
    """Last week's rolls at the Martins' school: present, one justified absence."""
    school = martin[0].school
    assert school is not None  # checked by the caller
    for day in [monday - dt.timedelta(days=7 - i) for i in range(5)]:
        if (
            calendar.closed_reason(day)
            or AttendanceRoll.objects.filter(school=school, day=day).exists()
        ):
            continue
        roll = AttendanceRoll.objects.create(school=school, day=day, taken_at=timezone.now())
        for child in martin:
            booking = Booking.objects.filter(
                child=child, day=day, status=Booking.Status.BOOKED
            ).first()
            if booking is None:
                continue
            status = (
                AttendanceRecord.Status.ABSENT_JUSTIFIED
                if day.weekday() == 2 and child.diet == Variant.VEGETARIAN
                else AttendanceRecord.Status.PRESENT
            )
            AttendanceRecord.objects.create(
                roll=roll,
                child=child,
                day=day,
                status=status,
                booking=booking,
                variant=booking.variant,
            )


# --- daily services: morning and evening care at the demo schools, a holiday centre ------------
# (code, name, kind, weekdays, site index or None, [(unit code, name, kind, capacity, meal)],
#  bracket 1..5 prices of the 1st child, deadline (days before, cut-off hour) or None)
SERVICES = [
    (
        "GARD-MATIN",
        "Accueil du matin",
        Service.Kind.MORNING_CARE,
        [0, 1, 3, 4],
        None,
        [("MATIN", "Matin 7 h 30 – 8 h 30", Unit.Kind.MORNING, 40, False)],
        (60, 80, 100, 120, 140),
        (1, 18),
    ),
    (
        "GARD-SOIR",
        "Accueil du soir",
        Service.Kind.EVENING_CARE,
        [0, 1, 3, 4],
        None,
        [("SOIR", "Soir 16 h 30 – 18 h 30", Unit.Kind.EVENING, 40, False)],
        (90, 120, 150, 180, 210),
        (0, 12),
    ),
    (
        "ALSH-VAC",
        "Centre de loisirs des vacances",
        Service.Kind.HOLIDAY_CENTRE,
        [0, 1, 2, 3, 4],
        1,
        [
            ("JOUR-REPAS", "Journée avec repas", Unit.Kind.FULL_DAY, 24, True),
            ("MATIN-REPAS", "Matinée avec repas", Unit.Kind.HALF_DAY_MEAL, 12, True),
        ],
        (500, 700, 900, 1100, 1300),
        (5, 12),
    ),
]


def _services(today: dt.date) -> None:
    from family.models import School

    from .models import DeadlineRule

    schools = list(School.objects.order_by("code")[:2])
    if len(schools) < 2:
        return
    start_year = today.year if today.month >= 8 else today.year - 1
    for code, name, kind, weekdays, site, units, prices, deadline in SERVICES:
        service, created = Service.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "weekdays": weekdays,
                "site": schools[site] if site is not None else None,
                "position": len(code),
            },
        )
        if not created:
            continue
        service.schools.set(schools)
        made = [
            Unit.objects.create(
                service=service,
                code=u_code,
                name=u_name,
                kind=u_kind,
                capacity=capacity,
                includes_meal=meal,
                position=i,
            )
            for i, (u_code, u_name, u_kind, capacity, meal) in enumerate(units)
        ]
        if deadline:
            for action in (DeadlineRule.Action.BOOK, DeadlineRule.Action.CANCEL):
                DeadlineRule.objects.create(
                    service=service,
                    action=action,
                    days_before=deadline[0],
                    cutoff_time=dt.time(deadline[1], 0),
                )
        tariff = Tariff.objects.create(
            service=service,
            name=f"{name} {start_year}-{start_year + 1}",
            valid_from=dt.date(start_year, 8, 1),
            valid_until=dt.date(start_year + 1, 8, 31),
        )
        lines = []
        for i, unit in enumerate(made):
            factor = 1 if i == 0 else 0.6  # a half day costs 60 % of a full day
            for bracket, first in [*enumerate(prices, start=1), (None, prices[-1])]:
                for rank in (1, 2, 3):
                    base = int(first * factor * (1 - 0.1 * (rank - 1)))
                    for resident in (True, False):
                        lines.append(
                            TariffLine(
                                tariff=tariff,
                                unit=unit,
                                bracket=bracket,
                                sibling_rank=rank,
                                resident=resident,
                                amount_cents=base + (0 if resident else 50),
                            )
                        )
        TariffLine.objects.bulk_create(lines)


def _evening_care_bookings(martin: list, monday: dt.date) -> None:
    """Léa goes to evening care last week and this week: staff has a roll to take."""
    unit = Unit.objects.filter(service__code="GARD-SOIR").select_related("service").first()
    lea = next((c for c in martin if c.first_name == "Léa"), None)
    if unit is None or lea is None or lea.school is None:
        return
    calendar = SchoolCalendar.load(
        school=lea.school, start=monday - dt.timedelta(days=7), end=monday + dt.timedelta(days=4)
    )
    days = [monday + dt.timedelta(days=i) for i in range(-7, 5)]
    Booking.objects.bulk_create(
        [
            Booking(child=lea, service=unit.service, unit=unit, day=day)
            for day in days
            if not calendar.service_closed_reason(unit.service, day)
        ],
        ignore_conflicts=True,
    )
