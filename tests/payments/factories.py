"""Payment test data: billable meals fed straight to the billing run, families with payers."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from family.models import ChildGuardian
from payments.models import Account, Invoice
from payments.services.billing import billing_run_for_period, invoices_issue
from payments.sources import use_meal_source
from tests.factories import household_with_parent

_ids = itertools.count(1)


@dataclass(frozen=True)
class BillableMeal:
    """Same fields as canteen.selectors.BillableMeal (the contract)."""

    child_id: int
    household_id: int
    day: dt.date
    kind: str
    amount_cents: int
    currency: str
    explanation: str
    source: str
    source_id: int


def school_days(year: int, month: int, count: int = 20) -> list[dt.date]:
    day, days = dt.date(year, month, 1), []
    while len(days) < count and day.month == month:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def meals_for(children, days, amount_cents: int = 245, kind: str = "meal") -> list[BillableMeal]:
    return [
        BillableMeal(
            child_id=c.pk,
            household_id=c.household_id,
            day=d,
            kind=kind,
            amount_cents=amount_cents,
            currency="EUR",
            explanation="tranche 3 : 2,45 €",
            source="attendance",
            source_id=next(_ids),
        )
        for c in children
        for d in days
    ]


class MealSource:
    """A stand-in for canteen.selectors.billable_meals over a fixed list of meals."""

    def __init__(self, meals):
        self.meals = list(meals)
        self.calls = 0

    def __call__(self, *, start, end, child_ids=None):
        self.calls += 1
        wanted = set(child_ids) if child_ids is not None else None
        return [
            m
            for m in self.meals
            if start <= m.day <= end and (wanted is None or m.child_id in wanted)
        ]


PERIOD = dt.date(2026, 10, 1)


def billed_family(*, email=None, children=1, meals_per_child=4, amount_cents=245, issue=True):
    """A household with a payer and issued invoice(s) for October 2026. Returns (household, user, kids, invoice)."""
    household, user, kids = household_with_parent(email=email, children=children)
    source = MealSource(meals_for(kids, school_days(2026, 10, meals_per_child), amount_cents))
    with use_meal_source(source):
        billing_run_for_period(period=PERIOD)
    account = Account.objects.get(guardian__user=user)
    invoice = Invoice.objects.get(account=account, period=PERIOD)
    if issue:
        invoices_issue(invoice_ids=[invoice.pk])
        invoice.refresh_from_db()
    return household, user, kids, invoice


def extra_invoice(*, user, period: dt.date, meals=2, amount_cents=300):
    """Another issued invoice (another month) for the same payer."""
    account = Account.objects.get(guardian__user=user)
    kids = [cg.child for cg in ChildGuardian.objects.filter(guardian__user=user)]
    source = MealSource(
        meals_for(kids, school_days(period.year, period.month, meals), amount_cents)
    )
    with use_meal_source(source):
        billing_run_for_period(period=period)
    invoice = Invoice.objects.get(account=account, period=period)
    invoices_issue(invoice_ids=[invoice.pk])
    invoice.refresh_from_db()
    return invoice
