import datetime as dt

import pytest
from django.core import mail

from payments.models import Account, DunningReminder, LedgerEntry, Payment, PaymentSettings
from payments.services.accounting import dunning_send_reminders, reconcile, treasury_export_csv
from payments.services.payments import payment_record_counter
from payments.services.prepaid import prepaid_debit_meals
from payments.sources import use_meal_source
from tests.factories import household_with_parent

from .factories import MealSource, billed_family, meals_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def prepaid():
    conf = PaymentSettings.current()
    conf.mode = PaymentSettings.Mode.PREPAID
    conf.low_balance_threshold_cents = 500
    conf.negative_floor_cents = -1000
    conf.save()
    return conf


def test_prepaid_debits_each_attended_meal_once_and_alerts_once_per_crossing(
    prepaid, admin_user, django_capture_on_commit_callbacks
):
    _h, user, kids = household_with_parent(children=1)
    today = dt.date.today()
    days = [today - dt.timedelta(days=i) for i in range(1, 4)]
    source = MealSource(meals_for(kids, days, 300))
    with use_meal_source(source), django_capture_on_commit_callbacks(execute=True):
        assert prepaid_debit_meals() == 3
        assert prepaid_debit_meals() == 0  # idempotent: unique per meal source
    account = Account.objects.get(guardian__user=user)
    assert (
        sum(LedgerEntry.objects.filter(account=account).values_list("amount_cents", flat=True))
        == -900
    )
    subjects = [m.subject for m in mail.outbox]
    assert sum("bas" in s for s in subjects) == 1 and sum("débiteur" in s for s in subjects) == 0
    # a top-up (at the counter here) back above the threshold resets the alert
    with django_capture_on_commit_callbacks(execute=True):
        payment_record_counter(actor=admin_user, account=account, method="cash", amount_cents=2000)
    account.refresh_from_db()
    assert account.low_balance_alerted is False
    # more meals: below the floor, alerts again — and the meals are still debited (never refused)
    more = MealSource(meals_for(kids, [today - dt.timedelta(days=i) for i in range(4, 12)], 300))
    with use_meal_source(more), django_capture_on_commit_callbacks(execute=True):
        assert prepaid_debit_meals(start=today - dt.timedelta(days=12), end=today) == 8
    subjects = [m.subject for m in mail.outbox]
    assert sum("bas" in s for s in subjects) == 2 and sum("débiteur" in s for s in subjects) == 1


def test_postpaid_mode_does_not_debit_meals():
    _h, _u, kids = household_with_parent(children=1)
    with use_meal_source(MealSource(meals_for(kids, [dt.date.today()]))):
        assert prepaid_debit_meals() == 0
    assert not LedgerEntry.objects.exists()


def test_dunning_sends_each_level_once(django_capture_on_commit_callbacks):
    _h, _u, _k, invoice = billed_family()
    due = invoice.due_date
    with django_capture_on_commit_callbacks(execute=True):
        assert dunning_send_reminders(today=due + dt.timedelta(days=3)) == 0
        assert dunning_send_reminders(today=due + dt.timedelta(days=8)) == 1
        assert dunning_send_reminders(today=due + dt.timedelta(days=9)) == 0
        assert dunning_send_reminders(today=due + dt.timedelta(days=22)) == 1
    assert list(DunningReminder.objects.order_by("level").values_list("level", flat=True)) == [1, 2]
    assert sum("Rappel" in m.subject for m in mail.outbox) == 2


def test_reconciliation_reports_each_kind_of_gap(admin_user):
    _h, _u, _k, invoice = billed_family()

    def payment(ref, status, amount=500):
        return Payment.objects.create(
            account=invoice.account,
            household=invoice.household,
            provider="stripe",
            status=status,
            amount_cents=amount,
            idempotency_key=f"k-{ref}",
            provider_reference=ref,
        )

    ours = [
        payment("pi_ok", "succeeded"),
        payment("pi_gone", "succeeded"),
        payment("pi_late", "pending"),
        payment("pi_amt", "succeeded"),
    ]
    report = reconcile(
        provider_items=[
            {"reference": "pi_ok", "amount": 500, "status": "succeeded"},
            {"reference": "pi_late", "amount": 500, "status": "succeeded"},
            {"reference": "pi_amt", "amount": 400, "status": "succeeded"},
            {"reference": "pi_stranger", "amount": 100, "status": "succeeded"},
        ],
        payments=ours,
    )
    assert [r["reference"] for r in report.matched] == ["pi_ok"]
    assert sorted(r["reference"] for r in report.missing_in_ledger) == ["pi_late", "pi_stranger"]
    assert [r["reference"] for r in report.missing_at_provider] == ["pi_gone"]
    assert [r["reference"] for r in report.amount_mismatch] == ["pi_amt"]
    assert not report.ok


def test_treasury_export_totals_equal_the_ledger(admin_user):
    _h, _u, _k, invoice = billed_family()
    payment_record_counter(
        actor=admin_user,
        account=invoice.account,
        method="cash",
        amount_cents=480,
        invoices=[invoice],
    )
    period = dt.date.today().replace(day=1)
    rows = (
        treasury_export_csv(period=period, service="all").decode("utf-8-sig").strip().splitlines()
    )
    assert rows[-1].split(";")[11] == str(480 - invoice.total_cents)
    only_payments = (
        treasury_export_csv(period=period, service="encaissements")
        .decode("utf-8-sig")
        .strip()
        .splitlines()
    )
    assert len(only_payments) == 3 and only_payments[-1].split(";")[11] == "480"
