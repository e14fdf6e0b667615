"""Observed: after a refund the parent's summary said "Solde : -10,00 € (reste à payer)" right next
to "Aucune facture à payer". The summary now comes from the open invoices; the account balance is
explained on its own line."""

import pytest
from django.test import Client

from payments.models import Account
from payments.services.payments import payment_record_counter, refund_create
from tests.factories import StaffFactory

from .factories import billed_family

pytestmark = pytest.mark.django_db


def test_summary_after_a_refund_does_not_say_there_is_something_to_pay():
    _household, user, _kids, invoice = billed_family(email="rembourse@example.test")
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
    client = Client()
    client.force_login(user)
    page = client.get("/paiements/").content.decode()
    lead = page.split('class="lead"')[1].split("</p>")[0]
    assert "reste à payer" not in lead.lower()
    assert "Rien à payer" in lead
    assert "Aucune facture à payer" in page
    # the balance line explains itself instead of contradicting the invoices
    assert "remboursement" in page.lower()
