"""Technicians only: every fleet page and API endpoint, for every role. Pages render with data."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from fleet.models import Alert, Device, LiveQuery, RepairTicket
from fleet.services.enrollment import enroll_secret_rotate
from fleet.services.live_queries import live_query_create
from tests.conftest import api_client_for

from .factories import CartFactory, DeviceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(world):
    """A cart of school A (which gets a mobile classroom and an enroll secret) with an online
    device (worn battery, full disk), a missing one, an alert, a ticket and a live query."""
    school = world.school_a
    school.has_mobile_classroom = True
    school.save(update_fields=["has_mobile_classroom"])
    enroll_secret_rotate(school=school, secret="school-secret-0001")
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


def test_technician_sees_every_page(world, fleet):
    client = Client()
    client.force_login(world.technician)
    for url in page_urls(fleet):
        response = client.get(url)
        assert response.status_code == 200, url
    dashboard = client.get(reverse("fleet:dashboard")).content.decode()
    assert "<svg" in dashboard
    assert fleet["school"].name in dashboard
    device_page = client.get(reverse("fleet:device", args=[fleet["device"].pk])).content.decode()
    assert "72 %" in device_page


@pytest.mark.parametrize("role", ["parent", "staff", "admin"])
def test_other_roles_get_404_everywhere(world, fleet, role):
    client = Client()
    client.force_login(getattr(world, role))
    report = reverse("fleet:report")
    for url in page_urls(fleet):
        # the city administrator reads the weekly report (no device page, no action)
        expected = 200 if role == "admin" and url.startswith(report) else 404
        assert client.get(url).status_code == expected, url
    posts = [
        reverse("fleet:school-secret", args=[fleet["school"].pk]),
        reverse("fleet:device-action", args=[fleet["device"].pk, "spare"]),
        reverse("fleet:alert-action", args=[fleet["alert"].pk, "acknowledge"]),
        reverse("fleet:ticket", args=[fleet["ticket"].pk]),
    ]
    for url in posts:
        assert client.post(url, {"state": "fixed"}).status_code == 404, url
    # nothing changed
    fleet["device"].refresh_from_db()
    assert fleet["device"].role == "regular"
    assert Alert.objects.get(pk=fleet["alert"].pk).state == "open"
    assert RepairTicket.objects.get(pk=fleet["ticket"].pk).state == "open"


def test_anonymous_is_sent_to_login(world, fleet):
    response = Client().get(reverse("fleet:dashboard"))
    assert response.status_code == 302
    assert "connexion" in response["Location"]


def test_technician_actions(world, fleet):
    tech = world.technician
    client = Client()
    client.force_login(tech)
    device, alert = fleet["device"], fleet["alert"]
    assert (
        client.post(reverse("fleet:alert-action", args=[alert.pk, "acknowledge"])).status_code
        == 302
    )
    assert Alert.objects.get(pk=alert.pk).state == "acknowledged"
    client.post(
        reverse("fleet:ticket", args=[fleet["ticket"].pk]),
        {"state": "in_progress", "note": "Démonté"},
    )
    assert RepairTicket.objects.get(pk=fleet["ticket"].pk).state == "in_progress"
    client.post(reverse("fleet:device-action", args=[device.pk, "spare"]))
    device.refresh_from_db()
    assert device.role == "spare"
    assert device.cart is None
    response = client.post(
        reverse("fleet:school-secret", args=[fleet["school"].pk]), {"action": "rotate"}
    )
    page = client.get(response["Location"]).content.decode()
    assert "il ne sera plus affiché" in page
    response = client.post(
        reverse("fleet:live-queries"),
        {"sql": "SELECT * FROM shell_history;", "school": fleet["school"].pk, "minutes": 60},
    )
    assert response.status_code == 200
    assert LiveQuery.objects.count() == 1
    response = client.post(
        reverse("fleet:live-queries"),
        {"sql": "SELECT version FROM os_version;", "school": fleet["school"].pk, "minutes": 30},
    )
    assert response.status_code == 302
    assert LiveQuery.objects.count() == 2
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


def test_api_devices_and_alerts_for_technicians(world, fleet):
    client = api_client_for(world.technician)
    response = client.get(reverse("fleet-api:devices"))
    assert response.status_code == 200
    assert response.json()["count"] == 2
    response = client.get(reverse("fleet-api:devices"), {"status": "missing"})
    assert response.json()["count"] == 1
    assert client.get(reverse("fleet-api:devices"), {"status": "bogus"}).status_code == 400
    detail = client.get(reverse("fleet-api:device", args=[fleet["device"].pk])).json()
    assert detail["battery_health_percent"] == 72.0
    assert detail["school"] == fleet["school"].code
    alerts = client.get(reverse("fleet-api:alerts")).json()
    assert [a["kind"] for a in alerts["results"]] == ["battery_worn"]
    assert client.get(reverse("fleet-api:alerts"), {"school": "x"}).status_code == 400
    ack = client.post(reverse("fleet-api:alert-acknowledge", args=[fleet["alert"].pk]))
    assert ack.status_code == 200
    assert ack.json()["state"] == "acknowledged"
    assert client.get(reverse("fleet-api:device", args=[999999])).status_code == 404


@pytest.mark.parametrize("role", ["parent", "staff", "admin"])
def test_api_is_404_for_other_roles(world, fleet, role):
    client = api_client_for(getattr(world, role))
    for url in [
        reverse("fleet-api:devices"),
        reverse("fleet-api:device", args=[fleet["device"].pk]),
        reverse("fleet-api:alerts"),
    ]:
        assert client.get(url).status_code == 404
    assert (
        client.post(reverse("fleet-api:alert-acknowledge", args=[fleet["alert"].pk])).status_code
        == 404
    )
    assert Alert.objects.get(pk=fleet["alert"].pk).state == "open"


def test_api_anonymous_is_refused(fleet, api_client):
    assert api_client.get(reverse("fleet-api:devices")).status_code == 401


def test_weekly_report_reads_in_words_and_ticket_history_has_no_internal_states(world, fleet):
    """Observed: the report showed `battery_health_avg` and "28,0"; ticket history "∅ → open"."""
    client = Client()
    client.force_login(world.technician)
    report = client.get(reverse("fleet:report")).content.decode()
    assert "battery_health_avg" not in report
    assert "Santé moyenne des batteries" in report
    assert "72\u00a0%" in report  # whole percent, not "72,0"
    admin = Client()
    admin.force_login(world.admin)
    assert "Santé moyenne des batteries" in admin.get(reverse("fleet:report")).content.decode()
    client.post(reverse("fleet:ticket", args=[fleet["ticket"].pk]), {"state": "in_progress"})
    ticket = client.get(reverse("fleet:ticket", args=[fleet["ticket"].pk])).content.decode()
    history = ticket.split('class="timeline"')[1].split("</ol>")[0]
    assert "∅" not in history
    assert "open" not in history
    assert "in_progress" not in history
