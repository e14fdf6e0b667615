"""Observed: after a refund the parent's summary said "Solde : -10,00 € (reste à payer)" right next
to "Aucune facture à payer". The summary now comes from the open invoices; the account balance is
explained on its own line.

Since the books' invariants (issue 11), a refund takes back first the payment's unapplied money
(credit), then what it paid on its invoices, which reopen: the summary, the invoice list and the
balance always tell the same story."""

import pytest
from django.test import Client

from payments.models import Account, Invoice
from payments.services.payments import payment_record_counter, refund_create
from tests.factories import StaffFactory

from .factories import billed_family

pytestmark = pytest.mark.django_db


def _home(user) -> tuple[str, str]:
    client = Client()
    client.force_login(user)
    page = client.get("/paiements/").content.decode()
    lead = page.split('class="lead"')[1].split("</p>")[0]
    return page, lead


def test_summary_after_a_refund_does_not_say_there_is_something_to_pay():
    """The refunded money was credit (paid beyond the invoice): nothing is due again."""
    _household, user, _kids, invoice = billed_family(email="rembourse@example.test")
    staff = StaffFactory()
    account = Account.objects.get(guardian__user=user)
    payment = payment_record_counter(
        actor=staff,
        account=account,
        method="cash",
        amount_cents=invoice.total_cents + 100,
        invoices=[invoice],
    )
    refund_create(actor=staff, payment=payment, amount_cents=100, reason="Trop-perçu")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    page, lead = _home(user)
    assert "reste à payer" not in lead.lower()
    assert "Rien à payer" in lead
    assert "Aucune facture à payer" in page


def test_summary_after_a_refund_of_paid_money_says_what_is_due_again_once():
    """The refund took back money that paid the invoice: it reopens, and the summary, the list
    and the balance agree (no "nothing to pay" next to a negative balance)."""
    _household, user, _kids, invoice = billed_family(email="rembourse2@example.test")
    staff = StaffFactory()
    account = Account.objects.get(guardian__user=user)
    payment = payment_record_counter(
        actor=staff,
        account=account,
        method="cash",
        amount_cents=invoice.total_cents,
        invoices=[invoice],
    )
    refund_create(actor=staff, payment=payment, amount_cents=100, reason="Repas non servi")
    invoice.refresh_from_db()
    assert invoice.is_open
    assert invoice.outstanding_cents == 100
    page, lead = _home(user)
    assert "Reste à payer : 1,00\xa0€ (1 facture)" in lead
    assert "Aucune facture à payer" not in page
    assert "Solde du compte" not in page  # the balance (−1,00 €) is exactly what is due
