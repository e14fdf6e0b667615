"""A stateful property test of the books: random sequences of what families, staff, Stripe and
the network do, against the real ``stripe`` library and localstripe, with a fault-injecting
transport that loses responses. After every step every invariant of ``payments_audit`` holds;
at the end of each run, after the catch-up, the money at Stripe equals the money recorded.

Used by ``tests/payments/test_money_machine.py`` (small budget, CI) and
``bench/payments_property.py`` (large budget).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import stripe
from django.db.models import Count
from django.test import Client
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from backend.core.exceptions import ApplicationError
from payments.models import Account, Invoice, Payment, Refund
from payments.services.audit import audit_books
from payments.services.billing import billing_run_for_period, invoice_cancel
from payments.services.payments import payment_record_counter, payment_start_online, refund_create
from payments.services.sepa import sepa_debits_create_due
from payments.services.stripe_events import stripe_catch_up
from payments.sources import use_meal_source
from tests.factories import AdminFactory, household_with_parent

from .conftest import event_payload, sign
from .factories import MealSource, meals_for, school_days
from .faults import LossyClient

MONTHS = [dt.date(2026, m, 1) for m in (4, 5, 6, 7, 8, 9)]
NOW = dt.timedelta(seconds=0)
STATS = {"steps": 0, "lost": 0, "events": 0, "runs": 0}


STARTED = time.monotonic()


def _write_progress() -> None:
    """``MINOT_MONEY_PROGRESS=path``: the bench's running tally (steps, runs, lost responses)."""
    import os

    path = os.environ.get("MINOT_MONEY_PROGRESS")
    if path:
        with open(path, "w") as out:
            json.dump({**STATS, "seconds": round(time.monotonic() - STARTED, 1)}, out)


def _json(obj) -> dict:
    return json.loads(str(obj))


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.transport = LossyClient()
        stripe.default_http_client = self.transport
        self.client = Client()
        self.events: list[bytes] = []
        self.meals: list = []
        STATS["runs"] += 1

    @initialize(children=st.integers(1, 2), months=st.integers(1, 3))
    def family(self, children, months):
        """A family with its first months billed and issued."""
        self.household, self.user, self.kids = household_with_parent(children=children)
        self.staff = AdminFactory()
        for period in MONTHS[:months]:
            self.meals += meals_for(self.kids, school_days(period.year, period.month, 3), 245)
            with use_meal_source(MealSource(self.meals)):
                billing_run_for_period(period=period, issue=True)

    # --- helpers --------------------------------------------------------------------------

    def _account(self) -> Account | None:
        return Account.objects.filter(guardian__user=self.user).first()

    def _open_invoices(self) -> list[Invoice]:
        return list(
            Invoice.objects.filter(
                account__guardian__user=self.user, status__in=Invoice.OPEN_STATUSES
            ).order_by("pk")
        )

    def _queue_intent_event(self, payment: Payment) -> None:
        if not payment.provider_reference:
            return
        intent = _json(stripe.PaymentIntent.retrieve(payment.provider_reference))
        kind = {
            "succeeded": "payment_intent.succeeded",
            "processing": "payment_intent.processing",
            "canceled": "payment_intent.canceled",
            "requires_payment_method": "payment_intent.payment_failed",
        }.get(intent["status"])
        if kind:
            self.events.append(event_payload(f"evt_{uuid.uuid4().hex}", kind, intent))

    def _step(self):
        STATS["steps"] += 1
        if STATS["steps"] % 100 == 0:
            _write_progress()

    # --- rules ----------------------------------------------------------------------------

    @rule(
        month=st.integers(0, len(MONTHS) - 1), meals=st.integers(1, 4), price=st.integers(150, 400)
    )
    def bill_a_period(self, month, meals, price):
        """Bill a month (again after a cancellation: the next version)."""
        self._step()
        period = MONTHS[month]
        self.meals += meals_for(self.kids, school_days(period.year, period.month, meals), price)
        with use_meal_source(MealSource(self.meals)):
            billing_run_for_period(period=period, issue=True)

    @rule(
        data=st.data(),
        card=st.sampled_from(["pm_card_visa", "pm_card_chargeCustomerFail"]),
        lose=st.booleans(),
    )
    def pay_from_a_tab(self, data, card, lose):
        """A tab pays a subset of the open invoices (overlapping other tabs' subsets)."""
        self._step()
        invoices = self._open_invoices()
        if not invoices:
            return
        chosen = data.draw(
            st.lists(st.sampled_from(invoices), min_size=1, unique_by=lambda i: i.pk)
        )
        if lose:
            self.transport.lose("post", "/v1/payment_intents")
        try:
            payment = payment_start_online(actor=self.user, invoices=chosen, payment_method=card)
        except ApplicationError:
            return
        self._queue_intent_event(payment)

    @rule(data=st.data())
    def open_a_payment_element_tab(self, data):
        """A tab that creates a PaymentIntent and is left open (never confirmed)."""
        self._step()
        invoices = self._open_invoices()
        if not invoices:
            return
        chosen = data.draw(
            st.lists(st.sampled_from(invoices), min_size=1, unique_by=lambda i: i.pk)
        )
        try:
            payment_start_online(actor=self.user, invoices=chosen)
        except ApplicationError:
            pass

    @rule(data=st.data())
    def counter_payment(self, data):
        self._step()
        invoices = self._open_invoices()
        account = self._account()
        if not invoices or account is None:
            return
        invoice = data.draw(st.sampled_from(invoices))
        payment_record_counter(
            actor=self.staff,
            account=account,
            method=Payment.Provider.CASH,
            amount_cents=invoice.outstanding_cents,
            invoices=[invoice],
            idempotency_key=uuid.uuid4().hex,
        )

    @precondition(lambda self: self.events)
    @rule(data=st.data(), keep=st.booleans())
    def deliver_a_webhook(self, data, keep):
        """Deliver one queued event, in any order; kept events are delivered again later."""
        self._step()
        index = data.draw(st.integers(0, len(self.events) - 1))
        payload = self.events[index] if keep else self.events.pop(index)
        STATS["events"] += 1
        response = self.client.post(
            "/payments/stripe/webhook/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )
        assert response.status_code == 200

    @rule(data=st.data(), lose=st.booleans(), twice=st.booleans())
    def refund(self, data, lose, twice):
        """Staff refund part of an online payment; the response may be lost; the form may be
        submitted twice."""
        self._step()
        payments = list(
            Payment.objects.filter(
                account__guardian__user=self.user,
                status=Payment.Status.SUCCEEDED,
                provider=Payment.Provider.STRIPE,
            )
        )
        payments = [p for p in payments if p.refundable_cents > 0]
        if not payments:
            return
        payment = data.draw(st.sampled_from(payments))
        amount = data.draw(st.integers(1, payment.refundable_cents))
        token = uuid.uuid4().hex
        if lose:
            self.transport.lose("post", "/v1/refunds")
        for _ in range(2 if twice else 1):
            try:
                refund_create(
                    actor=self.staff,
                    payment=payment,
                    amount_cents=amount,
                    reason="test",
                    token=token,
                )
            except ApplicationError:
                pass
        if not lose:
            charge = _json(stripe.PaymentIntent.retrieve(payment.provider_reference))[
                "latest_charge"
            ]
            if isinstance(charge, str):
                charge = _json(stripe.Charge.retrieve(charge))
            refunds = [
                _json(r)
                for r in stripe.Refund.list(
                    payment_intent=payment.provider_reference
                ).auto_paging_iter()
            ]
            charge["refunds"] = {"object": "list", "data": refunds}
            self.events.append(event_payload(f"evt_{uuid.uuid4().hex}", "charge.refunded", charge))

    @rule(data=st.data())
    def cancel_an_invoice(self, data):
        """The documented correction: cancel (credit note); a later billing run re-bills."""
        self._step()
        invoices = list(
            Invoice.objects.filter(account__guardian__user=self.user).exclude(
                status__in=[Invoice.Status.CANCELLED, Invoice.Status.DRAFT]
            )
        )
        if not invoices:
            return
        try:
            invoice_cancel(
                invoice=data.draw(st.sampled_from(invoices)), actor=self.staff, reason="correction"
            )
        except ApplicationError:
            pass

    @rule(data=st.data())
    def dispute_or_return(self, data):
        """A chargeback / SEPA return arrives for a payment we counted."""
        self._step()
        payments = list(
            Payment.objects.filter(
                account__guardian__user=self.user, status=Payment.Status.SUCCEEDED
            ).exclude(provider_reference__isnull=True)
        )
        if not payments:
            return
        payment = data.draw(st.sampled_from(payments))
        dispute = {
            "id": f"dp_{uuid.uuid4().hex[:10]}",
            "object": "dispute",
            "amount": payment.amount_cents,
            "currency": "eur",
            "payment_intent": payment.provider_reference,
            "reason": "fraudulent",
        }
        self.events.append(
            event_payload(f"evt_{uuid.uuid4().hex}", "charge.dispute.created", dispute)
        )

    @rule(data=st.data())
    def restored_ids(self, data):
        """An event from another database (restored backup, shared test account) names one of our
        payment ids: it must change nothing."""
        self._step()
        payments = list(Payment.objects.filter(account__guardian__user=self.user))
        if not payments:
            return
        payment = data.draw(st.sampled_from(payments))
        intent = {
            "id": f"pi_foreign{uuid.uuid4().hex[:8]}",
            "object": "payment_intent",
            "amount": payment.amount_cents,
            "currency": "eur",
            "status": "succeeded",
            "metadata": {
                "minot_payment_id": str(payment.pk),
                "minot_household_id": str(payment.household_id),
            },
        }
        self.events.append(
            event_payload(f"evt_{uuid.uuid4().hex}", "payment_intent.succeeded", intent)
        )

    @rule()
    def sepa_debits(self):
        self._step()
        sepa_debits_create_due(today=dt.date(2030, 1, 1))

    @rule()
    def catch_up(self):
        self._step()
        stripe_catch_up(stale_after=NOW)

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def books_balance(self):
        report = audit_books(provider=False)
        assert report.ok, report.text()

    def teardown(self):
        try:
            STATS["lost"] += self.transport.lost
            self.transport.to_lose.clear()
            # Whatever the network lost, the catch-up settles it: then Stripe = our books.
            stripe_catch_up(stale_after=NOW)
            pending = Refund.objects.filter(status=Refund.Status.PENDING).count()
            assert pending == 0, f"{pending} refunds still pending after the catch-up"
            report = audit_books(provider=True)
            assert report.ok, report.text()
            STATS["provider_audits"] = STATS.get("provider_audits", 0) + 1
            for status, n in (
                Payment.objects.filter(account__guardian__user=self.user)
                .values_list("status")
                .annotate(n=Count("id"))
            ):
                STATS[f"payments_{status}"] = STATS.get(f"payments_{status}", 0) + n
            STATS["invoices"] = (
                STATS.get("invoices", 0)
                + Invoice.objects.filter(account__guardian__user=self.user).count()
            )
        finally:
            stripe.default_http_client = None
            time.sleep(0)
