"""Every payment page passes axe-core's WCAG 2.1 A/AA rules (Chromium)."""

import pytest

from payments.services.payments import payment_record_counter
from tests.conftest import browser_login
from tests.factories import AdminFactory

from .factories import billed_family

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page):
    from axe_playwright_python.sync_playwright import Axe

    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}"
        for v in Axe().run(page, options=WCAG).response["violations"]
    ]


def test_payment_pages_are_accessible(browser, localstripe_webhook):
    live = localstripe_webhook
    household, _user, _kids, invoice = billed_family(email="a11y@example.test")
    admin = AdminFactory(email="a11y-admin@example.test")
    payment = payment_record_counter(
        actor=admin, account=invoice.account, method="cash", amount_cents=300, invoices=[invoice]
    )
    # money at the provider the books do not know: the reconciliation shows its mismatch table
    import datetime as dt

    import stripe

    from payments.providers import stripe_configure

    stripe_configure()
    stripe.PaymentIntent.create(
        amount=777,
        currency="eur",
        payment_method="pm_card_visa",
        confirm=True,
        payment_method_types=["card"],
    )
    this_month = f"{dt.date.today():%Y-%m}"  # localstripe stamps objects with the real clock
    pages = {
        "a11y@example.test": [
            "/paiements/",
            f"/paiements/factures/{invoice.pk}/",
            f"/paiements/payer/?invoice={invoice.pk}",
            "/paiements/historique/",
            f"/paiements/historique/{payment.pk}/",
            "/paiements/sepa/",
        ],
        "a11y-admin@example.test": [
            "/paiements/gestion/",
            f"/paiements/gestion/familles/{household.pk}/",
            "/paiements/gestion/rapprochement/?period=2026-10",
            f"/paiements/gestion/rapprochement/?period={this_month}",
        ],
    }
    problems = {}
    for email, paths in pages.items():
        context = browser.new_context()
        page = context.new_page()
        browser_login(page, live, email)
        for path in paths:
            response = page.goto(f"{live.url}{path}")
            assert response.status == 200, path
            found = violations(page)
            if found:
                problems[path] = found
        context.close()
    assert problems == {}
