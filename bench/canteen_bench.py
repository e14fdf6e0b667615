"""Canteen benchmark: month calendar, kitchen forecast, bulk term booking, monthly billable meals.

Small by default (CI runs it through tests/canteen/test_bench.py); ``--full`` builds the issue's
scale on PostgreSQL: 50,000 children and a school year of bookings (~7 million rows).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_canteen_bench \
        .venv/bin/python bench/canteen_bench.py --full

The data is built once (schools whose code starts with ``BENCH``) and reused by later runs;
``--rebuild`` drops it first. Never point it at a database holding real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL = {"children": 600, "schools": 6}
FULL = {"children": 50_000, "schools": 470}
YEAR = ("2026-2027", dt.date(2026, 9, 1), dt.date(2027, 7, 3))
CLOSURES = [
    ("holiday", "Toussaint", dt.date(2026, 10, 17), dt.date(2026, 11, 2)),
    ("public_holiday", "Armistice", dt.date(2026, 11, 11), dt.date(2026, 11, 11)),
    ("holiday", "Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 4)),
    ("holiday", "Hiver", dt.date(2027, 2, 13), dt.date(2027, 3, 1)),
    ("holiday", "Printemps", dt.date(2027, 4, 10), dt.date(2027, 4, 26)),
    ("public_holiday", "Pâques", dt.date(2027, 4, 5), dt.date(2027, 4, 5)),
    ("public_holiday", "1er mai", dt.date(2027, 5, 1), dt.date(2027, 5, 1)),
    ("public_holiday", "Ascension", dt.date(2027, 5, 13), dt.date(2027, 5, 14)),
]
# "now" for the measurements: a Monday morning in November, bookings open from Wednesday on.
NOW = dt.datetime(2026, 11, 16, 7, 0, tzinfo=dt.UTC)
TERM = (dt.date(2027, 1, 4), dt.date(2027, 3, 31))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    import django

    django.setup()


def school_days() -> list[dt.date]:
    closed = set()
    for _k, _l, start, end in CLOSURES:
        d = start
        while d <= end:
            closed.add(d)
            d += dt.timedelta(days=1)
    days, d = [], YEAR[1]
    while d <= YEAR[2]:
        if d.weekday() < 5 and d not in closed:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def build(*, children: int, schools: int, log=print) -> None:
    """Create the benchmark population (idempotent: does nothing when it exists)."""
    from django.db import connection, transaction

    from canteen.models import Booking, Tariff, TariffLine, canteen_service_id, canteen_unit_id
    from family.models import (
        CalendarClosure,
        Child,
        Household,
        IncomeAssessment,
        School,
        SchoolYear,
    )

    if School.objects.filter(code__startswith="BENCH").exists():
        log("bench data already present: reusing it")
        return
    began = time.perf_counter()
    with transaction.atomic():
        year, _ = SchoolYear.objects.get_or_create(
            label=YEAR[0], defaults={"start_date": YEAR[1], "end_date": YEAR[2]}
        )
        for kind, label, start, end in CLOSURES:
            CalendarClosure.objects.get_or_create(
                school_year=year,
                school=None,
                label=label,
                defaults={"kind": kind, "start_date": start, "end_date": end},
            )
        if not Tariff.objects.filter(name="Bench").exists():
            tariff = Tariff.objects.create(
                name="Bench",
                valid_from=dt.date(2026, 8, 1),
                valid_until=dt.date(2027, 8, 31),
                packed_lunch_cents=64,
                unbooked_surcharge_cents=150,
            )
            TariffLine.objects.bulk_create(
                [
                    TariffLine(
                        tariff=tariff,
                        bracket=b,
                        sibling_rank=r,
                        resident=res,
                        amount_cents=183 + 40 * (b or 5) - 10 * r,
                    )
                    for b in [None, 1, 2, 3, 4, 5]
                    for r in (1, 2, 3)
                    for res in (True, False)
                ]
            )
        school_objs = School.objects.bulk_create(
            [School(code=f"BENCH{i:04d}", name=f"École bench {i}") for i in range(schools)]
        )
        n_households = max(1, int(children / 1.6))
        households = Household.objects.bulk_create(
            [Household(name=f"Bench {i}", is_resident=i % 10 != 0) for i in range(n_households)],
            batch_size=5000,
        )
        IncomeAssessment.objects.bulk_create(
            [
                IncomeAssessment(
                    household=h,
                    quotient=300 + (i * 97) % 1500,
                    source="caf",
                    valid_from=YEAR[1],
                    valid_until=YEAR[2],
                    status="validated",
                    bracket=1 + i % 5,
                )
                for i, h in enumerate(households)
                if i % 7 != 0
            ],
            batch_size=5000,
        )
        kids = Child.objects.bulk_create(
            [
                Child(
                    household=households[i % n_households],
                    first_name=f"E{i}",
                    last_name="Bench",
                    birth_date=dt.date(2015 + i % 6, 1 + i % 12, 1 + i % 28),
                    school=school_objs[i % schools],
                    class_name="CE1",
                    allergies=["peanuts"] if i % 25 == 0 else [],
                    diet="vegetarian" if i % 9 == 0 else "standard",
                )
                for i in range(children)
            ],
            batch_size=5000,
        )
    log(
        f"population: {schools} schools, {n_households} households, {children} children "
        f"({time.perf_counter() - began:.1f} s)"
    )
    began = time.perf_counter()
    days = school_days()
    service_id, unit_id = canteen_service_id(), canteen_unit_id()
    # Every child eats on Mon/Tue/Thu/Fri, and 1 in 3 on Wednesday: ~7M rows for 50,000 children.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO canteen_booking (child_id, service_id, unit_id, day, status, variant,
                                             created_at, updated_at)
                SELECT c.id, %s, %s, d.day, 'booked', CASE WHEN c.diet = 'vegetarian' THEN 'vegetarian' ELSE 'standard' END,
                       now(), now()
                FROM family_child c CROSS JOIN unnest(%s::date[]) AS d(day)
                WHERE c.last_name = 'Bench' AND (extract(isodow FROM d.day) <> 3 OR c.id %% 3 = 0)
                """,
                [service_id, unit_id, days],
            )
            cursor.execute("ANALYZE canteen_booking")
    else:
        rows = [
            Booking(
                child_id=k.id,
                service_id=service_id,
                unit_id=unit_id,
                day=d,
                variant="vegetarian" if k.diet == "vegetarian" else "standard",
            )
            for k in kids
            for d in days
            if d.weekday() != 2 or k.id % 3 == 0
        ]
        Booking.objects.bulk_create(rows, batch_size=5000)
    log(f"bookings: {Booking.objects.count():,} rows ({time.perf_counter() - began:.1f} s)")


def timed(fn, repeat: int) -> tuple[float, float, object]:
    samples, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples), max(samples), result


def measure(*, repeat: int = 5, billing: bool = True, log=print) -> dict:
    import time_machine
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from backend.accounts.models import User
    from canteen import forecasts, selectors, services
    from canteen.models import Booking
    from family.models import Child, ChildGuardian, Guardian, Household, School

    results: dict = {
        "bookings": Booking.objects.count(),
        "children": Child.objects.filter(last_name="Bench").count(),
    }
    child = (
        Child.objects.filter(last_name="Bench")
        .select_related("household", "school")
        .order_by("id")
        .first()
    )
    user, _ = User.objects.get_or_create(
        email="bench-parent@example.test", defaults={"role": "parent"}
    )
    if not Guardian.objects.filter(user=user).exists():
        guardian = Guardian.objects.create(household=child.household, user=user)
        for kid in child.household.children.all():
            ChildGuardian.objects.get_or_create(child=kid, guardian=guardian)
    client = Client()
    client.force_login(user)

    with time_machine.travel(NOW, tick=True):
        # 1. month calendar of one child (selector, then the whole page through the test client)
        with CaptureQueriesContext(connection) as queries:
            selectors.child_month_calendar(child=child, year=2026, month=12)
        results["calendar_queries"] = len(queries)
        med, worst, _ = timed(
            lambda: selectors.child_month_calendar(child=child, year=2026, month=12), repeat
        )
        results["calendar_selector_ms"] = {"median": round(med, 1), "max": round(worst, 1)}
        url = f"/cantine/enfant/{child.id}/2026/12/"
        began = time.perf_counter()
        client.get(url)  # the first request of the process compiles templates and URL patterns
        results["calendar_page_first_request_ms"] = round((time.perf_counter() - began) * 1000, 1)
        med, worst, response = timed(lambda: client.get(url), repeat)
        assert response.status_code == 200, response.status_code
        results["calendar_page_ms"] = {"median": round(med, 1), "max": round(worst, 1)}

        # 2. tomorrow's kitchen forecast, every school
        tomorrow = dt.date(2026, 11, 17)

        def forecast():
            frame = forecasts.meal_forecast(start=tomorrow, end=tomorrow)
            return forecasts.forecast_pivot(frame), frame

        med, worst, (pivot, frame) = timed(forecast, repeat)
        results["forecast_ms"] = {"median": round(med, 1), "max": round(worst, 1)}
        results["forecast_meals"] = int(frame["meals"].sum())
        results["forecast_schools"] = int(frame["school_id"].nunique())
        all_schools = list(
            School.objects.filter(code__startswith="BENCH").values_list("id", flat=True)
        )
        med, worst, lists = timed(
            lambda: selectors.kitchen_lists(school_ids=all_schools, day=tomorrow), repeat
        )
        results["kitchen_lists_ms"] = {"median": round(med, 1), "max": round(worst, 1)}
        results["kitchen_lists_children"] = sum(len(v) for v in lists.values())

        # 3. bulk booking of a whole term for 3 children (their term bookings removed first)
        household = Household.objects.create(name="Bench term")
        kids = [
            Child.objects.create(
                household=household,
                first_name=f"T{i}",
                last_name="BenchTerm",
                birth_date=dt.date(2016 + i, 1, 1),
                school=child.school,
            )
            for i in range(3)
        ]
        samples = []
        for _ in range(repeat):
            Booking.objects.filter(child__in=kids).delete()
            kids_loaded = list(
                Child.objects.filter(id__in=[k.id for k in kids]).select_related(
                    "household", "school"
                )
            )
            began = time.perf_counter()
            result = services.bookings_create_pattern(
                children=kids_loaded, start=TERM[0], end=TERM[1], weekdays=[0, 1, 3, 4], actor=user
            )
            samples.append((time.perf_counter() - began) * 1000)
        results["term_booking_ms"] = {
            "median": round(statistics.median(samples), 1),
            "max": round(max(samples), 1),
        }
        results["term_booking_rows"] = len(result.booked)
        Booking.objects.filter(child__in=kids).delete()
        for k in kids:
            k.delete()
        household.delete()

        # 4. what families owe for one month (the payments billing run's input)
        if billing:
            began = time.perf_counter()
            meals = selectors.billable_meals(start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31))
            results["billable_month_s"] = round(time.perf_counter() - began, 2)
            results["billable_month_meals"] = len(meals)
    for key, value in results.items():
        log(f"{key}: {value}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--full", action="store_true", help="50,000 children, ~7M bookings (PostgreSQL)"
    )
    parser.add_argument("--children", type=int)
    parser.add_argument("--schools", type=int)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--rebuild", action="store_true", help="drop the bench data first (everything named Bench)"
    )
    parser.add_argument("--no-billing", action="store_true")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    size = dict(FULL if args.full else SMALL)
    if args.children:
        size["children"] = args.children
    if args.schools:
        size["schools"] = args.schools
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    if args.rebuild:
        from canteen.models import Booking
        from family.models import Household, School

        Booking.objects.filter(child__last_name="Bench").delete()
        Household.objects.filter(name__startswith="Bench").delete()
        School.objects.filter(code__startswith="BENCH").delete()
    build(**size)
    results = measure(repeat=args.repeat, billing=not args.no_billing)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
