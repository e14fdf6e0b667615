"""Demo data: three past months billed for the two demo families, some already paid.

parent@example.org (Famille Martin) keeps two open invoices to pay at once in the browser;
parent2@example.org (Famille Benali) has paid by cheque, so staff can refund part of it.
Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import zlib


def _month_start(day: dt.date, back: int) -> dt.date:
    year, month = day.year, day.month - back
    while month <= 0:
        month += 12
        year -= 1
    return dt.date(year, month, 1)


def _generated_meals(children, start: dt.date, end: dt.date):
    """When the canteen has no attendance for a past month, invent a plausible one (Mon, Tue, Thu, Fri)."""
    from canteen.selectors import BillableMeal, meal_price

    meals = []
    day = start
    while day <= end:
        if day.weekday() in (0, 1, 3, 4):
            for child in children:
                quote = meal_price(child=child, day=day)
                meals.append(
                    BillableMeal(
                        child_id=child.pk,
                        household_id=child.household_id,
                        day=day,
                        kind="meal",
                        amount_cents=quote.amount_cents,
                        currency=quote.currency,
                        explanation=quote.explanation,
                        source="demo",
                        source_id=zlib.crc32(f"{child.pk}:{day}".encode()),
                    )
                )
        day += dt.timedelta(days=1)
    return meals


def seed(*, progress) -> None:
    from django.utils import timezone

    from backend.accounts.models import User
    from family.models import Child, Household

    from . import sources
    from .models import Account, Invoice, PaymentSettings
    from .services.billing import billing_run_for_period, invoices_issue, period_bounds
    from .services.payments import payment_record_counter

    PaymentSettings.current()
    households = list(
        Household.objects.filter(
            guardians__user__email__in=["parent@example.org", "parent2@example.org"]
        )
    )
    if not households:
        return
    children = list(Child.objects.filter(household__in=households))
    child_ids = [c.pk for c in children]
    today = timezone.localdate()
    staff = User.objects.filter(email="staff@example.org").first()
    for back in progress("Facturation de démonstration", [3, 2, 1]):
        period = _month_start(today, back)
        if Invoice.objects.filter(period=period, household__in=households).exists():
            continue
        start, end = period_bounds(period)
        meals = sources.billable_meals(start=start, end=end, child_ids=child_ids)
        if not meals:
            meals = _generated_meals(children, start, end)

        def source(*, start, end, child_ids=None, _meals=meals):
            wanted = set(child_ids or [])
            return [
                m
                for m in _meals
                if start <= m.day <= end and (child_ids is None or m.child_id in wanted)
            ]

        with sources.use_meal_source(source):
            billing_run_for_period(period=period)
        ids = list(
            Invoice.objects.filter(period=period, household__in=households).values_list(
                "pk", flat=True
            )
        )
        invoices_issue(invoice_ids=ids)

    # Payments already made: Martin's oldest month in cash, Benali's two oldest by cheque.
    plans = [("parent@example.org", [3], "cash"), ("parent2@example.org", [3, 2], "cheque")]
    for email, months, method in plans:
        account = Account.objects.filter(guardian__user__email=email).first()
        if account is None:
            continue
        for back in months:
            period = _month_start(today, back)
            invoice = Invoice.objects.filter(account=account, period=period).first()
            if invoice is None:
                continue
            payment_record_counter(
                actor=staff,
                account=account,
                method=method,
                amount_cents=invoice.total_cents,
                invoices=[invoice] if invoice.is_open else [],
                reference=f"CHQ-{invoice.number}" if method == "cheque" else "",
                idempotency_key=f"demo:{invoice.number}",
            )
