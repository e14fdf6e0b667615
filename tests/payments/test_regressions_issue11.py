"""Issue 11: one regression test per observed item (each failed before its fix).

Against localstripe with the real ``stripe`` library where money moves at the provider; a
fault-injecting transport (``faults.lossy_stripe``) loses responses or makes Stripe unreachable.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
import stripe
from django.urls import reverse

from backend.core.exceptions import ApplicationError
from payments.models import (
    Account,
    Finding,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentSettings,
    Refund,
)
from payments.services.audit import audit_books
from payments.services.billing import billing_run_for_period, invoice_cancel, invoices_issue
from payments.services.payments import payment_record_counter, payment_start_online, refund_create
from payments.services.stripe_events import stripe_catch_up
from payments.sources import use_meal_source

from .conftest import WEBHOOK_SECRET, event_payload, sign
from .factories import PERIOD, MealSource, billed_family, extra_invoice, meals_for, school_days
from .faults import lossy_stripe

URL = "/payments/stripe/webhook/"
NOW = dt.timedelta(seconds=0)


def _obj(resource) -> dict:
    return json.loads(str(resource))


def _deliver(client, type_, obj, *, livemode=False, event_id=None):
    payload = json.loads(event_payload(event_id or f"evt_{uuid.uuid4().hex}", type_, obj))
    payload["livemode"] = livemode
    body = json.dumps(payload).encode()
    return client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )


def _charge_of(payment) -> dict:
    latest = _obj(stripe.PaymentIntent.retrieve(payment.provider_reference))["latest_charge"]
    return latest if isinstance(latest, dict) else _obj(stripe.Charge.retrieve(latest))


def _assert_books_balance(provider=False):
    report = audit_books(provider=provider)
    assert report.ok, report.text()


# --- 1. refund with a lost response ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_1_refund_with_lost_response_stays_pending_and_is_confirmed_once(localstripe, staff_user):
    _h, user, _k, invoice = billed_family()  # 9.80 €
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    with lossy_stripe() as transport:
        transport.lose("post", "/v1/refunds")
        refund = refund_create(
            actor=staff_user,
            payment=payment,
            amount_cents=300,
            reason="repas annulé",
            token="a" * 32,
        )
        assert transport.lost == 1
    # Stripe refunded; we did not hear it: the refund is pending, the amount stays reserved
    assert refund.status == Refund.Status.PENDING
    assert refund.idempotency_key.startswith(f"minot:refund:{refund.pk}:")
    payment.refresh_from_db()
    assert payment.refunded_cents == 300
    # the staff member submits the same form again: same refund, nothing sent twice
    again = refund_create(
        actor=staff_user, payment=payment, amount_cents=300, reason="repas annulé", token="a" * 32
    )
    assert again.pk == refund.pk
    # the catch-up finds it at Stripe by its key: succeeded, one ledger entry, one Stripe refund
    stripe_catch_up(stale_after=NOW)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.provider_reference.startswith("re_")
    at_stripe = stripe.Refund.list(payment_intent=payment.provider_reference)
    assert [r["amount"] for r in at_stripe.auto_paging_iter()] == [300]
    assert list(
        LedgerEntry.objects.filter(kind="refund").values_list("amount_cents", flat=True)
    ) == [-300]
    _assert_books_balance(provider=True)


@pytest.mark.django_db(transaction=True)
def test_1_charge_refunded_event_confirms_a_pending_refund(localstripe, staff_user, client):
    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    with lossy_stripe() as transport:
        transport.lose("post", "/v1/refunds")
        refund = refund_create(actor=staff_user, payment=payment, amount_cents=200, reason="x")
    assert refund.status == Refund.Status.PENDING
    charge = _charge_of(payment)
    refunds = [
        _obj(r)
        for r in stripe.Refund.list(payment_intent=payment.provider_reference).auto_paging_iter()
    ]
    charge["refunds"] = {"object": "list", "data": refunds}
    assert _deliver(client, "charge.refunded", charge).status_code == 200
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Refund.objects.count() == 1
    _assert_books_balance(provider=True)


# --- 2. two tabs, overlapping invoices ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_2_second_tab_cancels_the_first_tabs_payment_intent(localstripe, settings):
    _h, user, _k, october = billed_family()
    september = extra_invoice(user=user, period=dt.date(2026, 9, 1))
    settings.MINOT_PAYMENTS_SERVER_CONFIRM = False
    tab1 = payment_start_online(actor=user, invoices=[october, september])  # Payment Element
    assert tab1.status == Payment.Status.PENDING
    assert tab1.provider_reference
    tab2 = payment_start_online(actor=user, invoices=[october], payment_method="pm_card_visa")
    assert tab2.status == Payment.Status.SUCCEEDED
    # tab 1's PaymentIntent can no longer be confirmed: it is cancelled at Stripe
    assert stripe.PaymentIntent.retrieve(tab1.provider_reference)["status"] == "canceled"
    tab1.refresh_from_db()
    assert tab1.status == Payment.Status.CANCELED
    october.refresh_from_db()
    assert october.status == Invoice.Status.PAID
    assert october.paid_cents == october.total_cents
    _assert_books_balance(provider=True)


@pytest.mark.django_db(transaction=True)
def test_2_retry_after_decline_cancels_the_declined_intent(localstripe):
    _h, user, _k, invoice = billed_family()
    declined = payment_start_online(
        actor=user, invoices=[invoice], payment_method="pm_card_chargeCustomerFail"
    )
    assert declined.status == Payment.Status.FAILED
    assert stripe.PaymentIntent.retrieve(declined.provider_reference)["status"] == (
        "requires_payment_method"
    )
    retry = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    assert retry.status == Payment.Status.SUCCEEDED
    assert stripe.PaymentIntent.retrieve(declined.provider_reference)["status"] == "canceled"


@pytest.mark.django_db(transaction=True)
def test_2_success_on_an_already_paid_invoice_is_refunded_and_shown(localstripe, staff_user):
    """A card payment whose answer was lost succeeds at Stripe while staff take a cheque for the
    same invoice: the second money is an overpayment, refunded automatically, listed for staff."""
    _h, user, _k, invoice = billed_family()
    with lossy_stripe() as transport:
        transport.lose("post", "/v1/payment_intents")
        with pytest.raises(ApplicationError):
            payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    card = Payment.objects.get(provider=Payment.Provider.STRIPE)
    assert card.status == Payment.Status.PENDING
    assert card.provider_reference is None
    account = Account.objects.get(guardian__user=user)
    payment_record_counter(
        actor=staff_user,
        account=account,
        method=Payment.Provider.CHEQUE,
        amount_cents=invoice.total_cents,
        invoices=[invoice],
        reference="123",
    )
    stripe_catch_up(stale_after=NOW)  # finds the PaymentIntent by the row's id and nonce
    card.refresh_from_db()
    assert card.status == Payment.Status.SUCCEEDED
    assert card.provider_reference
    finding = Finding.objects.get(kind=Finding.Kind.OVERPAYMENT, payment=card)
    assert finding.amount_cents == invoice.total_cents
    assert finding.status == Finding.Status.RESOLVED
    assert finding.refund is not None
    assert finding.refund.status == Refund.Status.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.paid_cents == invoice.total_cents  # paid once
    _assert_books_balance(provider=True)


@pytest.mark.django_db
def test_2_overpayment_kept_as_credit_pays_the_next_invoice(stripe_settings, staff_user):
    conf = PaymentSettings.current()
    conf.overpayment_policy = PaymentSettings.OverpaymentPolicy.CREDIT
    conf.save()
    _h, user, _k, invoice = billed_family()
    account = Account.objects.get(guardian__user=user)
    card = Payment.objects.create(
        account=account,
        household=account.household,
        provider=Payment.Provider.STRIPE,
        amount_cents=invoice.total_cents,
        idempotency_key="t:1",
        nonce="n1",
        provider_reference="pi_tab1",
    )
    card.allocations.create(invoice=invoice, amount_cents=invoice.total_cents, is_open_attempt=True)
    payment_record_counter(
        actor=staff_user,
        account=account,
        method=Payment.Provider.CASH,
        amount_cents=invoice.total_cents,
        invoices=[invoice],
    )
    from payments.services.payments import payment_apply_status

    payment_apply_status(payment_id=card.pk, status=Payment.Status.SUCCEEDED)
    finding = Finding.objects.get(kind=Finding.Kind.OVERPAYMENT)
    assert finding.refund is None
    assert "avoir" in finding.resolution
    november = extra_invoice(user=user, period=dt.date(2026, 11, 1), meals=2, amount_cents=300)
    assert november.status == Invoice.Status.PAID
    assert november.paid_cents == 600
    _assert_books_balance()


# --- 3. cancelling a paid invoice, then billing again -----------------------------------------


@pytest.mark.django_db
def test_3_cancel_paid_invoice_and_rebill_does_not_bill_or_debit_again(staff_user):
    _h, user, kids, invoice = billed_family()
    account = Account.objects.get(guardian__user=user)
    payment_record_counter(
        actor=staff_user,
        account=account,
        method=Payment.Provider.CASH,
        amount_cents=invoice.total_cents,
        invoices=[invoice],
    )
    invoice_cancel(invoice=invoice, actor=staff_user, reason="présences corrigées")
    Account.objects.filter(pk=account.pk).update(sepa_payment_method_id="pm_sepa_test")
    # the corrected attendance: one more meal
    source = MealSource(meals_for(kids, school_days(2026, 10, 5)))
    with use_meal_source(source):
        billing_run_for_period(period=PERIOD)
    v2 = Invoice.objects.get(account=account, period=PERIOD, version=2)
    invoices_issue(invoice_ids=[v2.pk])
    v2.refresh_from_db()
    assert v2.paid_cents == invoice.total_cents  # the money moved to the replacing version
    assert v2.outstanding_cents == 245
    assert v2.status == Invoice.Status.PARTIALLY_PAID
    invoice.refresh_from_db()
    assert invoice.paid_cents == 0
    assert invoice.status == Invoice.Status.CANCELLED
    from payments.selectors import account_balance_cents

    assert account_balance_cents(account=account) == -245
    _assert_books_balance()


@pytest.mark.django_db
def test_3_rebill_same_amount_is_paid_and_sepa_debits_nothing(staff_user):
    from payments.services.sepa import sepa_debits_create_due

    _h, user, kids, invoice = billed_family()
    account = Account.objects.get(guardian__user=user)
    payment_record_counter(
        actor=staff_user,
        account=account,
        method=Payment.Provider.CASH,
        amount_cents=invoice.total_cents,
        invoices=[invoice],
    )
    invoice_cancel(invoice=invoice, actor=staff_user, reason="erreur de tarif")
    Account.objects.filter(pk=account.pk).update(sepa_payment_method_id="pm_sepa_test")
    with use_meal_source(MealSource(meals_for(kids, school_days(2026, 10, 4)))):
        billing_run_for_period(period=PERIOD)
    v2 = Invoice.objects.get(account=account, period=PERIOD, version=2)
    invoices_issue(invoice_ids=[v2.pk])
    v2.refresh_from_db()
    assert v2.status == Invoice.Status.PAID
    assert sepa_debits_create_due(today=v2.debit_date) == 0
    assert not Payment.objects.filter(provider=Payment.Provider.SEPA).exists()
    _assert_books_balance()


@pytest.mark.django_db
def test_3_cancel_refused_while_a_payment_is_in_progress(staff_user):
    _h, _user, _k, invoice = billed_family()
    card = Payment.objects.create(
        account=invoice.account,
        household=invoice.household,
        provider=Payment.Provider.SEPA,
        amount_cents=invoice.total_cents,
        idempotency_key="t:sepa",
        status=Payment.Status.PROCESSING,
        provider_reference="pi_x",
    )
    card.allocations.create(invoice=invoice, amount_cents=invoice.total_cents, is_open_attempt=True)
    with pytest.raises(ApplicationError, match="en cours"):
        invoice_cancel(invoice=invoice, actor=staff_user, reason="x")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert not LedgerEntry.objects.filter(kind="credit_note").exists()


# --- 4. metadata is not trusted --------------------------------------------------------------


def _unreferenced_sepa(invoice, nonce="n" * 32):
    payment = Payment.objects.create(
        account=invoice.account,
        household=invoice.household,
        provider=Payment.Provider.SEPA,
        amount_cents=invoice.total_cents,
        idempotency_key=f"minot:sepa:invoice:{invoice.pk}",
        nonce=nonce,
    )
    payment.allocations.create(
        invoice=invoice, amount_cents=invoice.total_cents, is_open_attempt=True
    )
    return payment


def _intent_for(payment, *, pi="pi_restored", metadata=None, amount=None, livemode=False):
    return {
        "id": pi,
        "object": "payment_intent",
        "amount": amount or payment.amount_cents,
        "currency": "eur",
        "status": "succeeded",
        "livemode": livemode,
        "metadata": metadata
        if metadata is not None
        else {"minot_payment_id": str(payment.pk), "minot_household_id": str(payment.household_id)},
    }


@pytest.mark.django_db(transaction=True)
def test_4_event_naming_our_id_without_our_nonce_is_not_applied(client, stripe_settings):
    _h, _user, _k, invoice = billed_family()
    payment = _unreferenced_sepa(invoice)
    # an event from a restored backup / shared account names our row id, not our nonce
    assert _deliver(client, "payment_intent.succeeded", _intent_for(payment)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert payment.provider_reference is None
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.paid_cents == 0
    # with the row's nonce (our own lost create response), it is adopted
    metadata = {
        "minot_payment_id": str(payment.pk),
        "minot_household_id": str(payment.household_id),
        "minot_nonce": payment.nonce,
    }
    _deliver(
        client, "payment_intent.succeeded", _intent_for(payment, pi="pi_ours", metadata=metadata)
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.provider_reference == "pi_ours"


@pytest.mark.django_db(transaction=True)
def test_4_event_is_verified_against_household_and_livemode(client, stripe_settings):
    _h, _user, _k, invoice = billed_family()
    payment = _unreferenced_sepa(invoice)
    Payment.objects.filter(pk=payment.pk).update(provider_reference="pi_known")
    wrong_household = _intent_for(
        payment, pi="pi_known", metadata={"minot_household_id": str(payment.household_id + 999)}
    )
    _deliver(client, "payment_intent.succeeded", wrong_household)
    live = _intent_for(payment, pi="pi_known")
    _deliver(client, "payment_intent.succeeded", live, livemode=True)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING
    assert Finding.objects.filter(kind=Finding.Kind.EVENT_MISMATCH).count() == 2


# --- 5. SEPA while Stripe is down; failure or dispute after success ---------------------------


@pytest.mark.django_db(transaction=True)
def test_5_sepa_debit_while_stripe_is_down_is_retried_until_it_has_a_reference(localstripe, client):
    from payments.selectors import pending_debit_invoice_ids
    from payments.services.sepa import sepa_debits_create_due, sepa_mandate_setup

    _h, user, _k, invoice = billed_family(issue=False)
    account = Account.objects.get(guardian__user=user)
    sepa_mandate_setup(actor=user, account=account, iban="FR76 3000 6000 0112 3456 7890 189")
    invoices_issue(invoice_ids=[invoice.pk])
    invoice.refresh_from_db()
    with lossy_stripe() as transport:
        transport.down("post", "/v1/payment_intents")
        assert sepa_debits_create_due(today=invoice.debit_date) == 0
    debit = Payment.objects.get(provider=Payment.Provider.SEPA)
    assert debit.status == Payment.Status.PENDING
    assert debit.provider_reference is None
    # the family still sees the invoice to pay
    assert pending_debit_invoice_ids(invoice_ids=[invoice.pk]) == set()
    # Stripe is back: the next run creates the debit (same row, same key)
    assert sepa_debits_create_due(today=invoice.debit_date) == 1
    debit.refresh_from_db()
    assert debit.provider_reference.startswith("pi_")
    assert Payment.objects.filter(provider=Payment.Provider.SEPA).count() == 1
    time.sleep(1)  # localstripe settles SEPA after 0.5 s
    stripe_catch_up(stale_after=NOW)
    debit.refresh_from_db()
    assert debit.status == Payment.Status.SUCCEEDED
    _assert_books_balance(provider=True)


@pytest.mark.django_db(transaction=True)
def test_5_failure_or_dispute_after_success_reverses_and_reopens(localstripe, client):
    from django.core import mail

    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    intent = _obj(stripe.PaymentIntent.retrieve(payment.provider_reference))
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": payment.amount_cents,
        "currency": "eur",
        "charge": _charge_of(payment)["id"],
        "payment_intent": payment.provider_reference,
        "reason": "fraudulent",
    }
    for _ in range(2):  # delivered twice: reversed once
        assert _deliver(client, "charge.dispute.created", dispute).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED
    assert payment.reversed_cents == 980
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.paid_cents == 0
    assert list(
        LedgerEntry.objects.filter(kind="reversal").values_list("amount_cents", flat=True)
    ) == [-980]
    assert Finding.objects.filter(kind=Finding.Kind.REVERSAL, payment=payment).count() == 1
    assert any("rejeté" in m.subject or "rejeté" in m.body for m in mail.outbox)
    # a late success event does not undo the reversal
    intent["status"] = "succeeded"
    _deliver(client, "payment_intent.succeeded", intent)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED
    _assert_books_balance()


@pytest.mark.django_db(transaction=True)
def test_5_sepa_return_after_success_reverses(client, stripe_settings):
    _h, _user, _k, invoice = billed_family()
    payment = _unreferenced_sepa(invoice)
    Payment.objects.filter(pk=payment.pk).update(provider_reference="pi_sepa")
    from payments.services.payments import payment_apply_status

    payment_apply_status(payment_id=payment.pk, status=Payment.Status.SUCCEEDED)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    # a SEPA return (the family's bank disputes the debit, weeks later)
    dispute = {
        "id": "dp_sepa",
        "object": "dispute",
        "amount": payment.amount_cents,
        "currency": "eur",
        "payment_intent": "pi_sepa",
        "reason": "AC04 compte clôturé",
    }
    _deliver(client, "charge.dispute.created", dispute)
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == Payment.Status.REVERSED
    assert invoice.status == Invoice.Status.ISSUED
    _assert_books_balance()


# --- 6. refund double submit -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_6_refund_double_submit_is_one_refund(localstripe, client, admin_user):
    from tests.conftest import api_client_for

    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    client.force_login(admin_user)
    form = {"amount": "1,00", "reason": "repas", "token": "b" * 32}
    url = reverse("payments:staff-refund", args=[payment.pk])
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 302
    assert Refund.objects.count() == 1
    api = api_client_for(admin_user)
    api_url = reverse("payments-api:payment-refunds", args=[payment.pk])
    body = {"amount_cents": 200, "reason": "double clic"}
    first = api.post(api_url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(api_url, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    third = api.post(api_url, body, format="json")  # no key, same refund again at once
    assert third.status_code == 409
    assert "identique" in third.json()["message"]
    assert Refund.objects.count() == 2
    payment.refresh_from_db()
    assert payment.refunded_cents == 300
    _assert_books_balance(provider=True)


# --- 7. prepaid and post-paid are exclusive ---------------------------------------------------


@pytest.mark.django_db
def test_7_prepaid_household_is_not_invoiced_for_the_same_meals(django_capture_on_commit_callbacks):
    from payments.services.prepaid import prepaid_debit_meals
    from tests.factories import household_with_parent

    conf = PaymentSettings.current()
    conf.mode = PaymentSettings.Mode.PREPAID
    conf.save()
    _h, _user, kids = household_with_parent()
    source = MealSource(meals_for(kids, school_days(2026, 10, 4)))
    with use_meal_source(source):
        assert prepaid_debit_meals(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)) == 4
        run = billing_run_for_period(period=PERIOD)
    assert run.invoices_created == 0
    assert run.stats["prepaid_skipped"] == 1
    assert not Invoice.objects.exists()
    assert LedgerEntry.objects.filter(kind="meal_charge").count() == 4


@pytest.mark.django_db
def test_7_mode_change_takes_effect_at_a_month_boundary(client, staff_user, admin_user):
    from payments.services.prepaid import prepaid_debit_meals
    from tests.factories import household_with_parent

    household, _user, kids = household_with_parent()
    client.force_login(admin_user)
    url = reverse("payments:staff-billing-mode", args=[household.pk])
    # a month already started cannot change mode
    client.post(url, {"mode": "prepaid", "effective_from": "2026-10", "reason": ""})
    assert not household.billing_mode_changes.exists()
    next_month = (dt.date.today().replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    response = client.post(url, {"mode": "prepaid", "effective_from": f"{next_month:%Y-%m}"})
    assert response.status_code == 302
    change = household.billing_mode_changes.get()
    assert change.effective_from == next_month
    assert change.mode == "prepaid"
    # meals of that month are debited one by one and never invoiced
    days = school_days(next_month.year, next_month.month, 3)
    with use_meal_source(MealSource(meals_for(kids, days))):
        assert prepaid_debit_meals(start=days[0], end=days[-1]) == 3
    from payments.selectors import billing_mode_of

    assert billing_mode_of(household_id=household.pk, period=next_month) == "prepaid"
    assert billing_mode_of(household_id=household.pk, period=PERIOD) == "postpaid"


# --- 9. the yearly certificate ---------------------------------------------------------------


@pytest.mark.django_db
def test_9_certificate_per_payer_childcare_only_refunds_deducted(staff_user):
    from family.models import Activity, ActivityRegistration, ChildGuardian
    from payments.models import ActivityTariff
    from payments.receipts import childcare_costs
    from tests.factories import GuardianFactory, ParentFactory, household_with_parent

    _household, user, (small, big) = household_with_parent(children=2)
    small.birth_date = dt.date(2022, 3, 1)  # 4 on 1 January 2026: eligible
    small.save()
    big.birth_date = dt.date(2019, 6, 1)  # 6 on 1 January 2026: not eligible
    big.save()
    activity = Activity.objects.create(
        school=small.school,
        name="Accueil du matin",
        kind=Activity.Kind.MORNING_CARE,
        capacity=20,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2027, 7, 1),
        weekdays=[0, 1, 3, 4],
    )
    ActivityTariff.objects.create(activity=activity, amount_cents=150)
    now = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
    for child in (small, big):
        ActivityRegistration.objects.create(
            activity=activity, child=child, state="confirmed", confirmed_at=now
        )
    # the other parent, separated, pays the small one's share on odd weeks
    other = GuardianFactory(user=ParentFactory())
    other_household = other.household
    ChildGuardian.objects.create(child=small, guardian=other, custody_weeks="odd")
    ChildGuardian.objects.filter(child=small, guardian__user=user).update(custody_weeks="even")
    meals = meals_for([small, big], school_days(2026, 10, 10))
    with use_meal_source(MealSource(meals)):
        billing_run_for_period(period=PERIOD, issue=True)
    mine = Invoice.objects.get(account__guardian__user=user)
    theirs = Invoice.objects.get(household=other_household)
    assert mine.lines.filter(kind="activity").exists()
    assert theirs.lines.filter(kind="activity").exists()
    for invoice in (mine, theirs):
        payment_record_counter(
            actor=staff_user,
            account=invoice.account,
            method=Payment.Provider.CASH,
            amount_cents=invoice.total_cents,
            invoices=[invoice],
        )
    my_payment = Payment.objects.get(account=mine.account)
    Refund.objects.all()
    refund_create(actor=staff_user, payment=my_payment, amount_cents=100, reason="trop perçu")

    costs_mine = childcare_costs(account=mine.account, year=2026)
    costs_theirs = childcare_costs(account=theirs.account, year=2026)
    assert [c.pk for c, _cents, _shared in costs_mine] == [small.pk]  # not the 6-year-old, no food
    small_sessions_mine = sum(
        mine.lines.filter(kind="activity", child=small).values_list("amount_cents", flat=True)
    )
    small_sessions_theirs = sum(
        theirs.lines.filter(kind="activity", child=small).values_list("amount_cents", flat=True)
    )
    refund_part = 100 * small_sessions_mine / mine.total_cents
    expected_half = round((small_sessions_mine - refund_part + small_sessions_theirs) / 2)
    assert costs_mine[0][1] == expected_half
    assert costs_mine[0][2] is True
    assert costs_theirs[0][1] == expected_half
    assert childcare_costs(account=mine.account, year=2025) == []


# --- 10. exports -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_10_exports_neutralise_formulas_and_services_add_up(client, staff_user, admin_user):
    from payments.services.accounting import SERVICES, treasury_export_csv

    household, user, _k, invoice = billed_family()
    household.name = '=HYPERLINK("http://evil.example","x")'
    household.save()
    user.first_name, user.last_name = "+33 1 23", "@SUM(A1)"
    user.save()
    account = Account.objects.get(guardian__user=user)
    payment_record_counter(
        actor=staff_user,
        account=account,
        method=Payment.Provider.CASH,
        amount_cents=500,
        invoices=[invoice],
    )
    invoice_cancel(invoice=invoice, actor=staff_user, reason="-1+1")
    # a finance adjustment through its page (debit of 1,20 €, a formula as its reason)
    client.force_login(admin_user)
    response = client.post(
        reverse("payments:staff-adjustment", args=[account.pk]),
        {
            f"adj{account.pk}-direction": "debit",
            f"adj{account.pk}-amount": "1,20",
            f"adj{account.pk}-reason": "=1+2",
        },
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT).amount_cents == -120
    period = dt.date.today().replace(day=1)
    text = treasury_export_csv(period=period, service="all").decode("utf-8-sig")
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")
    assert "'=HYPERLINK" in text
    assert "'+33 1 23" in text
    assert "'=1+2" in text
    assert "'-1+1" in text

    def total(service):
        last = (
            treasury_export_csv(period=period, service=service)
            .decode("utf-8-sig")
            .strip()
            .splitlines()[-1]
        )
        return int(last.split(";")[11])

    parts = [total(s) for s in SERVICES if s != "all"]
    assert sum(parts) == total("all")
    assert total("regularisations") == -120


# --- 11. reconciliation in the demo (localstripe) ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_11_reconciliation_runs_against_localstripe(localstripe, client, admin_user):
    from payments.services.accounting import reconcile_stripe_period

    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    report = reconcile_stripe_period(period=dt.date.today().replace(day=1))
    assert report.provider_error == ""
    assert payment.provider_reference in [row["reference"] for row in report.matched]
    client.force_login(admin_user)
    page = client.get(
        reverse("payments:staff-reconciliation"), {"period": f"{dt.date.today():%Y-%m}"}
    )
    assert page.status_code == 200
    assert b"Unexpected" not in page.content


@pytest.mark.django_db(transaction=True)
def test_11_reconciliation_from_balance_transactions_lists_every_mismatch_side_by_side(
    localstripe, client, admin_user
):
    """Against localstripe with the real ``stripe`` library: the balance history (charges and
    refunds traced back to their PaymentIntents) is compared with the books; a payment unknown
    to the books, an amount that differs and a refund made only in the provider's dashboard are
    each listed with both sides. (Today's period: localstripe stamps objects with the real
    clock, so the window cannot be a frozen one.)"""
    from payments.providers import stripe_configure
    from payments.services.accounting import reconcile_stripe_period

    _h, user, _k, invoice = billed_family()
    other = extra_invoice(user=user, period=dt.date(2026, 9, 1))
    fine = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    drifted = payment_start_online(actor=user, invoices=[other], payment_method="pm_card_visa")
    assert fine.status == drifted.status == Payment.Status.SUCCEEDED
    refund_create(actor=admin_user, payment=fine, amount_cents=100, reason="Repas non servi")
    # the books say something else than the provider for ``drifted`` (amount)
    Payment.objects.filter(pk=drifted.pk).update(amount_cents=drifted.amount_cents + 1)
    stripe_configure()
    # money taken at the provider that the books never heard of, and a dashboard-only refund
    stranger = stripe.PaymentIntent.create(
        amount=777,
        currency="eur",
        payment_method="pm_card_visa",
        confirm=True,
        payment_method_types=["card"],
    )
    stripe.Refund.create(payment_intent=fine.provider_reference, amount=50)

    report = reconcile_stripe_period(period=dt.date.today().replace(day=1))
    assert report.provider_error == ""
    assert report.source == "balance_transactions"
    by_ref = {row["reference"]: row for row in report.mismatches}
    assert by_ref[stranger.id]["problem"] == "missing_in_ledger"
    assert (by_ref[stranger.id]["provider_charged"], by_ref[stranger.id]["ledger_charged"]) == (
        777,
        0,
    )
    row = by_ref[drifted.provider_reference]
    assert row["problem"] == "amount_mismatch"
    assert row["ledger_charged"] == row["provider_charged"] + 1
    row = by_ref[fine.provider_reference]
    assert row["problem"] == "refund_mismatch"
    assert (row["provider_refunded"], row["ledger_refunded"]) == (150, 100)
    # localstripe lives for the whole session: payments of earlier tests (whose rows are gone)
    # can only show up as money the books do not know
    ours = {stranger.id, drifted.provider_reference, fine.provider_reference}
    others = [row for row in report.mismatches if row["reference"] not in ours]
    assert {row["problem"] for row in others} <= {"missing_in_ledger"}
    assert len(report.mismatches) == len(others) + 3
    assert not report.ok

    client.force_login(admin_user)
    page = client.get(
        reverse("payments:staff-reconciliation"), {"period": f"{dt.date.today():%Y-%m}"}
    ).content.decode()
    assert "Écarts, côte à côte" in page
    for ref in (stranger.id, drifted.provider_reference, fine.provider_reference):
        assert ref in page
    assert "1,50\xa0€" in page  # refunded at the provider
    assert "Unexpected" not in page


def test_reconcile_balance_matches_a_refund_made_in_the_period_for_an_older_payment():
    """A refund in this period of a payment of an earlier period is compared with the refunds
    recorded in the period, not reported as money missing from the books."""
    from payments.services.accounting import reconcile_balance

    report = reconcile_balance(
        balance={"pi_old": {"charged": 0, "refunded": 300, "fee": 0}},
        payments=[],
        refunded_here={"pi_old": (7, 300)},
    )
    assert report.ok
    assert [row["payment"] for row in report.matched] == [7]
    report = reconcile_balance(
        balance={"pi_old": {"charged": 0, "refunded": 300, "fee": 0}},
        payments=[],
        refunded_here={},
    )
    assert [row["problem"] for row in report.mismatches] == ["refund_mismatch"]


# --- 12. webhook edges -----------------------------------------------------------------------


@pytest.mark.django_db
def test_12_signed_json_array_is_a_400(client, stripe_settings):
    body = b'[{"id": "evt_1", "type": "payment_intent.succeeded"}]'
    response = client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )
    assert response.status_code == 400
    from payments.models import StripeEvent

    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_12_timestamp_in_the_future_is_refused(client, stripe_settings):
    body = event_payload("evt_future", "payment_intent.succeeded", {"object": "payment_intent"})
    header = sign(body, WEBHOOK_SECRET, timestamp=int(time.time()) + 3600)
    response = client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_12_provider_refund_larger_than_what_is_left_is_a_finding(
    client, stripe_settings, staff_user
):
    _h, user, _k, invoice = billed_family()
    account = Account.objects.get(guardian__user=user)
    payment = Payment.objects.create(
        account=account,
        household=account.household,
        provider=Payment.Provider.STRIPE,
        amount_cents=invoice.total_cents,
        idempotency_key="t:big",
        provider_reference="pi_big",
    )
    payment.allocations.create(invoice=invoice, amount_cents=invoice.total_cents)
    from payments.services.payments import payment_apply_status

    payment_apply_status(payment_id=payment.pk, status=Payment.Status.SUCCEEDED)
    charge = {
        "id": "ch_big",
        "object": "charge",
        "amount": payment.amount_cents,
        "currency": "eur",
        "payment_intent": "pi_big",
        "refunds": {
            "data": [{"id": "re_big", "amount": payment.amount_cents + 500, "status": "succeeded"}]
        },
    }
    assert _deliver(client, "charge.refunded", charge).status_code == 200
    finding = Finding.objects.get(kind=Finding.Kind.REFUND_EXCEEDS)
    assert finding.amount_cents == payment.amount_cents + 500
    assert "re_big" in finding.message
    assert not Refund.objects.exists()


# --- 13. scope: city-wide money work belongs to finance ---------------------------------------


@pytest.mark.django_db
def test_13_school_staff_cannot_run_issue_export_or_reconcile(client, staff_user, admin_user):
    from django.contrib.auth.models import Permission

    from tests.conftest import api_client_for

    _h, _user, _k, _invoice = billed_family(issue=False)
    client.force_login(staff_user)
    assert (
        client.post(reverse("payments:staff"), {"period": "2026-10", "issue": "on"}).status_code
        == 403
    )
    assert client.post(reverse("payments:staff-issue"), {"period": "2026-10"}).status_code == 403
    # the permission is checked before the confirmation step: a confirmed post is refused too
    assert (
        client.post(
            reverse("payments:staff-issue"), {"period": "2026-10", "confirmed": "1"}
        ).status_code
        == 403
    )
    assert Invoice.objects.filter(status=Invoice.Status.DRAFT).count() == 1
    assert (
        client.get(
            reverse("payments:staff-export"), {"period": "2026-10", "service": "all"}
        ).status_code
        == 403
    )
    assert (
        client.get(reverse("payments:staff-reconciliation"), {"period": "2026-10"}).status_code
        == 403
    )
    assert client.get(reverse("payments:staff-findings")).status_code == 403
    api = api_client_for(staff_user)
    assert (
        api.post(
            reverse("payments-api:billing-runs"), {"period": "2026-10"}, format="json"
        ).status_code
        == 403
    )
    # a staff member given the finance permission may
    staff_user.user_permissions.add(Permission.objects.get(codename="manage_finance"))
    from django.contrib.auth import get_user_model

    finance = get_user_model().objects.get(pk=staff_user.pk)
    client.force_login(finance)
    assert (
        client.get(
            reverse("payments:staff-export"), {"period": "2026-10", "service": "all"}
        ).status_code
        == 200
    )
    client.force_login(admin_user)
    # issuing is irreversible: finance first sees the confirmation page (nothing issued yet)...
    assert client.post(reverse("payments:staff-issue"), {"period": "2026-10"}).status_code == 200
    assert Invoice.objects.filter(status=Invoice.Status.DRAFT).count() == 1
    # ...then confirms
    assert (
        client.post(
            reverse("payments:staff-issue"), {"period": "2026-10", "confirmed": "1"}
        ).status_code
        == 302
    )
    assert not Invoice.objects.filter(status=Invoice.Status.DRAFT).exists()


@pytest.mark.django_db
def test_13_adjustments_are_finance_only_and_out_of_reach_accounts_answer_404(
    client, staff_user, admin_user
):
    """A school staff member of the family's school is refused (403, nothing written); an
    account out of reach answers 404; finance records a credit with its reason, audited."""
    from backend.core.models import AuditEvent
    from tests.factories import StaffFactory

    household, user, kids, _invoice = billed_family()
    kids[0].school.staff.add(staff_user)
    account = Account.objects.get(guardian__user=user)
    url = reverse("payments:staff-adjustment", args=[account.pk])
    data = {
        f"adj{account.pk}-direction": "credit",
        f"adj{account.pk}-amount": "5,00",
        f"adj{account.pk}-reason": "Litige gagné",
    }
    client.force_login(staff_user)
    assert client.post(url, data).status_code == 403
    stranger = StaffFactory()
    client.force_login(stranger)
    assert client.post(url, data).status_code == 404
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT).exists()
    client.force_login(admin_user)
    page = client.get(reverse("payments:staff-household", args=[household.pk])).content.decode()
    assert "Enregistrer la régularisation" in page
    assert client.post(url, data).status_code == 302
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT)
    assert (entry.amount_cents, entry.reason) == (500, "Litige gagné")
    assert AuditEvent.objects.filter(action="payments.adjustment").count() == 1
    # an empty reason is refused with nothing written
    client.post(url, {**data, f"adj{account.pk}-reason": " "})
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT).count() == 1


# --- 14. lunch supervision apart from food (CGI art. 200 quater B) ---------------------------


@pytest.mark.django_db
def test_14_lunch_supervision_has_its_own_line_and_only_it_reaches_the_certificate(
    staff_user, time_machine
):
    """A canteen tariff whose meal price carries a lunch-supervision part bills it on its own
    line (kind ``supervision``, code ``SURV-MIDI``); the yearly certificate of a child under 6 on
    1 January counts that part, never the food; an older child's supervision is not counted."""
    from canteen.models import Tariff
    from payments.models import InvoiceLine
    from payments.receipts import childcare_costs
    from tests.factories import household_with_parent

    time_machine.move_to(dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC), tick=False)
    Tariff.objects.create(
        name="Cantine 2026-2027",
        valid_from=dt.date(2026, 9, 1),
        valid_until=dt.date(2027, 7, 31),
        supervision_cents=80,
    )
    _household, user, (small, big) = household_with_parent(children=2)
    small.birth_date = dt.date(2021, 3, 1)  # 5 on 1 January 2026: eligible
    small.save()
    big.birth_date = dt.date(2019, 6, 1)  # 6 on 1 January 2026: not eligible
    big.save()
    days = school_days(2026, 10, 3)
    meals = meals_for([small, big], days, 245)
    meals += meals_for([small], days[:1], 500, kind="packed_lunch")  # not a meal: never split
    with use_meal_source(MealSource(meals)):
        billing_run_for_period(period=PERIOD, issue=True)
    invoice = Invoice.objects.get(account__guardian__user=user, period=PERIOD)
    assert invoice.total_cents == 6 * 245 + 500  # the price is unchanged, only split
    supervision = invoice.lines.filter(kind=InvoiceLine.Kind.SUPERVISION)
    assert supervision.count() == 6
    assert {line.amount_cents for line in supervision} == {80}
    assert all(line.description.startswith("[SURV-MIDI]") for line in supervision)
    food = invoice.lines.filter(kind=InvoiceLine.Kind.MEAL)
    assert {line.amount_cents for line in food} == {165}
    assert invoice.lines.get(kind=InvoiceLine.Kind.PACKED_LUNCH).amount_cents == 500
    payment_record_counter(
        actor=staff_user,
        account=invoice.account,
        method=Payment.Provider.CASH,
        amount_cents=invoice.total_cents,
        invoices=[invoice],
    )
    rows = childcare_costs(account=invoice.account, year=2026)
    assert [(child.pk, cents) for child, cents, _shared in rows] == [(small.pk, 3 * 80)]
    # the invoice page shows the supervision line apart
    from django.test import Client

    client = Client()
    client.force_login(user)
    page = client.get(reverse("payments:invoice", args=[invoice.pk])).content.decode()
    assert "Surveillance de la pause méridienne" in page
