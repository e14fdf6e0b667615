"""All-services month calendar at scale: one household, 3 children, several daily services each
booked on every open day of the month; the page's query count and time as the number of active
services and the month vary.

    .venv/bin/python bench/services_calendar_bench.py --json out.json          # SQLite (test settings)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_services_bench \
        .venv/bin/python bench/services_calendar_bench.py --repeat 10

Everything is built inside one transaction that is rolled back at the end: the database is left
as it was (it is migrated first). The query count must not depend on the number of services or
days (``queries_by_services`` and ``queries_by_month`` hold one value each when it does not).
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

NOW = dt.datetime(2026, 11, 16, 7, 0, tzinfo=dt.UTC)  # a Monday morning; December is bookable
YEAR = ("2026-2027", dt.date(2026, 9, 1), dt.date(2027, 7, 3))
CLOSURES = [
    ("holiday", "Vacances de Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 3)),
    ("public_holiday", "Noël", dt.date(2026, 12, 25), dt.date(2026, 12, 25)),
    ("public_holiday", "Armistice", dt.date(2026, 11, 11), dt.date(2026, 11, 11)),
]
MONTHS = [(2026, 11), (2026, 12), (2027, 1)]
# (code, kind, unit kind, capacity, includes a meal, at the second school)
SERVICES = [
    ("B-SOIR", "evening_care", "evening", 40, False, False),
    ("B-MATIN", "morning_care", "morning", None, False, False),
    ("B-ETUDE", "study", "evening", 20, False, False),
    ("B-MERCR", "wednesday_centre", "full_day", 30, True, False),
    ("B-VAC", "holiday_centre", "full_day", 2, True, True),
    ("B-SOIR2", "evening_care", "evening", None, False, False),
    ("B-MATIN2", "morning_care", "morning", 25, False, False),
    ("B-VAC2", "holiday_centre", "half_day_meal", 10, True, True),
]
SERVICE_STEPS = (1, 2, 4, 8)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    import django

    django.setup()


def build(log=print) -> dict:
    """The household, its 3 children, 8 services with tariffs, and their bookings (3 months)."""
    from backend.accounts.models import User
    from canteen.models import Booking, Service, Tariff, TariffLine, Unit, canteen_unit_id
    from family.models import (
        CalendarClosure,
        Child,
        ChildGuardian,
        Guardian,
        Household,
        IncomeAssessment,
        School,
        SchoolYear,
    )

    school = School.objects.create(code="BSVC0001", name="École bench services")
    site = School.objects.create(code="BSVC0002", name="Centre bench services")
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
    household = Household.objects.create(name="Bench services", is_resident=True)
    IncomeAssessment.objects.create(
        household=household,
        quotient=800,
        source="caf",
        valid_from=YEAR[1],
        valid_until=YEAR[2],
        status="validated",
        bracket=3,
    )
    user = User.objects.create(email="bench-services@example.test", role="parent")
    guardian = Guardian.objects.create(household=household, user=user)
    kids = []
    for i in range(3):
        kid = Child.objects.create(
            household=household,
            first_name=f"S{i}",
            last_name="BenchServices",
            birth_date=dt.date(2016 + i, 3, 1),
            school=school,
            class_name="CE1",
        )
        ChildGuardian.objects.create(child=kid, guardian=guardian)
        kids.append(kid)
    services, units = [], []
    for position, (code, kind, unit_kind, capacity, meal, elsewhere) in enumerate(SERVICES):
        service = Service.objects.create(
            code=code,
            name=f"Bench {code}",
            kind=kind,
            site=site if elsewhere else None,
            weekdays=[2] if kind == "wednesday_centre" else [],
            position=position + 1,
        )
        unit = Unit.objects.create(
            service=service,
            code="U",
            name=unit_kind,
            kind=unit_kind,
            capacity=capacity,
            includes_meal=meal,
        )
        tariff = Tariff.objects.create(
            service=service, name=code, valid_from=YEAR[1], valid_until=YEAR[2]
        )
        TariffLine.objects.bulk_create(
            [
                TariffLine(tariff=tariff, bracket=b, sibling_rank=r, resident=True, amount_cents=c)
                for b in (None, 3)
                for r, c in ((1, 300), (2, 250), (3, 200))
            ]
        )
        services.append(service)
        units.append(unit)
    canteen_tariff = Tariff.objects.create(
        name="Bench cantine", valid_from=YEAR[1], valid_until=YEAR[2]
    )
    TariffLine.objects.create(tariff=canteen_tariff, bracket=3, sibling_rank=1, amount_cents=320)
    # Every weekday of the three months booked for every child on every service (the engine
    # decides what is open; a booking on a closed day is simply shown closed).
    days = [
        dt.date(2026, 11, 1) + dt.timedelta(days=i)
        for i in range(92)
        if (dt.date(2026, 11, 1) + dt.timedelta(days=i)).weekday() < 5
    ]
    rows = [
        Booking(child=k, service=s, unit=u, day=d)
        for k in kids
        for s, u in zip(services, units, strict=True)
        for d in days
    ]
    rows += [Booking(child=k, unit_id=canteen_unit_id(), day=d) for k in kids for d in days]
    Booking.objects.bulk_create(rows, batch_size=5000)
    log(f"built: 3 children × {len(services)} services + canteen, {len(rows)} bookings")
    return {"user": user, "kids": kids, "services": services}


def _page(client, child_id: int, year: int, month: int):
    return client.get(f"/cantine/services/enfant/{child_id}/{year}/{month}/")


def measure(*, world: dict, repeat: int = 5, log=print) -> dict:
    import time_machine
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from canteen import calendar as services_calendar
    from canteen.models import Service

    client = Client()
    client.force_login(world["user"])
    kids, services = world["kids"], world["services"]
    results: dict = {"children": len(kids), "services": len(services)}
    with time_machine.travel(NOW, tick=True):
        _page(client, kids[0].id, 2026, 12)  # compile templates and URL patterns once
        by_services: dict[int, int] = {}
        for n in SERVICE_STEPS:
            Service.objects.filter(pk__in=[s.pk for s in services[n:]]).update(is_active=False)
            Service.objects.filter(pk__in=[s.pk for s in services[:n]]).update(is_active=True)
            _page(client, kids[0].id, 2026, 12)  # warm the shared cache (rules, calendars…)
            with CaptureQueriesContext(connection) as queries:
                response = _page(client, kids[0].id, 2026, 12)
            assert response.status_code == 200, response.status_code
            by_services[n] = len(queries)
            if os.environ.get("BENCH_SHOW_QUERIES") and n == SERVICE_STEPS[-1]:
                for q in queries.captured_queries:
                    log(q["sql"][:160])
        results["queries_by_services"] = by_services
        by_month = {}
        for year, month in MONTHS:
            _page(client, kids[1].id, year, month)
            with CaptureQueriesContext(connection) as queries:
                _page(client, kids[1].id, year, month)
            by_month[f"{year}-{month:02d}"] = len(queries)
        results["queries_by_month"] = by_month
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            _page(client, kids[2].id, 2026, 12)
        results["queries_cold_cache"] = len(queries)

        samples = []
        for i in range(repeat):
            began = time.perf_counter()
            response = _page(client, kids[i % 3].id, 2026, 12)
            samples.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
        results["page_ms"] = {
            "median": round(statistics.median(samples), 1),
            "max": round(max(samples), 1),
        }
        samples = []
        for i in range(repeat):
            began = time.perf_counter()
            services_calendar.child_services_month(child=kids[i % 3], year=2026, month=12)
            samples.append((time.perf_counter() - began) * 1000)
        results["selector_ms"] = {
            "median": round(statistics.median(samples), 1),
            "max": round(max(samples), 1),
        }
    results["constant_queries"] = (
        len(set(results["queries_by_services"].values())) == 1
        and len(set(results["queries_by_month"].values())) == 1
    )
    for key, value in results.items():
        log(f"{key}: {value}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command
    from django.db import connection, transaction

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        results = measure(world=build(), repeat=args.repeat)
        results["database"] = connection.vendor
        transaction.set_rollback(True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if results["constant_queries"] else 1


if __name__ == "__main__":
    sys.exit(main())
