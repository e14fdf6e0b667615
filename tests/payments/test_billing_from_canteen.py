"""The billing run against the real canteen (bookings, tariffs): no stand-in meal source."""

import datetime as dt

import pytest
import time_machine

from canteen import services as canteen_services
from payments.models import Invoice, InvoiceLine
from payments.services.billing import billing_run_for_period
from tests.canteen.factories import make_assessment, make_tariff, make_year
from tests.factories import SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db


def test_invoice_lines_come_from_canteen_bookings_with_their_price_explanation():
    school = SchoolFactory()
    make_year()
    make_tariff()
    household, user, kids = household_with_parent(children=2, school=school)
    kids[0].birth_date, kids[1].birth_date = dt.date(2016, 1, 1), dt.date(2018, 1, 1)
    for k in kids:
        k.save()
    make_assessment(household, bracket=3)
    with time_machine.travel(dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC), tick=False):
        canteen_services.bookings_create_pattern(
            children=kids,
            start=dt.date(2026, 11, 2),
            end=dt.date(2026, 11, 6),
            weekdays=range(5),
            actor=user,
        )
    run = billing_run_for_period(period=dt.date(2026, 11, 1))
    assert run.invoices_created == 1
    assert run.lines_created == 10
    invoice = Invoice.objects.get()
    assert invoice.total_cents == 5 * 265 + 5 * 245  # bracket 3: 1st child 2.65 €, 2nd child 2.45 €
    line = InvoiceLine.objects.filter(child=kids[0]).first()
    assert line.source == "booking"
    assert "tranche 3" in line.description
    assert billing_run_for_period(period=dt.date(2026, 11, 1)).invoices_created == 0
