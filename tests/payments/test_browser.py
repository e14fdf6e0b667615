"""Real Chromium against the live server and localstripe: the demo's two promises."""

import datetime as dt
import re

import pytest

from payments.models import Invoice, LedgerEntry, Payment
from tests.conftest import browser_login

from .factories import billed_family, extra_invoice

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_parent_pays_two_invoices_at_once_and_downloads_the_receipt(browser, localstripe_webhook):
    live = localstripe_webhook
    _h, user, _k, october = billed_family(email="famille@example.test")
    september = extra_invoice(user=user, period=dt.date(2026, 9, 1))
    page = browser.new_page()
    browser_login(page, live, "famille@example.test")
    page.goto(f"{live.url}/paiements/")
    assert page.locator("input[name=invoice]").count() == 2
    page.click("text=Payer les factures cochées")
    page.wait_for_load_state()
    total = october.total_cents + september.total_cents
    assert (
        page.locator("#pay-total")
        .inner_text()
        .replace("\u202f", "")
        .startswith(f"{total // 100},{total % 100:02d}")
    )
    page.check("input[value=pm_card_visa]")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "reçu" in page.locator("[role=status]").inner_text()
    with page.expect_download() as download:
        page.click("#receipt-link")
    assert download.value.suggested_filename.startswith("recu-")
    with open(download.value.path(), "rb") as fh:
        assert fh.read(4) == b"%PDF"
    assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.PAID}
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    page.close()


def test_declined_card_shows_a_clear_message_and_leaves_invoices_open(browser, localstripe_webhook):
    live = localstripe_webhook
    _h, _user, _k, invoice = billed_family(email="refus@example.test")
    page = browser.new_page()
    page.set_default_timeout(90_000)  # the machine is shared: be patient with a loaded server
    browser_login(page, live, "refus@example.test")
    page.goto(f"{live.url}/paiements/payer/?invoice={invoice.pk}")
    page.check("input[value=pm_card_chargeCustomerFail]")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    message = page.locator("[role=status]").inner_text()
    # the provider's code in French, never its English text
    assert "n'a pas abouti" in message
    assert "banque a refusé" in message
    main = page.locator("main").inner_text()
    assert "declined" not in main.lower()
    assert "Factures réglées" not in main
    assert "Reçu" not in page.locator("h1").inner_text()
    assert page.locator("text=Factures toujours à payer").count() == 1
    page.click("#retry-payment")
    page.wait_for_load_state()
    assert page.url.endswith(f"/paiements/payer/?invoice={invoice.pk}")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
    assert Payment.objects.get().status == Payment.Status.FAILED
    page.close()


def test_staff_runs_billing_records_cash_refunds_and_exports(
    browser, localstripe_webhook, django_user_model
):
    from tests.factories import StaffFactory

    live = localstripe_webhook
    household, _user, kids, invoice = billed_family(email="guichet@example.test")
    staff = StaffFactory(email="agent@example.test")
    kids[0].school.staff.add(staff)
    from django.contrib.auth.models import Permission

    # billing runs and exports are finance work: this agent holds the finance permission
    staff.user_permissions.add(Permission.objects.get(codename="manage_finance"))
    page = browser.new_page()
    page.set_default_timeout(90_000)
    browser_login(page, live, "agent@example.test")
    page.goto(f"{live.url}/paiements/gestion/")
    page.fill("input[name=period]", "2026-10")
    page.click("#run-billing")
    page.wait_for_load_state()
    # "issue" is ticked by default: billing and emailing every family is confirmed first
    assert "Facturer et émettre 10/2026" in page.locator("h1").inner_text()
    page.click("button:has-text('Facturer, émettre et prévenir les familles')")
    page.wait_for_load_state()
    assert "lancée" in page.locator(".messages").inner_text()
    # counter payment (cash) for the family
    page.goto(f"{live.url}/paiements/gestion/familles/{household.pk}/")
    page.select_option("select[name$=method]", "cash")
    page.fill("input[name$=amount]", "9,80")
    page.check(f"input[value='{invoice.pk}']")
    page.click("text=Enregistrer le paiement")
    page.wait_for_load_state()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    payment = Payment.objects.get()
    page.fill(f"#refund-amount-{payment.pk}", "2,45")
    page.fill(f"#refund-reason-{payment.pk}", "absence justifiée")
    page.click("text=Rembourser")
    page.wait_for_load_state()
    payment.refresh_from_db()
    assert payment.refunded_cents == 245
    page.goto(f"{live.url}/paiements/gestion/")
    # the default period is last month as YYYY-MM (it was a full date the field's pattern refused)
    assert re.fullmatch(
        r"\d{4}-\d{2}",
        page.input_value("#export-button >> xpath=ancestor::form >> input[name=period]"),
    )
    with page.expect_download() as download:
        page.click("#export-button")
    with open(download.value.path(), encoding="utf-8-sig") as fh:
        assert fh.readline().startswith("date;ecriture;service")
    page.close()
