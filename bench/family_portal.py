"""Family portal benchmark: mixed parent API traffic, the staff work queue, and a registration
opening burst on an activity (threads; on PostgreSQL it checks no seat is sold twice).

Small by default (CI runs it through tests/family/test_bench.py); ``--full`` builds 20,000
households. Requests go through the whole Django stack in-process (URL routing, DRF,
permissions, serializers, database) with Django's test client: no HTTP server, so the numbers
are the application's own cost per request on this machine.

    .venv/bin/python bench/family_portal.py                      # small, SQLite test database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_family_bench \
        .venv/bin/python bench/family_portal.py --full

The data lives in schools whose code starts with ``BF`` and is rebuilt with ``--rebuild``.
Never point it at a database holding real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL = {"households": 300, "schools": 5}
FULL = {"households": 20_000, "schools": 100}


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    import django

    django.setup()


def build(*, households: int, schools: int, log=print) -> None:
    from django.db import transaction
    from django.utils import timezone

    from backend.accounts.models import Role, User
    from family.models import (
        Activity,
        CatchmentArea,
        Child,
        ChildGuardian,
        Guardian,
        Household,
        School,
        SchoolApplication,
        SchoolYear,
    )

    if School.objects.filter(code__startswith="BF").count() >= schools:
        log("bench data already there")
        return
    t0 = time.perf_counter()
    today = timezone.localdate()
    start = today.year if today.month >= 8 else today.year - 1
    year, _ = SchoolYear.objects.get_or_create(
        label=f"{start + 1}-{start + 2}",
        defaults={"start_date": dt.date(start + 1, 9, 1), "end_date": dt.date(start + 2, 7, 3)},
    )
    with transaction.atomic():
        school_rows = School.objects.bulk_create(
            [School(code=f"BF{i:05d}", name=f"École bench {i}") for i in range(schools)]
        )
        for i, school in enumerate(school_rows):
            CatchmentArea.objects.create(school=school, street_name=f"rue du Banc {i}")
            Activity.objects.create(
                school=school,
                name="Étude",
                capacity=20,
                start_date=today - dt.timedelta(days=1),
                end_date=today + dt.timedelta(days=200),
            )
        users = User.objects.bulk_create(
            [
                User(email=f"bf{i}@bench.invalid", role=Role.PARENT, password="!")
                for i in range(households)
            ]
        )
        homes = Household.objects.bulk_create(
            [
                Household(name=f"Foyer {i}", address_line=f"{i % 90 + 1} rue du Banc {i % schools}")
                for i in range(households)
            ]
        )
        guardians = Guardian.objects.bulk_create(
            [Guardian(household=h, user=u) for h, u in zip(homes, users, strict=True)]
        )
        children = Child.objects.bulk_create(
            [
                Child(
                    household=h,
                    first_name=f"E{i}-{k}",
                    last_name="Bench",
                    birth_date=dt.date(2018, 1, 1),
                    school=school_rows[i % schools],
                )
                for i, h in enumerate(homes)
                for k in range(1 + i % 2)
            ]
        )
        by_household = {g.household_id: g for g in guardians}
        ChildGuardian.objects.bulk_create(
            [ChildGuardian(child=c, guardian=by_household[c.household_id]) for c in children]
        )
        now = timezone.now()
        SchoolApplication.objects.bulk_create(
            [
                SchoolApplication(
                    child=c,
                    household_id=c.household_id,
                    school_year=year,
                    school=c.school,
                    state="submitted",
                    tracking_code=f"B{c.pk:07d}"[-8:],
                    submitted_at=now - dt.timedelta(days=(n * 7) % 30),
                )
                for n, c in enumerate(children[::2])
            ]
        )
    log(
        f"built {households} households, {len(children)} children in {time.perf_counter() - t0:.1f}s"
    )


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def measure_parent_traffic(*, requests: int, log=print) -> dict:
    """Mixed parent traffic: reads of the four collections and a detail, plus activity
    registration and cancellation (writes)."""
    from django.test import Client
    from django.urls import reverse

    from backend.accounts.models import User
    from family.models import Activity, ActivityRegistration

    rng = random.Random(7)
    parents = list(User.objects.filter(email__endswith="@bench.invalid").order_by("pk")[:200])
    clients = {}
    latencies: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    t_all = time.perf_counter()
    for n in range(requests):
        user = parents[n % len(parents)]
        client = clients.get(user.pk)
        if client is None:
            client = clients[user.pk] = Client()
            client.force_login(user)
        kind = rng.choices(
            ["household", "children", "registrations", "activities", "register"], [3, 3, 3, 2, 1]
        )[0]
        t0 = time.perf_counter()
        if kind == "register":
            child = user.guardian.household.children.first()
            activity = Activity.objects.filter(school_id=child.school_id).first()
            response = client.post(
                reverse("family-api:activity-register", args=[activity.pk]),
                {"child": child.pk},
                content_type="application/json",
            )
            if response.status_code == 201:
                reg = ActivityRegistration.objects.get(pk=response.json()["id"])
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                response = client.post(
                    reverse("family-api:activity-registration-cancel", args=[reg.pk])
                )
        else:
            response = client.get(reverse(f"family-api:{kind}"))
        latencies.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    every = [v for values in latencies.values() for v in values]
    busy = sum(every) / 1000
    result = {
        "requests": requests,
        # one client thread, time spent inside requests only (logins excluded)
        "requests_per_second_one_thread": round(requests / busy, 1),
        "wall_seconds": round(time.perf_counter() - t_all, 1),
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(_percentile(every, 95), 1),
        "p95_ms_by_kind": {k: round(_percentile(v, 95), 1) for k, v in latencies.items()},
        "statuses": statuses,
    }
    log(f"parent traffic: {result}")
    return result


def measure_queue(*, repeat: int = 5, log=print) -> dict:
    from django.test import Client
    from django.urls import reverse

    from backend.accounts.models import Role, User
    from family.models import School

    staff, _ = User.objects.get_or_create(
        email="bf-staff@bench.invalid", defaults={"role": Role.STAFF}
    )
    staff.staff_schools.set(School.objects.filter(code__startswith="BF")[:3])
    client = Client()
    client.force_login(staff)
    timings = {}
    for label, params in [
        ("queue", {}),
        ("missing_documents", {"missing_documents": "true"}),
        ("older_than_15d", {"older_than_days": 15}),
    ]:
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            response = client.get(reverse("family-api:registrations"), params)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        timings[label] = {
            "median_ms": round(statistics.median(samples), 1),
            "count": response.json()["count"],
        }
    t0 = time.perf_counter()
    page = client.get(reverse("family:queue"))
    timings["queue_page_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    assert page.status_code == 200
    log(f"staff queue: {timings}")
    return timings


def measure_burst(*, threads: int, capacity: int, log=print) -> dict:
    """``threads`` parents register different children to one activity at the same instant."""
    from django.db import connection

    from backend.core.exceptions import ApplicationError
    from family import services
    from family.models import Activity, ActivityRegistration, Child

    school_activity = Activity.objects.filter(school__code__startswith="BF").order_by("pk").last()
    ActivityRegistration.objects.filter(activity=school_activity).delete()
    Activity.objects.filter(pk=school_activity.pk).update(capacity=capacity)
    children = list(
        Child.objects.filter(school_id=school_activity.school_id).select_related("household")[
            :threads
        ]
    )
    barrier = threading.Barrier(len(children))
    errors: list[str] = []

    def worker(child):
        try:
            barrier.wait(timeout=30)
            services.activity_register(actor=None, activity=school_activity, child=child)
        except ApplicationError as exc:
            errors.append(exc.message)
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            errors.append(repr(exc))
        finally:
            if connection.vendor != "sqlite":
                connection.close()

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(c,)) for c in children]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    confirmed = ActivityRegistration.objects.filter(
        activity=school_activity, state="confirmed"
    ).count()
    waiting = ActivityRegistration.objects.filter(activity=school_activity, state="waiting").count()
    result = {
        "threads": len(children),
        "capacity": capacity,
        "confirmed": confirmed,
        "waiting": waiting,
        "errors": errors[:5],
        "seconds": round(elapsed, 2),
        "overbooked": confirmed > capacity,
    }
    log(f"registration burst: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from django.core.management import call_command
    from django.db import connection

    size = FULL if args.full else SMALL
    if connection.vendor == "sqlite":
        # a throwaway database file, never the demo one
        from django.conf import settings

        settings.DATABASES["default"]["NAME"] = "/tmp/minot-family-bench.sqlite3"
        connection.close()
        connection.settings_dict["NAME"] = "/tmp/minot-family-bench.sqlite3"
    call_command("migrate", verbosity=0)
    build(**size)
    results = {
        "size": size,
        "database": connection.vendor,
        "parent_traffic": measure_parent_traffic(
            requests=args.requests or (5000 if args.full else 600)
        ),
        "queue": measure_queue(),
        "burst": measure_burst(threads=40 if connection.vendor != "sqlite" else 20, capacity=10),
    }
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
