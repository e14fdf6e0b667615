"""Per-request cost of the portal mix's endpoints, in-process (Django test client, no HTTP
server): median time, query count, CPU of this process, and optionally a pyinstrument profile
per endpoint. Parent and staff endpoints of bench/locust_portal.py, and the mix's average
weighted as locust offers it (4 parents for 1 staff member, each with its task weights).

Load-independent figures (query counts, profiles) to find per-request costs while the machine
is busy; absolute times still depend on the machine. Uses the database named by
``DATABASE_URL`` prepared by ``bench/portal_load.py`` or ``bench/family_portal.py`` (bench
families ``@bench.invalid``).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_portal_bench \
        .venv/bin/python bench/profile_portal.py --repeat 30 [--html bench/results/profiles]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--html", help="write one pyinstrument HTML profile per endpoint here")
    parser.add_argument("--only", help="endpoint name to profile")
    parser.add_argument("--sql", action="store_true", help="print each endpoint's queries")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.production")
    os.environ.setdefault("SECRET_KEY", "profile-not-secret-0123456789abcdefghijklmnopqrstuv")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from backend.accounts.models import ApiToken, Role, User
    from family.models import Child

    parent = (
        User.objects.filter(email__endswith="@bench.invalid", role=Role.PARENT)
        .filter(guardian__household__children__school__isnull=False)
        .order_by("pk")
        .first()
    )
    _, token = ApiToken.objects.create(user=parent)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_ACCEPT_LANGUAGE="fr")
    children = client.get("/api/v1/children/").json()["results"]
    child = children[0]["id"]
    school = next(c["school"]["id"] for c in children if c.get("school"))
    assert Child.objects.filter(pk=child).exists()
    staff = User.objects.get(email="bench-staff@bench.invalid")
    _, staff_token = ApiToken.objects.create(user=staff)
    staff_client = Client(HTTP_AUTHORIZATION=f"Token {staff_token}", HTTP_ACCEPT_LANGUAGE="fr")
    endpoints = {
        "children": "/api/v1/children/",
        "invoices": "/api/v1/invoices/",
        "household": "/api/v1/household/",
        "registrations": "/api/v1/registrations/",
        "calendar": f"/api/v1/canteen/children/{child}/calendar/",
        "menus": f"/api/v1/canteen/menus/?school={school}",
        "staff-queue": "/api/v1/registrations/?state=submitted",
        "forecast": "/api/v1/canteen/forecast/",
        "healthz": "/healthz",
    }
    if args.only:
        endpoints = {args.only: endpoints[args.only]}
    results = {}
    for name, url in endpoints.items():
        client_for = staff_client if name in ("staff-queue", "forecast") else client
        response = client_for.get(url)  # warm: imports, caches
        assert response.status_code == 200, (name, response.status_code, response.content[:300])
        queries: list[str] = []

        def count(execute, sql, *rest, queries=queries):
            queries.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(count):
            client_for.get(url)
        if args.sql:
            sys.stderr.write(f"== {name}\n" + "\n".join(q[:400] for q in queries) + "\n")
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            client_for.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        results[name] = {
            "queries": len(queries),
            "median_ms": round(statistics.median(times), 1),
            "min_ms": round(min(times), 1),
            # this process's CPU per request: the Python cost, not the wait for PostgreSQL
            "cpu_ms": round(statistics.median(cpu), 1),
        }
        if args.html:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            with profiler:
                for _ in range(args.repeat):
                    client_for.get(url)
            Path(args.html).mkdir(parents=True, exist_ok=True)
            Path(args.html, f"{name}.html").write_text(profiler.output_html())
            Path(args.html, f"{name}.txt").write_text(profiler.output_text(color=False))
    mix = _weighted_mix(results)
    if mix:
        results["mix"] = mix
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    return 0


# What bench/locust_portal.py offers: every simulated person runs tasks at the same rate; a
# parent's tasks are home (invoices + household) ×3, registrations ×2, calendar ×3, menus ×2 and
# booking a week ×1 (11, not measured here: it writes), a staff member's queue ×2 and forecast
# ×1 (3); 4 parents for 1 staff member. So each endpoint's share of requests is
# people × task weight / tasks per iteration.
PARENT_WEIGHTS = {"invoices": 3, "household": 3, "registrations": 2, "calendar": 3, "menus": 2}
STAFF_WEIGHTS = {"staff-queue": 2, "forecast": 1}
PARENT_TASKS, STAFF_TASKS, PARENTS_PER_STAFF = 11, 3, 4


def _weighted_mix(results: dict) -> dict | None:
    """The mean CPU and time per request of the read mix, weighted as the load test offers it."""
    weights = {k: PARENTS_PER_STAFF * v / PARENT_TASKS for k, v in PARENT_WEIGHTS.items()} | {
        k: v / STAFF_TASKS for k, v in STAFF_WEIGHTS.items()
    }
    if not all(name in results for name in weights):
        return None
    total = sum(weights.values())
    return {
        key: round(sum(results[n][key] * w for n, w in weights.items()) / total, 2)
        for key in ("cpu_ms", "median_ms", "queries")
    }


if __name__ == "__main__":
    raise SystemExit(main())
