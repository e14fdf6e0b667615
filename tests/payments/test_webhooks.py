import datetime as dt
import time

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from payments.models import Invoice, LedgerEntry, Payment, PaymentAllocation, StripeEvent

from .conftest import event_payload, sign
from .factories import billed_family, extra_invoice

pytestmark = pytest.mark.django_db
URL = "/payments/stripe/webhook/"


def _payment_for(invoices, reference):
    invoice = invoices[0]
    payment = Payment.objects.create(
        account=invoice.account,
        household=invoice.household,
        provider=Payment.Provider.STRIPE,
        amount_cents=sum(i.outstanding_cents for i in invoices),
        idempotency_key=f"test:{reference}",
        provider_reference=reference,
    )
    for i in invoices:
        PaymentAllocation.objects.create(
            payment=payment, invoice=i, amount_cents=i.outstanding_cents
        )
    return payment


def _intent(payment, status="succeeded", error=None):
    return {
        "id": payment.provider_reference,
        "object": "payment_intent",
        "amount": payment.amount_cents,
        "currency": "eur",
        "status": status,
        "metadata": {"minot_payment_id": str(payment.pk)},
        "last_payment_error": error,
    }


def _post(client, payload, header):
    return client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


@pytest.fixture
def family(stripe_settings):
    _h, user, _kids, invoice = billed_family()
    return user, invoice


def test_valid_event_is_stored_once_and_marks_invoice_paid(
    client, family, django_capture_on_commit_callbacks
):
    _user, invoice = family
    payment = _payment_for([invoice], "pi_ok")
    payload = event_payload("evt_1", "payment_intent.succeeded", _intent(payment))
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, payload, sign(payload)).status_code == 200
        assert _post(client, payload, sign(payload)).status_code == 200  # duplicate delivery
    assert StripeEvent.objects.get().status == StripeEvent.Status.PROCESSED
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.paid_cents == invoice.total_cents
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=1,v1=deadbeef",
        "wrong-secret",
        "stale",
    ],
)
def test_bad_or_stale_signature_is_400_and_writes_nothing(client, family, header):
    _user, invoice = family
    payment = _payment_for([invoice], "pi_bad")
    payload = event_payload("evt_bad", "payment_intent.succeeded", _intent(payment))
    if header == "wrong-secret":
        header = sign(payload, secret="whsec_other")
    elif header == "stale":
        header = sign(payload, timestamp=int(time.time()) - 3600)
    before = (LedgerEntry.objects.count(), Payment.objects.get(pk=payment.pk).status)
    kwargs = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}
    response = client.post(URL, data=payload, content_type="application/json", **kwargs)
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0
    assert (LedgerEntry.objects.count(), Payment.objects.get(pk=payment.pk).status) == before


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    position=st.integers(min_value=0, max_value=10_000), bit=st.integers(min_value=0, max_value=7)
)
def test_any_flipped_byte_is_refused(client, family, position, bit):
    _user, invoice = family
    payload = bytearray(
        event_payload(
            "evt_flip", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"}
        )
    )
    header = sign(bytes(payload))
    payload[position % len(payload)] ^= 1 << bit
    assert _post(client, bytes(payload), header).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_unknown_event_type_is_acknowledged_and_ignored(
    client, stripe_settings, django_capture_on_commit_callbacks
):
    payload = event_payload(
        "evt_unknown", "customer.created", {"id": "cus_1", "object": "customer"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, payload, sign(payload)).status_code == 200
    assert StripeEvent.objects.get().status == StripeEvent.Status.IGNORED


def test_unconfigured_secret_is_503(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = event_payload("evt_x", "customer.created", {})
    assert _post(client, payload, sign(payload)).status_code == 503
    assert StripeEvent.objects.count() == 0


def test_event_with_other_amount_is_not_applied(client, family, django_capture_on_commit_callbacks):
    _user, invoice = family
    payment = _payment_for([invoice], "pi_amount")
    obj = _intent(payment) | {"amount": 1}
    payload = event_payload("evt_amount", "payment_intent.succeeded", obj)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, payload, sign(payload))
    assert StripeEvent.objects.get().status == StripeEvent.Status.FAILED
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PENDING


# --- Property: any duplication and any order of delivery gives the same final state ----------

PI_EVENTS = [
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.succeeded",
]
EXPECTED = {  # the highest-ranked status among the delivered events
    frozenset({"payment_intent.processing"}): Payment.Status.PROCESSING,
}


def _expected_status(types):
    if "payment_intent.succeeded" in types:
        return Payment.Status.SUCCEEDED
    if "payment_intent.payment_failed" in types:
        return Payment.Status.FAILED
    return Payment.Status.PROCESSING


scenario = st.tuples(
    st.sets(st.sampled_from(PI_EVENTS), min_size=1),  # events of payment A (invoice 1)
    st.sets(
        st.sampled_from(PI_EVENTS), min_size=1
    ),  # events of payment B (invoices 2 and 3 at once)
    st.booleans(),  # a partial refund of A seen in a charge.refunded event (if A succeeded)
    st.randoms(use_true_random=False),
    st.lists(st.integers(min_value=0, max_value=50), max_size=12),  # duplicates to add
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=scenario)
def test_any_order_and_duplication_of_events_gives_the_same_state(
    client, stripe_settings, django_capture_on_commit_callbacks, scenario
):
    types_a, types_b, refund_a, rnd, duplicates = scenario
    with transaction.atomic():
        _h, user, _k, inv1 = billed_family()
        inv2 = extra_invoice(user=user, period=dt.date(2026, 9, 1))
        inv3 = extra_invoice(user=user, period=dt.date(2026, 8, 1), meals=3, amount_cents=410)
        pay_a = _payment_for([inv1], f"pi_a{inv1.pk}")
        pay_b = _payment_for([inv2, inv3], f"pi_b{inv1.pk}")
        events = []
        for payment, types in ((pay_a, types_a), (pay_b, types_b)):
            for t in sorted(types):
                error = {"message": "Your card was declined."} if t.endswith("failed") else None
                events.append(
                    event_payload(f"evt_{payment.pk}_{t}", t, _intent(payment, error=error))
                )
        if refund_a and "payment_intent.succeeded" in types_a:
            charge = {
                "id": f"ch_{pay_a.pk}",
                "object": "charge",
                "amount": pay_a.amount_cents,
                "currency": "eur",
                "payment_intent": pay_a.provider_reference,
                "refunds": {
                    "data": [
                        {
                            "id": f"re_{pay_a.pk}",
                            "amount": 200,
                            "status": "succeeded",
                            "metadata": {},
                        }
                    ]
                },
            }
            events.append(event_payload(f"evt_{pay_a.pk}_refund", "charge.refunded", charge))
        deliveries = list(events) + [events[i % len(events)] for i in duplicates]
        rnd.shuffle(deliveries)
        with django_capture_on_commit_callbacks(execute=True):
            for payload in deliveries:
                assert _post(client, payload, sign(payload)).status_code == 200

        # then: the state depends only on which events exist, never on order or duplicates
        assert StripeEvent.objects.filter(
            event_id__startswith=f"evt_{pay_a.pk}"
        ).count() + StripeEvent.objects.filter(
            event_id__startswith=f"evt_{pay_b.pk}"
        ).count() == len(events)
        status_a, status_b = _expected_status(types_a), _expected_status(types_b)
        pay_a.refresh_from_db()
        pay_b.refresh_from_db()
        assert (pay_a.status, pay_b.status) == (status_a, status_b)
        refunded = 200 if refund_a and status_a == Payment.Status.SUCCEEDED else 0
        assert pay_a.refunded_cents == refunded
        ledger = sorted(
            LedgerEntry.objects.filter(account=inv1.account)
            .exclude(kind="meal_charge")
            .values_list("kind", "amount_cents")
        )
        expected_ledger = []
        if status_a == Payment.Status.SUCCEEDED:
            expected_ledger.append(("payment", pay_a.amount_cents))
        if status_b == Payment.Status.SUCCEEDED:
            expected_ledger.append(("payment", pay_b.amount_cents))
        if refunded:
            expected_ledger.append(("refund", -200))
        assert ledger == sorted(expected_ledger)
        for inv, status in ((inv1, status_a), (inv2, status_b), (inv3, status_b)):
            inv.refresh_from_db()
            paid = status == Payment.Status.SUCCEEDED
            # a refund takes its amount back from the invoice it paid (which reopens)
            back = refunded if inv == inv1 else 0
            assert inv.paid_cents == (inv.total_cents - back if paid else 0)
            if paid:
                assert inv.status == (
                    Invoice.Status.PARTIALLY_PAID if back else Invoice.Status.PAID
                )
            else:
                assert inv.status == Invoice.Status.ISSUED
        transaction.set_rollback(True)
