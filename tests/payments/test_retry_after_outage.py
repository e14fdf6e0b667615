"""A family told "nothing charged, try again in a moment" while Stripe was unreachable can pay
again at once; an attempt whose call to Stripe may still be running still refuses a second one.

Against localstripe with the real ``stripe`` library; ``faults.lossy_stripe`` makes Stripe
unreachable (the request is never sent) or loses a response (Stripe acted, we never heard).
"""

from __future__ import annotations

import pytest

from backend.core.exceptions import ApplicationError
from payments.models import Invoice, LedgerEntry, Payment, PaymentAllocation
from payments.services.payments import payment_start_online

from .factories import billed_family
from .faults import lossy_stripe

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_payment_refused_while_stripe_was_down_can_be_paid_again_at_once(localstripe):
    _h, user, _k, invoice = billed_family()
    with lossy_stripe() as transport:
        transport.down("post", "/v1/payment_intents")
        with pytest.raises(ApplicationError, match="Aucun montant n'a été débité"):
            payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
        transport.up()
        # when: the family tries again straight away, as the message invites
        retry = payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    # then: paid once; the attempt that never reached Stripe is closed
    assert retry.status == Payment.Status.SUCCEEDED
    assert retry.idempotency_key.endswith(":attempt:2")
    first = Payment.objects.exclude(pk=retry.pk).get()
    assert first.status == Payment.Status.CANCELED
    assert not first.allocations.filter(is_open_attempt=True).exists()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.paid_cents == invoice.total_cents
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


def test_an_immediate_retry_after_a_lost_answer_finds_the_payment_instead_of_charging_again(
    localstripe,
):
    _h, user, _k, invoice = billed_family()
    with lossy_stripe() as transport:
        transport.lose("post", "/v1/payment_intents")  # Stripe charged, the answer is lost
        with pytest.raises(ApplicationError):
            payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
        with pytest.raises(ApplicationError, match="viennent d'être payées"):
            payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


def test_an_attempt_whose_call_may_still_be_running_refuses_a_second_one(localstripe):
    # given: an attempt committed a moment ago whose call to Stripe has not come back (another
    # tab, between its commit and Stripe's answer)
    _h, user, _k, invoice = billed_family()
    running = Payment.objects.create(
        account=invoice.account,
        household=invoice.household,
        provider=Payment.Provider.STRIPE,
        amount_cents=invoice.total_cents,
        idempotency_key=f"minot:invoices:{invoice.pk}:attempt:1",
        nonce="0" * 32,
    )
    PaymentAllocation.objects.create(
        payment=running, invoice=invoice, amount_cents=invoice.total_cents, is_open_attempt=True
    )
    # when / then: a second attempt is refused and nothing changes
    with pytest.raises(ApplicationError, match="déjà en cours"):
        payment_start_online(actor=user, invoices=[invoice], payment_method="pm_card_visa")
    assert list(Payment.objects.values_list("pk", "status")) == [
        (running.pk, Payment.Status.PENDING)
    ]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
