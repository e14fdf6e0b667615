"""``payments_audit`` finds broken books; the ledger is append-only in the database; after-school
activities are billed on the monthly invoice with their tariff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from family.models import Activity, ActivityRegistration
from payments.models import ActivityTariff, Finding, Invoice, LedgerEntry, Payment
from payments.services.audit import audit_books
from payments.services.billing import billing_run_for_period, invoices_issue
from payments.services.payments import payment_record_counter
from payments.sources import use_meal_source

from .factories import PERIOD, MealSource, billed_family, meals_for, school_days

pytestmark = pytest.mark.django_db


def test_audit_command_passes_on_sound_books_and_fails_with_a_report(capsys, staff_user):
    _h, user, _k, invoice = billed_family()
    payment_record_counter(
        actor=staff_user,
        account=invoice.account,
        method=Payment.Provider.CASH,
        amount_cents=invoice.total_cents,
        invoices=[invoice],
    )
    call_command("payments_audit", "--no-stripe")
    assert "OK: no finding." in capsys.readouterr().out
    # an invoice marked paid twice over (as a silent double success would)
    Invoice.objects.filter(pk=invoice.pk).update(paid_cents=2 * invoice.total_cents)
    with pytest.raises(CommandError) as exc:
        call_command("payments_audit", "--no-stripe")
    assert exc.value.returncode == 1
    out = capsys.readouterr().out
    assert f"invoice {invoice.number}: paid {2 * invoice.total_cents}" in out
    assert "paid twice" in out


def test_nightly_audit_records_a_finding_and_alerts_finance(
    admin_user, staff_user, django_capture_on_commit_callbacks
):
    from backend.core.models import Notification
    from payments.tasks import payments_audit_task

    _h, _user, _k, invoice = billed_family()
    assert payments_audit_task() == 0
    Payment.objects.create(
        account=invoice.account,
        household=invoice.household,
        provider=Payment.Provider.CASH,
        amount_cents=100,
        idempotency_key="t:no-ledger",
        status=Payment.Status.SUCCEEDED,
    )  # succeeded with no ledger entry
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_audit_task() >= 1
    finding = Finding.objects.get(kind=Finding.Kind.AUDIT)
    assert any("ledger payment:" in p for p in finding.data["problems"])
    assert Notification.objects.filter(user=admin_user).exists()
    assert not Notification.objects.filter(user=staff_user).exists()


def test_ledger_refuses_updates_and_deletes_in_python_and_in_the_database():
    _h, _user, _k, _invoice = billed_family()
    entry = LedgerEntry.objects.get()
    with pytest.raises(ValueError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount_cents=1)
    with pytest.raises(ValueError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    table = LedgerEntry._meta.db_table
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET amount_cents = 1 WHERE id = %s", [entry.pk])  # noqa: S608
    entry.refresh_from_db()
    assert entry.amount_cents != 1
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [entry.pk])  # noqa: S608
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_activity_registrations_are_billed_with_their_tariff():
    from tests.factories import household_with_parent

    _household, user, (child,) = household_with_parent()
    activity = Activity.objects.create(
        school=child.school,
        name="Étude du soir",
        kind=Activity.Kind.EVENING_STUDY,
        capacity=10,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2027, 6, 30),
        weekdays=[1, 3],  # Tuesday, Thursday
    )
    ActivityTariff.objects.create(activity=activity, amount_cents=120)
    ActivityRegistration.objects.create(
        activity=activity,
        child=child,
        state="confirmed",
        confirmed_at=dt.datetime(2026, 10, 12, 9, tzinfo=dt.UTC),
        cancelled_at=dt.datetime(2026, 10, 27, 9, tzinfo=dt.UTC),
    )
    with use_meal_source(MealSource(meals_for([child], school_days(2026, 10, 2)))):
        billing_run_for_period(period=PERIOD)
        billing_run_for_period(period=PERIOD)  # idempotent
    invoice = Invoice.objects.get()
    sessions = list(invoice.lines.filter(kind="activity").values_list("day", flat=True))
    # Tue 13, Thu 15, Tue 20, Thu 22 (registration from the 12th, cancelled on the 27th)
    assert sessions == [dt.date(2026, 10, d) for d in (13, 15, 20, 22)]
    assert invoice.total_cents == 2 * 245 + 4 * 120
    invoices_issue(invoice_ids=[invoice.pk])
    charges = dict(LedgerEntry.objects.values_list("kind", "amount_cents"))
    assert charges == {"meal_charge": -490, "activity_charge": -480}
    assert audit_books().ok
