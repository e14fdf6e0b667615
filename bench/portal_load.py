"""Portal load benchmark over HTTP: gunicorn + PostgreSQL with the production settings, locust as
the load generator (headless, on loopback), a trivial view (``GET /healthz``) measured in the
same run as the baseline.

    bash -c '.venv/bin/python bench/portal_load.py --quick'   # CI size: small data, one rate
    .venv/bin/python bench/portal_load.py                      # full: 20,000 households,
                                                               # offered 50/100/250/400 req/s

Stages: the baseline at the highest offered rate, then the parent + staff mix at each offered
rate. Each stage reports offered and achieved requests/s, p50/p95/p99 (ms), failures and 5xx.
After the run it checks that no meal was booked twice and no activity seat sold twice.
Prints one JSON document (``--json FILE`` writes it too). Never point it at real data: it
creates households ``@bench.invalid`` in the database named by ``DATABASE_URL``
(default ``minot_portal_bench``). Bounded: at most 600 s per stage, loopback only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/minot_portal_bench")
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/9")
    # As in production (infra/minot.env.example): one cache shared by every gunicorn worker, so
    # a write invalidates the shared canteen data for all of them at once.
    env.setdefault("CACHE_URL", env["CELERY_BROKER_URL"].replace("redis://", "rediscache://"))
    env.update(
        DJANGO_SETTINGS_MODULE="backend.settings.production",
        SECRET_KEY=env.get("SECRET_KEY", "portal-bench-not-secret-0123456789abcdefghijklmnop"),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="False",
        LOG_LEVEL="WARNING",
        API_AUTH_THROTTLE="100000/min",  # every simulated person signs in from loopback
        MINOT_2FA_REQUIRED="False",  # the bench staff account has no second factor enrolled
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_database(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    exists = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname='{name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def prepare(*, households: int, schools: int, env: dict[str, str], log) -> dict:
    """Migrate, seed the demo, build the bench families; returns the accounts to sign in with."""
    _create_database(env["DATABASE_URL"])
    py = sys.executable
    for args in (["migrate", "--noinput", "-v0"], ["seed_demo", "--no-progress"]):
        subprocess.run(
            [py, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password

    from backend.accounts.models import Role, User
    from bench import family_portal
    from family.models import School

    family_portal.build(households=households, schools=schools, log=log)
    User.objects.filter(email__endswith="@bench.invalid").update(password=make_password(PASSWORD))
    staff, _ = User.objects.get_or_create(
        email="bench-staff@bench.invalid", defaults={"role": Role.STAFF}
    )
    staff.set_password(PASSWORD)
    staff.save()
    staff.staff_schools.set(School.objects.filter(code__startswith="BF").order_by("code")[:10])
    parents = list(
        User.objects.filter(email__endswith="@bench.invalid", role=Role.PARENT)
        .order_by("pk")
        .values_list("email", flat=True)[:2000]
    )
    return {"parents": parents, "staff": [staff.email]}


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    server_env = dict(
        env,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_ACCESSLOG="/dev/null",
        GUNICORN_TIMEOUT=env.get("GUNICORN_TIMEOUT", "120"),  # a slow boot on a busy machine
    )
    # The server's log goes to a file: a pipe nobody reads fills up (64 KiB of "Bad Request"
    # warnings for the weeks already booked) and then blocks every worker that logs.
    log = tempfile.NamedTemporaryFile(prefix="portal-bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backend.wsgi", "-c", "infra/gunicorn.conf.py"],
        cwd=ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("gunicorn did not start: " + Path(log.name).read_text()[-2000:])


def sign_in(port: int, emails: list[str]) -> tuple[list[str], float]:
    """One token per account through ``POST /api/v1/auth/token/``; returns the mean time."""
    tokens, t0 = [], time.perf_counter()
    for email in emails:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/token/",
            data=json.dumps({"email": email, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            tokens.append(json.loads(response.read())["token"])
    return tokens, (time.perf_counter() - t0) / max(1, len(emails))


def run_stage(
    *,
    name: str,
    classes: list[str],
    offered: int,
    seconds: int,
    port: int,
    accounts: dict,
    env: dict[str, str],
) -> dict:
    users = max(1, offered // 2)
    rate_per_user = offered / users
    with tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / name)
        locust_env = dict(
            env,
            MINOT_BENCH_RATE=str(rate_per_user),
            MINOT_BENCH_PARENT_TOKENS=json.dumps(accounts["parent_tokens"]),
            MINOT_BENCH_STAFF_TOKENS=json.dumps(accounts["staff_tokens"]),
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locust_portal.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(max(1, users // 2)),
                "-t",
                f"{min(seconds, 600)}s",
                "--host",
                f"http://127.0.0.1:{port}",
                "--csv",
                prefix,
                "--only-summary",
                "--loglevel",
                "ERROR",
                *classes,
            ],
            env=locust_env,
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        with open(f"{prefix}_stats.csv", newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
        server_errors = 0
        failures_file = Path(f"{prefix}_failures.csv")
        if failures_file.exists():
            with failures_file.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    if any(code in row["Error"] for code in ("500", "502", "503", "504")):
                        server_errors += int(row["Occurrences"])
    total = rows["Aggregated"]

    def ms(value: str) -> float | None:
        return None if value in ("", "N/A") else float(value)

    return {
        "stage": name,
        "offered_rps": offered,
        "users": users,
        "seconds": seconds,
        "requests": int(total["Request Count"]),
        "achieved_rps": round(float(total["Requests/s"]), 1),
        "p50_ms": ms(total["50%"]),
        "p95_ms": ms(total["95%"]),
        "p99_ms": ms(total["99%"]),
        "failures": int(total["Failure Count"]),
        "server_errors": server_errors,
        "p95_ms_by_name": {k: ms(v["95%"]) for k, v in rows.items() if k != "Aggregated"},
        **({"locust_errors": proc.stderr[-1500:]} if not int(total["Request Count"]) else {}),
    }


def integrity_checks() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT child_id, service_id, day FROM canteen_booking "
            "GROUP BY child_id, service_id, day HAVING count(*) > 1) d"
        )
        double_booked = cursor.fetchone()[0]
    from family.models import Activity, ActivityRegistration

    oversold = sum(
        1
        for activity in Activity.objects.all()
        if ActivityRegistration.objects.filter(
            activity=activity, state=ActivityRegistration.State.CONFIRMED
        ).count()
        > activity.capacity
    )
    return {"double_booked_days": double_booked, "oversold_activities": oversold}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI size")
    parser.add_argument("--rates", default=None, help="offered req/s, comma separated")
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--households", type=int, default=None)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    quick = args.quick
    rates = [int(r) for r in (args.rates or ("30" if quick else "50,100,250,400")).split(",")]
    seconds = args.seconds or (20 if quick else 30)
    households = args.households or (300 if quick else 20_000)
    env = _env()
    log = lambda message: sys.stderr.write(f"{message}\n")  # noqa: E731
    accounts = prepare(households=households, schools=20 if quick else 229, env=env, log=log)
    port = _free_port()
    server = start_server(env, port)
    try:
        users = max(1, max(rates) // 2)
        accounts["parent_tokens"], login_mean = sign_in(port, accounts["parents"][:users])
        accounts["staff_tokens"], _ = sign_in(port, accounts["staff"])
        stages = [
            run_stage(
                name="baseline",
                classes=["Baseline"],
                offered=max(rates),
                seconds=seconds,
                port=port,
                accounts=accounts,
                env=env,
            )
        ]
        for rate in rates:
            log(f"parent + staff mix at {rate} req/s offered")
            stages.append(
                run_stage(
                    name=f"mix-{rate}",
                    classes=["Parent", "Staff"],
                    offered=rate,
                    seconds=seconds,
                    port=port,
                    accounts=accounts,
                    env=env,
                )
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    baseline = stages[0]["achieved_rps"] or 1
    best = max(stages[1:], key=lambda s: s["achieved_rps"])
    result = {
        "households": households,
        "gunicorn": "infra/gunicorn.conf.py",
        "worker_class": env.get("GUNICORN_WORKER_CLASS", "gthread"),
        "workers": env.get("GUNICORN_WORKERS", "cores + 1"),
        "threads": env.get("GUNICORN_THREADS", "4"),
        "stages": stages,
        "login_mean_ms": round(login_mean * 1000, 1),
        "baseline_rps": stages[0]["achieved_rps"],
        "mix_best_rps": best["achieved_rps"],
        "ratio_to_baseline": round(best["achieved_rps"] / baseline, 2),
        "server_errors": sum(s["server_errors"] for s in stages),
        "checks": integrity_checks(),
    }
    text = json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")
    if args.json:
        Path(args.json).write_text(text)
    bad = result["server_errors"] or any(result["checks"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
