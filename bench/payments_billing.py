"""Payments benchmark: the monthly billing run (one invoice per payer, a line per meal).

Small by default (CI runs it through tests/payments/test_bench.py); ``--full`` is the issue's
scale: 50,000 children × 20 meals = 1,000,000 invoice lines, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_payments_bench \\
        .venv/bin/python bench/payments_billing.py --full

The families are built once (households named ``BENCH-PAY …``) and reused; each measurement
deletes the bench invoices of the period first, then times a first run and a second run (which
must create nothing). Meals are fed straight to the run through ``payments.sources`` (the
canteen's own ``billable_meals`` is measured by bench/canteen_bench.py). 10 % of the children
have separated parents with a week-parity custody split, so they have two payers.
Never point it at a database holding real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PERIOD = dt.date(2026, 10, 1)
PREFIX = "BENCH-PAY"


@dataclass(frozen=True, slots=True)
class BillableMeal:
    child_id: int
    household_id: int
    day: dt.date
    kind: str
    amount_cents: int
    currency: str
    explanation: str
    source: str
    source_id: int


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    import django

    django.setup()


def school_days(count: int = 20) -> list[dt.date]:
    days, d = [], PERIOD
    while len(days) < count:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def build(children: int) -> list[tuple[int, int]]:
    """Families with ``children`` children; returns ``[(child_id, household_id)]`` (reused)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from backend.accounts.models import User
    from family.models import Child, ChildGuardian, Guardian, Household, School

    existing = list(
        Child.objects.filter(household__name__startswith=PREFIX)
        .order_by("pk")
        .values_list("pk", "household_id")
    )
    if len(existing) >= children:
        return existing[:children]
    if existing:
        raise SystemExit("bench data exists with another size: run with --rebuild")
    households = (children * 4) // 5  # one household in four has two children
    password = make_password(None)
    with transaction.atomic():
        school, _ = School.objects.get_or_create(
            code="BENCHPAY", defaults={"name": "École bench paiements"}
        )
        hh = Household.objects.bulk_create(
            [Household(name=f"{PREFIX} {i:06d}") for i in range(households)], batch_size=5000
        )
        users = User.objects.bulk_create(
            [
                User(email=f"bench-pay-{i}@example.invalid", role="parent", password=password)
                for i in range(households)
            ],
            batch_size=5000,
        )
        guardians = Guardian.objects.bulk_create(
            [Guardian(household=h, user=u) for h, u in zip(hh, users, strict=True)], batch_size=5000
        )
        kids = Child.objects.bulk_create(
            [
                Child(
                    household=hh[i % households],
                    first_name=f"Enfant{i}",
                    last_name="Bench",
                    birth_date=dt.date(2018, 1, 1),
                    school=school,
                )
                for i in range(children)
            ],
            batch_size=5000,
        )
        links = []
        n_split = children // 10
        # separated parents: a second guardian (own household) pays the odd weeks
        ex_hh = Household.objects.bulk_create(
            [Household(name=f"{PREFIX} ex {i:06d}") for i in range(n_split)]
        )
        ex_users = User.objects.bulk_create(
            [
                User(email=f"bench-pay-ex-{i}@example.invalid", role="parent", password=password)
                for i in range(n_split)
            ]
        )
        ex_guardians = Guardian.objects.bulk_create(
            [Guardian(household=h, user=u) for h, u in zip(ex_hh, ex_users, strict=True)]
        )
        for i, child in enumerate(kids):
            guardian = guardians[i % households]
            if i < n_split:
                links.append(ChildGuardian(child=child, guardian=guardian, custody_weeks="even"))
                links.append(
                    ChildGuardian(child=child, guardian=ex_guardians[i], custody_weeks="odd")
                )
            else:
                links.append(ChildGuardian(child=child, guardian=guardian))
        ChildGuardian.objects.bulk_create(links, batch_size=5000)
    return [(k.pk, k.household_id) for k in kids]


def rebuild() -> None:
    from django.db import connection

    from backend.accounts.models import User
    from family.models import Household
    from payments.models import Account, BillingRun, Invoice

    Invoice.objects.filter(household__name__startswith=PREFIX).delete()
    BillingRun.objects.filter(invoice__isnull=True).delete()
    Account.objects.filter(household__name__startswith=PREFIX).delete()
    Household.objects.filter(name__startswith=PREFIX).delete()
    User.objects.filter(email__startswith="bench-pay-").delete()
    connection.close()


def meals(kids: list[tuple[int, int]], per_child: int) -> list[BillableMeal]:
    days = school_days(per_child)
    out, n = [], 0
    prices = (183, 245, 298, 367)
    for child_id, household_id in kids:
        price = prices[child_id % len(prices)]
        for day in days:
            n += 1
            out.append(
                BillableMeal(
                    child_id,
                    household_id,
                    day,
                    "meal",
                    price,
                    "EUR",
                    "tranche 3, 1er enfant : 2,45 €",
                    "attendance",
                    n,
                )
            )
    return out


def run(
    *, children: int, meals_per_child: int = 20, batch_size: int = 2000, quiet: bool = True
) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.models import Invoice, InvoiceLine
    from payments.services.billing import billing_run_for_period
    from payments.sources import use_meal_source

    t0 = time.perf_counter()
    kids = build(children)
    build_s = time.perf_counter() - t0
    all_meals = meals(kids, meals_per_child)
    by_child: dict[int, list] = {}
    for m in all_meals:
        by_child.setdefault(m.child_id, []).append(m)

    def source(*, start, end, child_ids=None):
        ids = child_ids if child_ids is not None else list(by_child)
        return [m for cid in ids for m in by_child.get(cid, ())]

    Invoice.objects.filter(household__name__startswith=PREFIX, period=PERIOD).delete()
    results = {
        "children": children,
        "meals": len(all_meals),
        "vendor": connection.vendor,
        "setup_s": round(build_s, 2),
    }
    with use_meal_source(source):
        for label in ("first_run", "second_run"):
            with CaptureQueriesContext(connection) as ctx:
                t = time.perf_counter()
                billing_run = billing_run_for_period(period=PERIOD, batch_size=batch_size)
                elapsed = time.perf_counter() - t
            results[label] = {
                "seconds": round(elapsed, 2),
                "invoices_created": billing_run.invoices_created,
                "lines_created": billing_run.lines_created,
                "queries": len(ctx.captured_queries),
            }
            if not quiet:
                print(label, results[label], flush=True)
    results["lines_in_db"] = InvoiceLine.objects.filter(
        invoice__household__name__startswith=PREFIX
    ).count()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--full", action="store_true", help="50,000 children × 20 meals")
    parser.add_argument("--meals", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.rebuild:
        rebuild()
    children = 50_000 if args.full else args.children
    results = run(
        children=children, meals_per_child=args.meals, batch_size=args.batch_size, quiet=False
    )
    print(json.dumps(results, indent=2))
    ok = (
        results["second_run"]["invoices_created"] == 0
        and results["second_run"]["lines_created"] == 0
    )
    if args.full and results["first_run"]["seconds"] >= 60:
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
