"""A technician's day in real Chromium: a device enrolls over the osquery API, shows up on the
dashboard and its school page, a worn battery raises an alert, which becomes a repair ticket."""

import json
import urllib.request

import pytest

from fleet.models import Device, RepairTicket
from fleet.services.health import fleet_evaluate
from tests.conftest import browser_login
from tests.factories import PASSWORD, TechnicianFactory

from .factories import enroll_body, result_line, school_with_secret

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def agent_post(live_server, path, body):
    request = urllib.request.Request(
        f"{live_server.url}/api/osquery{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_enrolled_device_alert_to_ticket(browser, live_server, settings):
    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 0
    school = school_with_secret("browser-secret-0001", name="École Browser")
    technician = TechnicianFactory()
    node_key = agent_post(
        live_server, "/enroll", enroll_body(secret="browser-secret-0001", serial="BRW0001")
    )["node_key"]
    battery = {
        "percent_remaining": "40",
        "cycle_count": "1200",
        "designed_capacity": "50000",
        "max_capacity": "34000",
    }
    assert (
        agent_post(
            live_server,
            "/log",
            {
                "node_key": node_key,
                "log_type": "result",
                "data": [result_line("minot_battery", rows=[battery], serial="BRW0001")],
            },
        )
        == {}
    )
    fleet_evaluate()

    page = browser.new_page()
    browser_login(page, live_server, technician.email, PASSWORD)
    page.goto(f"{live_server.url}/parc/")
    assert page.locator("h1").inner_text() == "Parc numérique des classes mobiles"
    assert page.locator("svg.chart").count() == 4
    page.get_by_role("link", name="École Browser").first.click()
    page.get_by_role("link", name="BRW0001").click()
    assert "68 %" in page.locator("main").inner_text()  # battery health 34000 / 50000
    page.get_by_role("button", name="Créer un ticket").first.click()  # from the battery alert
    page.wait_for_url("**/parc/reparations/*/")
    ticket = RepairTicket.objects.get()
    assert ticket.device == Device.objects.get(identity="BRW0001")
    assert ticket.school == school
    assert page.url.endswith(f"/parc/reparations/{ticket.pk}/")
    page.close()
