import datetime as dt

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from backend.core.exceptions import ApplicationError
from family.models import ChildGuardian
from payments.models import Account, BillingRun, Invoice, InvoiceLine, LedgerEntry, PaymentSettings
from payments.services.billing import (
    billing_run_for_period,
    invoice_cancel,
    invoices_issue,
    parse_period,
    payers_for_day,
    split_amount,
)
from payments.sources import use_meal_source
from tests.factories import GuardianFactory, household_with_parent

from .factories import PERIOD, MealSource, meals_for, school_days

pytestmark = pytest.mark.django_db


def test_run_builds_one_invoice_per_payer_with_lines_and_total():
    # given two families, one with two children
    _h1, u1, kids1 = household_with_parent(children=2)
    _h2, u2, kids2 = household_with_parent(children=1)
    source = MealSource(meals_for(kids1 + kids2, school_days(2026, 10, 20), 245))
    # when
    with use_meal_source(source):
        run = billing_run_for_period(period=PERIOD)
    # then
    assert run.invoices_created == 2
    assert run.lines_created == 60
    inv1 = Invoice.objects.get(account__guardian__user=u1)
    assert inv1.status == Invoice.Status.DRAFT
    assert inv1.total_cents == 40 * 245 == sum(inv1.lines.values_list("amount_cents", flat=True))
    assert inv1.number == f"202610-{inv1.account_id:06d}"
    assert Invoice.objects.get(account__guardian__user=u2).total_cents == 20 * 245
    assert LedgerEntry.objects.count() == 0  # drafts do not touch the ledger


def test_second_run_changes_nothing():
    _h, _u, kids = household_with_parent(children=2)
    source = MealSource(meals_for(kids, school_days(2026, 10, 5)))
    with use_meal_source(source):
        billing_run_for_period(period=PERIOD)
        before = list(InvoiceLine.objects.order_by("pk").values_list("pk", "amount_cents"))
        second = billing_run_for_period(period=PERIOD)
    assert second.invoices_created == 0
    assert second.lines_created == 0
    assert second.stats["skipped_existing"] == 1
    assert list(InvoiceLine.objects.order_by("pk").values_list("pk", "amount_cents")) == before
    assert Invoice.objects.count() == 1


def test_query_count_does_not_grow_with_families():
    def queries_for(n_families):
        kids = []
        for _ in range(n_families):
            kids += household_with_parent(children=1)[2]
        source = MealSource(meals_for(kids, school_days(2026, 10, 3)))
        with use_meal_source(source), CaptureQueriesContext(connection) as ctx:
            billing_run_for_period(period=PERIOD, batch_size=1000)
        Invoice.objects.all().delete()
        return len(ctx.captured_queries)

    PaymentSettings.current()
    small = queries_for(2)
    large = queries_for(20)
    assert large == small


def test_custody_by_week_parity_bills_each_payer_their_weeks():
    _household, mother, kids = household_with_parent(children=1)
    child = kids[0]
    ChildGuardian.objects.filter(child=child).update(custody_weeks="even")
    father = GuardianFactory()  # another household: separated parents
    ChildGuardian.objects.create(child=child, guardian=father, custody_weeks="odd")
    days = school_days(2026, 10, 10)
    with use_meal_source(MealSource(meals_for(kids, days, 300))):
        billing_run_for_period(period=PERIOD)
    even_days = [d for d in days if d.isocalendar().week % 2 == 0]
    odd_days = [d for d in days if d.isocalendar().week % 2 == 1]
    mother_inv = Invoice.objects.get(account__guardian__user=mother)
    father_inv = Invoice.objects.get(account__guardian=father)
    assert sorted(mother_inv.lines.values_list("day", flat=True)) == even_days
    assert sorted(father_inv.lines.values_list("day", flat=True)) == odd_days
    assert father_inv.household_id == father.household_id
    assert mother_inv.total_cents + father_inv.total_cents == 300 * len(days)


def test_percentage_split_sums_exactly():
    _h, mother, kids = household_with_parent(children=1)
    ChildGuardian.objects.filter(child=kids[0]).update(billing_share_percent=50)
    father = GuardianFactory()
    ChildGuardian.objects.create(child=kids[0], guardian=father, billing_share_percent=50)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 3), 245))):
        billing_run_for_period(period=PERIOD)
    a = Invoice.objects.get(account__guardian__user=mother)
    b = Invoice.objects.get(account__guardian=father)
    assert a.total_cents + b.total_cents == 3 * 245
    assert set(InvoiceLine.objects.values_list("share_percent", flat=True)) == {50}


def test_non_payer_guardian_gets_no_invoice():
    _h, _user, kids = household_with_parent(children=1)
    ChildGuardian.objects.filter(child=kids[0]).update(billing_payer=False)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 3)))):
        run = billing_run_for_period(period=PERIOD)
    assert run.invoices_created == 0
    assert not Invoice.objects.exists()


@given(
    amount=st.integers(min_value=0, max_value=10_000_000),
    shares=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=4).filter(
        lambda s: sum(s) > 0
    ),
)
def test_split_amount_is_exact_and_fair(amount, shares):
    parts = split_amount(amount, shares)
    assert sum(parts) == amount
    assert all(isinstance(p, int) for p in parts)
    for part, share in zip(parts, shares, strict=True):
        assert abs(part - amount * share / sum(shares)) < 1


def test_payers_for_day_falls_back_to_everyone_when_no_week_matches():
    monday_odd = dt.date(2026, 10, 5)  # ISO week 41
    assert payers_for_day([(1, "even", 100)], monday_odd) == [(1, 100)]
    assert payers_for_day([(1, "even", 100), (2, "odd", 100)], monday_odd) == [(2, 100)]


def test_issue_writes_charge_and_emails_amount_and_due_date(django_capture_on_commit_callbacks):
    _h, _user, kids = household_with_parent(children=1)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 4), 250))):
        billing_run_for_period(period=PERIOD)
    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_issue(period=PERIOD) == 1
        assert invoices_issue(period=PERIOD) == 0  # idempotent
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.due_date is not None
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount_cents, entry.invoice_id) == ("meal_charge", -1000, invoice.pk)
    assert len(mail.outbox) == 1
    assert "10,00" in mail.outbox[0].subject
    assert invoice.due_date.strftime("%d/%m/%Y") in mail.outbox[0].body


def test_issue_email_states_debit_date_for_sepa_payers(django_capture_on_commit_callbacks):
    _h, user, kids = household_with_parent(children=1)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 2)))):
        billing_run_for_period(period=PERIOD)
    Account.objects.filter(guardian__user=user).update(
        sepa_payment_method_id="pm_x", sepa_iban_last4="0189"
    )
    with django_capture_on_commit_callbacks(execute=True):
        invoices_issue(period=PERIOD)
    invoice = Invoice.objects.get()
    assert invoice.debit_date is not None
    assert "prélevée" in mail.outbox[0].body
    assert invoice.debit_date.strftime("%d/%m/%Y") in mail.outbox[0].body


def test_cancel_adds_credit_note_and_rerun_reissues_a_new_version(staff_user):
    _h, _user, kids = household_with_parent(children=1)
    source = MealSource(meals_for(kids, school_days(2026, 10, 2), 500))
    with use_meal_source(source):
        billing_run_for_period(period=PERIOD, issue=True)
        invoice = Invoice.objects.get()
        invoice_cancel(invoice=invoice, actor=staff_user, reason="erreur de pointage")
        with pytest.raises(ApplicationError):
            invoice_cancel(invoice=invoice, actor=staff_user, reason="encore")
        billing_run_for_period(period=PERIOD)
    kinds = sorted(LedgerEntry.objects.values_list("kind", "amount_cents"))
    assert kinds == [("credit_note", 1000), ("meal_charge", -1000)]
    v2 = Invoice.objects.exclude(pk=invoice.pk).get()
    assert v2.version == 2
    assert v2.number.endswith("-2")
    assert v2.status == Invoice.Status.DRAFT


def test_future_period_and_bad_period_are_refused():
    with pytest.raises(ApplicationError):
        billing_run_for_period(period=dt.date(2030, 1, 1))
    with pytest.raises(ApplicationError):
        parse_period("2026-13")
    with pytest.raises(CommandError):
        call_command("run_billing", "--period", "octobre")


def test_command_runs_and_is_idempotent(capsys):
    _h, _u, kids = household_with_parent(children=1)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 3)))):
        call_command("run_billing", "--period", "2026-10", "--issue", "--no-progress")
        call_command("run_billing", "--period", "2026-10", "--no-progress")
    out = capsys.readouterr().out
    assert "1 factures créées" in out
    assert "0 factures créées" in out
    assert BillingRun.objects.count() == 2
    assert Invoice.objects.get().status == Invoice.Status.ISSUED


def test_ledger_entries_are_append_only():
    _h, _u, kids = household_with_parent(children=1)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 1)))):
        billing_run_for_period(period=PERIOD, issue=True)
    entry = LedgerEntry.objects.get()
    entry.amount_cents = 1
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_booking_block_rule_off_by_default_and_on_when_configured(time_machine):
    from payments.selectors import booking_block_reason

    household, _u, kids = household_with_parent(children=1)
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 1)))):
        billing_run_for_period(period=PERIOD, issue=True)
    invoice = Invoice.objects.get()
    assert booking_block_reason(household=household) is None
    conf = PaymentSettings.current()
    conf.block_bookings_after_days = 10
    conf.save()
    assert booking_block_reason(household=household) is None  # not due yet
    time_machine.move_to(invoice.due_date + dt.timedelta(days=11))
    assert invoice.number in booking_block_reason(household=household)
