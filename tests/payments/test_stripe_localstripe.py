"""Against localstripe (real stripe library, real HTTP): payments, declines, refunds, SEPA, catch-up."""

import time

import pytest

from backend.core.exceptions import ApplicationError
from payments.models import Account, Invoice, LedgerEntry, Payment, Refund, StripeEvent
from payments.services.payments import payment_start_online, refund_create
from payments.services.sepa import sepa_debits_create_due, sepa_mandate_setup
from payments.services.stripe_events import stripe_catch_up

from .factories import billed_family

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_card_payment_pays_invoice_and_webhook_does_not_double_count(
    localstripe_webhook, localstripe
):
    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.provider_reference.startswith("pi_")
    assert payment.idempotency_key.startswith(f"minot:invoices:{invoice.pk}:attempt:1")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    # localstripe sends payment_intent.succeeded to our live server ~1 s later
    assert _wait(lambda: StripeEvent.objects.filter(type="payment_intent.succeeded").exists())
    assert _wait(lambda: StripeEvent.objects.filter(status="processed").exists())
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


def test_declined_card_leaves_invoice_open_with_a_clear_message(localstripe):
    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(
        actor=user, invoices=[invoice], payment_method="pm_card_chargeCustomerFail"
    )
    assert payment.status == Payment.Status.FAILED
    assert "declined" in payment.failure_message.lower()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.paid_cents == 0
    assert not LedgerEntry.objects.filter(kind="payment").exists()
    # The family is told, each reader in their own language (the provider's English text is
    # mapped to our sentence, stored as a key).
    from django.utils.translation import override

    from backend.core.models import Notification

    notice = Notification.objects.get(user=user, subject_key="Paiement non abouti")
    with override("fr"):
        assert "n'a pas abouti" in notice.body_text
        assert "declined" not in notice.body_text
    with override("en"):
        assert notice.subject_text == "Payment unsuccessful"
        assert notice.body_text.startswith("Your payment of")
        assert "abouti" not in notice.body_text
    # a second attempt with a good card gets a new idempotency key and succeeds
    retry = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    assert retry.status == Payment.Status.SUCCEEDED
    assert retry.idempotency_key.endswith(":attempt:2")


def test_partial_refunds_never_exceed_the_payment(localstripe, staff_user):
    _h, user, _k, invoice = billed_family()  # 4 × 2.45 € = 9.80 €
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    refund = refund_create(
        actor=staff_user, payment=payment, amount_cents=300, reason="repas annulé"
    )
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.provider_reference.startswith("re_")
    with pytest.raises(ApplicationError):
        refund_create(actor=staff_user, payment=payment, amount_cents=681, reason="trop")
    payment.refresh_from_db()
    assert payment.refunded_cents == 300
    refund_create(actor=staff_user, payment=payment, amount_cents=680, reason="solde")
    payment.refresh_from_db()
    assert payment.refunded_cents == payment.amount_cents == 980
    assert sorted(
        LedgerEntry.objects.filter(kind="refund").values_list("amount_cents", flat=True)
    ) == [-680, -300]


def test_sepa_mandate_then_debit_stays_pending_until_it_settles(localstripe_webhook, localstripe):
    _h, user, _k, invoice = billed_family(issue=False)
    account = Account.objects.get(guardian__user=user)
    sepa_mandate_setup(actor=user, account=account, iban="FR76 3000 6000 0112 3456 7890 189")
    account.refresh_from_db()
    assert account.sepa_payment_method_id.startswith("pm_")
    assert account.sepa_iban_last4 == "0189"
    from payments.services.billing import invoices_issue

    invoices_issue(invoice_ids=[invoice.pk])
    invoice.refresh_from_db()
    assert invoice.debit_date is not None
    assert sepa_debits_create_due(today=invoice.debit_date) == 1
    assert sepa_debits_create_due(today=invoice.debit_date) == 0  # never debited twice
    payment = Payment.objects.get(provider=Payment.Provider.SEPA)
    assert payment.idempotency_key == f"minot:sepa:invoice:{invoice.pk}"
    assert _wait(lambda: Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID)


def test_bad_iban_is_refused_before_any_call(localstripe):
    _h, user, _k, _invoice = billed_family()
    account = Account.objects.get(guardian__user=user)
    with pytest.raises(ApplicationError):
        sepa_mandate_setup(actor=user, account=account, iban="FR76 3000 6000 0112 3456 7890 188")
    account.refresh_from_db()
    assert account.sepa_payment_method_id == ""


def test_catch_up_recovers_a_missed_webhook(localstripe):
    # no webhook configured for this test's server: the event is only found by the catch-up job
    _h, user, _k, invoice = billed_family()
    payment = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    Payment.objects.filter(pk=payment.pk).update(
        status=Payment.Status.PENDING
    )  # as if the answer was lost
    time.sleep(1.2)
    result = stripe_catch_up(stale_after=__import__("datetime").timedelta(seconds=0))
    assert result["fetched"] >= 1
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert LedgerEntry.objects.filter(kind="payment", payment=payment).count() == 1


def test_production_path_creates_an_intent_for_the_payment_element(localstripe, client):
    # without server-side confirmation (production), the page gets a client secret and Stripe.js
    from django.conf import settings

    settings.MINOT_PAYMENTS_SERVER_CONFIRM = False
    _h, user, _k, invoice = billed_family()
    client.force_login(user)
    response = client.post("/paiements/payer/", {"invoice": [invoice.pk]})
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PENDING
    assert payment.client_secret.startswith(payment.provider_reference)
    assert payment.client_secret.encode() in response.content
    assert "https://js.stripe.com" in response["Content-Security-Policy"]
    # a second click reuses the same payment and PaymentIntent (same idempotency key)
    client.post("/paiements/payer/", {"invoice": [invoice.pk]})
    assert Payment.objects.count() == 1


def test_api_pays_two_invoices_in_one_payment(localstripe):
    import datetime as dt

    from django.urls import reverse

    from tests.conftest import api_client_for

    from .factories import extra_invoice

    _h, user, _k, october = billed_family()
    september = extra_invoice(user=user, period=dt.date(2026, 9, 1))
    response = api_client_for(user).post(
        reverse("payments-api:payments"),
        {"invoices": [october.pk, september.pk], "payment_method": "pm_card_visa"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["amount_cents"] == october.total_cents + september.total_cents
    assert sorted(body["invoices"]) == sorted([october.pk, september.pk])
    assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.PAID}


def test_failed_sepa_debit_reopens_the_invoice_and_notifies(localstripe_webhook, localstripe):
    from django.core import mail

    from payments.services.billing import invoices_issue

    _h, user, _k, invoice = billed_family(issue=False)
    account = Account.objects.get(guardian__user=user)
    sepa_mandate_setup(
        actor=user, account=account, iban="DE62370400440532013001"
    )  # localstripe's failing IBAN
    invoices_issue(invoice_ids=[invoice.pk])
    invoice.refresh_from_db()
    sepa_debits_create_due(today=invoice.debit_date)
    assert _wait(lambda: Payment.objects.get().status == Payment.Status.FAILED)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.paid_cents == 0
    # the notice is emailed by a task after the webhook's commit: it may trail the status
    assert _wait(lambda: any("rejeté" in m.body for m in mail.outbox))


def test_prepaid_top_up_by_card_credits_the_account(localstripe, client):
    from payments.models import PaymentSettings

    _h, user, _k, _invoice = billed_family()  # billed while post-paid
    conf = PaymentSettings.current()
    conf.mode = PaymentSettings.Mode.PREPAID
    conf.save()
    client.force_login(user)
    form = {"amount": "20,00", "payment_method": "pm_card_visa", "token": "a" * 32}
    assert client.post("/paiements/recharger/", form).status_code == 302
    assert (
        client.post("/paiements/recharger/", form).status_code == 302
    )  # double submit: one payment
    payment = Payment.objects.get(is_top_up=True)
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.amount_cents == 2000
    assert LedgerEntry.objects.get(kind="payment").amount_cents == 2000
    assert (
        client.post(
            "/paiements/recharger/", {"amount": "0,5", "payment_method": "pm_card_visa"}
        ).status_code
        == 200
    )
    assert Payment.objects.filter(is_top_up=True).count() == 1
