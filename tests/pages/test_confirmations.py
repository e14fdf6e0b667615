"""Observed: irreversible staff actions took one tap (closing the roll, with a Saturday roll
accepted; issuing invoices that email every family; withdrawing an application; cancelling an
activity registration). Each now shows a summary to confirm first; a Saturday roll is refused on
the roll page itself."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from canteen.models import AttendanceRoll
from family import services
from family.models import SchoolApplication
from tests.conftest import browser_login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def last(weekday_test) -> dt.date:
    day = timezone.localdate()
    while not weekday_test(day):
        day -= dt.timedelta(days=1)
    return day


def test_roll_and_withdrawal_ask_for_confirmation_and_saturday_is_refused(
    live_server,
    browser,
    live_world,
):
    w = live_world
    page = browser.new_page()
    page.set_default_timeout(90_000)
    browser_login(page, live_server, w.staff.email)
    saturday = last(lambda d: d.weekday() == 5)
    roll_url = f"{live_server.url}/cantine/personnel/appel/{w.school_a.pk}/?jour={saturday}"
    page.goto(roll_url)
    page.click("text=Valider l'appel")
    page.wait_for_load_state()
    assert page.url == roll_url
    assert "pas un jour de cantine" in page.inner_text(".messages")
    assert AttendanceRoll.objects.count() == 0

    weekday = last(lambda d: d.weekday() < 5)
    roll_url = f"{live_server.url}/cantine/personnel/appel/{w.school_a.pk}/?jour={weekday}"
    page.goto(roll_url)
    page.click("text=Valider l'appel")
    page.wait_for_load_state()
    assert "Vérifiez avant de confirmer" in page.inner_text("main")
    assert w.school_a.name in page.inner_text("main")
    assert AttendanceRoll.objects.count() == 0
    page.click("#confirm-action")
    page.wait_for_load_state()
    assert AttendanceRoll.objects.count() == 1

    application = services.application_create(
        actor=w.parent, child=w.child, school_year=w.next_year, school=w.school_a
    )
    page.context.clear_cookies()
    browser_login(page, live_server, w.parent.email)
    page.goto(f"{live_server.url}/famille/inscriptions/{application.pk}/")
    page.click("button:has-text('Retirer la demande')")
    page.wait_for_load_state()
    assert w.child.first_name in page.inner_text("main")
    application.refresh_from_db()
    assert application.state == SchoolApplication.State.DRAFT
    page.click("text=Revenir sans rien changer")
    page.wait_for_load_state()
    page.click("button:has-text('Retirer la demande')")
    page.wait_for_load_state()
    page.click("#confirm-action")
    page.wait_for_load_state()
    application.refresh_from_db()
    assert application.state == SchoolApplication.State.WITHDRAWN
    page.close()


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_clock")  # the 2026-10 period, whatever the day the suite runs
def test_issuing_invoices_shows_the_count_and_that_families_are_emailed_first():
    from django.contrib.auth.models import Permission

    from payments.models import Invoice
    from tests.factories import StaffFactory
    from tests.payments.factories import billed_family

    _h, _u, kids, invoice = billed_family(email="emission@example.test", issue=False)
    staff = StaffFactory()
    kids[0].school.staff.add(staff)
    client = Client()
    client.force_login(staff)
    # issuing is finance work (payments.manage_finance): school staff are refused before any
    # confirmation, confirmed or not, and nothing is issued
    for data in ({"period": "2026-10"}, {"period": "2026-10", "confirmed": "1"}):
        assert client.post("/paiements/gestion/emettre/", data).status_code == 403
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT
    staff.user_permissions.add(Permission.objects.get(codename="manage_finance"))
    client.force_login(staff)
    page = client.post("/paiements/gestion/emettre/", {"period": "2026-10"}).content.decode()
    assert "1 factures en brouillon" in page
    assert "e-mail" in page
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT
    client.post("/paiements/gestion/emettre/", {"period": "2026-10", "confirmed": "1"})
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.ISSUED
