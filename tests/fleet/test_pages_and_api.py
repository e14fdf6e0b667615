"""Technicians only: every fleet page and API endpoint, for every role. Pages render with data."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fleet.models import Alert, Device, LiveQuery, RepairTicket
from fleet.services.live_queries import live_query_create
from tests.conftest import api_client_for
from tests.factories import AdminFactory, ParentFactory, StaffFactory, TechnicianFactory

from .factories import CartFactory, DeviceFactory, school_with_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    school = school_with_secret()
    cart = CartFactory(school=school)
    now = timezone.now()
    device = DeviceFactory(
        school=school,
        cart=cart,
        slot=1,
        status="online",
        last_seen_at=now,
        os_name="Ubuntu",
        os_version="22.4.0",
        battery_health_percent=72.0,
        storage_total_bytes=1000,
        storage_free_bytes=50,
    )
    DeviceFactory(school=school, status="missing", last_seen_at=now - dt.timedelta(days=10))
    alert = Alert.objects.create(device=device, kind="battery_worn", message="72 %")
    ticket = RepairTicket.objects.create(device=device, school=school, title="Batterie")
    query = live_query_create(sql="SELECT 1;", devices=Device.objects.filter(pk=device.pk))
    return {
        "school": school,
        "cart": cart,
        "device": device,
        "alert": alert,
        "ticket": ticket,
        "query": query,
    }


def page_urls(w):
    return [
        reverse("fleet:dashboard"),
        reverse("fleet:school", args=[w["school"].pk]),
        reverse("fleet:cart", args=[w["cart"].pk]),
        reverse("fleet:devices"),
        reverse("fleet:devices") + "?status=missing&school=" + str(w["school"].pk),
        reverse("fleet:devices-csv"),
        reverse("fleet:device", args=[w["device"].pk]),
        reverse("fleet:alerts"),
        reverse("fleet:alerts") + "?state=all&kind=battery_worn",
        reverse("fleet:tickets"),
        reverse("fleet:ticket", args=[w["ticket"].pk]),
        reverse("fleet:live-queries"),
        reverse("fleet:live-query", args=[w["query"].pk]),
        reverse("fleet:live-query-results", args=[w["query"].pk]),
        reverse("fleet:report"),
        reverse("fleet:report") + "?format=csv",
    ]


def test_technician_sees_every_page(world):
    client = Client()
    client.force_login(TechnicianFactory())
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
    dashboard = client.get(reverse("fleet:dashboard")).content.decode()
    assert "<svg" in dashboard and world["school"].name in dashboard
    device_page = client.get(reverse("fleet:device", args=[world["device"].pk])).content.decode()
    assert "72 %" in device_page


@pytest.mark.parametrize("factory", [ParentFactory, StaffFactory, AdminFactory])
def test_other_roles_get_404_everywhere(world, factory):
    client = Client()
    client.force_login(factory())
    report = reverse("fleet:report")
    for url in page_urls(world):
        # the city administrator reads the weekly report (no device page, no action)
        expected = 200 if factory is AdminFactory and url.startswith(report) else 404
        assert client.get(url).status_code == expected, url
    posts = [
        reverse("fleet:school-secret", args=[world["school"].pk]),
        reverse("fleet:device-action", args=[world["device"].pk, "spare"]),
        reverse("fleet:alert-action", args=[world["alert"].pk, "acknowledge"]),
        reverse("fleet:ticket", args=[world["ticket"].pk]),
    ]
    for url in posts:
        assert client.post(url, {"state": "fixed"}).status_code == 404, url
    # nothing changed
    world["device"].refresh_from_db()
    assert world["device"].role == "regular"
    assert Alert.objects.get(pk=world["alert"].pk).state == "open"
    assert RepairTicket.objects.get(pk=world["ticket"].pk).state == "open"


def test_anonymous_is_sent_to_login(world):
    response = Client().get(reverse("fleet:dashboard"))
    assert response.status_code == 302 and "connexion" in response["Location"]


def test_technician_actions(world):
    tech = TechnicianFactory()
    client = Client()
    client.force_login(tech)
    device, alert = world["device"], world["alert"]
    assert (
        client.post(reverse("fleet:alert-action", args=[alert.pk, "acknowledge"])).status_code
        == 302
    )
    assert Alert.objects.get(pk=alert.pk).state == "acknowledged"
    client.post(
        reverse("fleet:ticket", args=[world["ticket"].pk]),
        {"state": "in_progress", "note": "Démonté"},
    )
    assert RepairTicket.objects.get(pk=world["ticket"].pk).state == "in_progress"
    client.post(reverse("fleet:device-action", args=[device.pk, "spare"]))
    device.refresh_from_db()
    assert device.role == "spare" and device.cart is None
    response = client.post(
        reverse("fleet:school-secret", args=[world["school"].pk]), {"action": "rotate"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "il ne sera plus affiché" in page
    response = client.post(
        reverse("fleet:live-queries"),
        {"sql": "SELECT * FROM shell_history;", "school": world["school"].pk, "minutes": 60},
    )
    assert response.status_code == 200 and LiveQuery.objects.count() == 1
    response = client.post(
        reverse("fleet:live-queries"),
        {"sql": "SELECT version FROM os_version;", "school": world["school"].pk, "minutes": 30},
    )
    assert response.status_code == 302 and LiveQuery.objects.count() == 2
    # unknown action, wrong slot: a message, never a 500
    assert (
        client.post(reverse("fleet:device-action", args=[device.pk, "explode"])).status_code == 302
    )
    assert (
        client.post(
            reverse("fleet:device-action", args=[device.pk, "move"]), {"cart": "abc", "slot": "-4"}
        ).status_code
        == 302
    )


def test_api_devices_and_alerts_for_technicians(world):
    client = api_client_for(TechnicianFactory())
    response = client.get(reverse("fleet-api:devices"))
    assert response.status_code == 200 and response.json()["count"] == 2
    response = client.get(reverse("fleet-api:devices"), {"status": "missing"})
    assert response.json()["count"] == 1
    assert client.get(reverse("fleet-api:devices"), {"status": "bogus"}).status_code == 400
    detail = client.get(reverse("fleet-api:device", args=[world["device"].pk])).json()
    assert detail["battery_health_percent"] == 72.0 and detail["school"] == world["school"].code
    alerts = client.get(reverse("fleet-api:alerts")).json()
    assert [a["kind"] for a in alerts["results"]] == ["battery_worn"]
    assert client.get(reverse("fleet-api:alerts"), {"school": "x"}).status_code == 400
    ack = client.post(reverse("fleet-api:alert-acknowledge", args=[world["alert"].pk]))
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    assert client.get(reverse("fleet-api:device", args=[999999])).status_code == 404


@pytest.mark.parametrize("factory", [ParentFactory, StaffFactory, AdminFactory])
def test_api_is_404_for_other_roles(world, factory):
    client = api_client_for(factory())
    for url in [
        reverse("fleet-api:devices"),
        reverse("fleet-api:device", args=[world["device"].pk]),
        reverse("fleet-api:alerts"),
    ]:
        assert client.get(url).status_code == 404
    assert (
        client.post(reverse("fleet-api:alert-acknowledge", args=[world["alert"].pk])).status_code
        == 404
    )
    assert Alert.objects.get(pk=world["alert"].pk).state == "open"


def test_api_anonymous_is_refused(world, api_client):
    assert api_client.get(reverse("fleet-api:devices")).status_code == 401


def test_weekly_report_reads_in_words_and_ticket_history_has_no_internal_states(world):
    """Observed: the report showed `battery_health_avg` and "28,0"; ticket history "∅ → open"."""
    client = Client()
    client.force_login(TechnicianFactory())
    report = client.get(reverse("fleet:report")).content.decode()
    assert "battery_health_avg" not in report and "Santé moyenne des batteries" in report
    assert "72\u00a0%" in report  # whole percent, not "72,0"
    admin = Client()
    admin.force_login(AdminFactory())
    assert "Santé moyenne des batteries" in admin.get(reverse("fleet:report")).content.decode()
    client.post(reverse("fleet:ticket", args=[world["ticket"].pk]), {"state": "in_progress"})
    ticket = client.get(reverse("fleet:ticket", args=[world["ticket"].pk])).content.decode()
    history = ticket.split('class="timeline"')[1].split("</ol>")[0]
    assert "∅" not in history and "open" not in history and "in_progress" not in history
