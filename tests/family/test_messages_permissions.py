"""Messages as the adversary: the other household, staff of another school, a technician and
anonymous reach nothing (exactly 404, 401 for anonymous API calls, the login page for anonymous
pages), and a denied action changes nothing. Then the API as its owners use it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.models import AuditEvent
from family.message_models import AppointmentRequest, Message, MessageThread, OfficeSlot
from family.services import messages as services
from tests.conftest import api_client_for
from tests.factories import AdminFactory
from tests.family.factories import PDF_BYTES, pdf
from tests.world import FROZEN_NOW

pytestmark = pytest.mark.django_db

NOW = FROZEN_NOW  # the shared world's frozen clock (a Monday)


@pytest.fixture
def conv(world):
    """A thread of household (school A) with an attachment, a slot and a requested appointment."""
    thread = services.thread_start(
        actor=world.parent,
        school=world.school_a,
        subject="Question",
        body="Bonjour",
        attachment=pdf(),
    )
    slot = OfficeSlot.objects.create(
        school=world.school_a, date=dt.date(2026, 11, 18), start_time=dt.time(16, 30)
    )
    appointment = services.appointment_request(actor=world.parent, thread=thread, slot=slot)
    return thread, thread.messages.get(), slot, appointment


def snapshot():
    return (
        list(MessageThread.objects.values_list("id", "status", "assigned_to", "last_message_at")),
        list(Message.objects.values_list("id", "body")),
        list(AppointmentRequest.objects.values_list("id", "state")),
        list(OfficeSlot.objects.values_list("id", "capacity")),
        AuditEvent.objects.count(),
    )


def outsiders(world):
    return {
        "other household": world.parent2,
        "staff of another school": world.staff_b,
        "technician": world.technician,
    }


def page_requests(thread, message, appointment, slot):
    return [
        ("get", reverse("family:message-thread", args=[thread.pk]), {}),
        ("post", reverse("family:message-thread", args=[thread.pk]), {"body": "Intrus"}),
        ("get", reverse("family:message-attachment", args=[message.pk]), {}),
        ("post", reverse("family:message-assign", args=[thread.pk]), {"assignee": ""}),
        ("post", reverse("family:message-status", args=[thread.pk]), {"action": "close"}),
        ("post", reverse("family:appointment-request", args=[thread.pk]), {"slot": slot.pk}),
        ("post", reverse("family:appointment-action", args=[appointment.pk]), {"action": "cancel"}),
        (
            "post",
            reverse("family:appointment-action", args=[appointment.pk]),
            {"action": "confirm"},
        ),
    ]


def api_requests(thread, message, appointment, slot):
    base = "/api/v1/messages"
    return [
        ("get", f"{base}/threads/{thread.pk}/", {}),
        ("post", f"{base}/threads/{thread.pk}/messages/", {"body": "Intrus"}),
        ("get", f"{base}/{message.pk}/attachment/", {}),
        ("post", f"{base}/threads/{thread.pk}/assign/", {"assigned_to": None}),
        ("post", f"{base}/threads/{thread.pk}/status/", {"action": "close"}),
        ("post", f"{base}/threads/{thread.pk}/appointments/", {"slot": slot.pk}),
        ("post", f"{base}/appointments/{appointment.pk}/", {"action": "cancel"}),
        ("post", f"{base}/appointments/{appointment.pk}/", {"action": "confirm"}),
    ]


@pytest.mark.parametrize("who", ["other household", "staff of another school", "technician"])
def test_outsiders_get_404_on_every_page_and_nothing_changes(world, conv, who):
    client = Client()
    client.force_login(outsiders(world)[who])
    before = snapshot()
    for method, url, data in page_requests(*conv):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (who, method, url)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["other household", "staff of another school", "technician"])
def test_outsiders_get_404_on_every_api_call_and_nothing_changes(world, conv, who):
    client = api_client_for(outsiders(world)[who])
    before = snapshot()
    for method, url, data in api_requests(*conv):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (who, method, url, response.content)
    assert snapshot() == before


def test_anonymous_gets_401_from_the_api_and_the_login_page(world, conv):
    before = snapshot()
    client = Client()
    for method, url, data in page_requests(*conv):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/connexion/")
    for method, url, data in api_requests(*conv):
        response = getattr(Client(), method)(url, data, content_type="application/json")
        assert response.status_code == 401, url
    assert snapshot() == before


def test_lists_show_only_what_is_reached(world, conv):
    thread = conv[0]
    services.thread_start(actor=world.parent2, school=world.school_b, subject="B", body="Bonjour")
    for user, expected in [
        (world.parent, [thread.pk]),
        (world.staff, [thread.pk]),
        (world.technician, None),
    ]:
        response = api_client_for(user).get("/api/v1/messages/threads/")
        if expected is None:
            assert response.status_code == 404
            continue
        assert [t["id"] for t in response.json()["results"]] == expected
    html = Client()
    html.force_login(world.staff_b)
    page = html.get(reverse("family:message-inbox")).content.decode()
    assert "Question" not in page
    ids = [
        t["id"]
        for t in api_client_for(AdminFactory()).get("/api/v1/messages/threads/").json()["results"]
    ]
    assert sorted(ids) == sorted(MessageThread.objects.values_list("id", flat=True))


def test_parent_cannot_act_as_staff_and_staff_cannot_act_as_family(world, conv):
    thread, _message, slot, appointment = conv
    before = snapshot()
    parent = api_client_for(world.parent)
    assert (
        parent.post(
            f"/api/v1/messages/threads/{thread.pk}/status/", {"action": "close"}, format="json"
        ).status_code
        == 404
    )
    r = parent.post(
        f"/api/v1/messages/appointments/{appointment.pk}/", {"action": "confirm"}, format="json"
    )
    assert r.status_code == 400
    staff = api_client_for(world.staff)
    r = staff.post(
        f"/api/v1/messages/appointments/{appointment.pk}/", {"action": "cancel"}, format="json"
    )
    assert r.status_code == 400
    assert (
        staff.post(
            f"/api/v1/messages/threads/{thread.pk}/appointments/", {"slot": slot.pk}, format="json"
        ).status_code
        == 404
    )
    assert (
        staff.post(
            "/api/v1/messages/threads/",
            {"school": world.school_a.pk, "subject": "x", "body": "y"},
            format="json",
        ).status_code
        == 404
    )
    assert snapshot() == before


def test_parent_cannot_start_a_thread_with_a_foreign_school_through_the_api(world):
    r = api_client_for(world.parent).post(
        "/api/v1/messages/threads/",
        {"school": world.school_b.pk, "subject": "x", "body": "y"},
        format="json",
    )
    assert r.status_code == 404
    assert MessageThread.objects.count() == 0


def test_staff_of_another_school_cannot_publish_slots_there(world):
    r = api_client_for(world.staff_b).post(
        "/api/v1/messages/slots/",
        {"school": world.school_a.pk, "date": "2026-11-20", "start_time": "09:00"},
        format="json",
    )
    assert r.status_code == 404
    assert OfficeSlot.objects.count() == 0


# --- the API as its owners use it ------------------------------------------------------------


def test_api_story_parent_writes_staff_answers_with_idempotent_token(world):
    parent = api_client_for(world.parent)
    staff = api_client_for(world.staff)
    r = parent.post(
        "/api/v1/messages/threads/",
        {"school": world.school_a.pk, "subject": "Photo de classe", "body": "Quand ?"},
        format="json",
    )
    assert r.status_code == 201, r.content
    thread_id = r.json()["id"]
    assert r.json()["status"] == "open"
    assert [m["body"] for m in r.json()["messages"]] == ["Quand ?"]
    inbox = staff.get("/api/v1/messages/threads/", {"status": "open"}).json()["results"]
    assert [(t["id"], t["unread"]) for t in inbox] == [(thread_id, True)]
    token = str(uuid.uuid4())
    first = staff.post(
        f"/api/v1/messages/threads/{thread_id}/messages/",
        {"body": "Jeudi.", "client_token": token},
        format="json",
    )
    again = staff.post(
        f"/api/v1/messages/threads/{thread_id}/messages/",
        {"body": "Jeudi.", "client_token": token},
        format="json",
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.filter(thread_id=thread_id).count() == 2
    detail = parent.get(f"/api/v1/messages/threads/{thread_id}/").json()
    assert detail["status"] == "waiting_family"
    assert [m["from_school"] for m in detail["messages"]] == [False, True]
    r = staff.post(
        f"/api/v1/messages/threads/{thread_id}/assign/",
        {"assigned_to": world.staff.pk},
        format="json",
    )
    assert r.json()["assigned_to"] == world.staff.pk
    r = staff.post(
        f"/api/v1/messages/threads/{thread_id}/assign/",
        {"assigned_to": world.staff_b.pk},
        format="json",
    )
    assert r.status_code == 400
    r = staff.post(
        f"/api/v1/messages/threads/{thread_id}/status/", {"action": "close"}, format="json"
    )
    assert r.json()["status"] == "closed"
    r = parent.post(
        f"/api/v1/messages/threads/{thread_id}/messages/", {"body": "Encore"}, format="json"
    )
    assert r.status_code == 400
    assert "close" in r.json()["message"]


def test_api_attachment_upload_and_download(world):
    parent = api_client_for(world.parent)
    r = parent.post(
        "/api/v1/messages/threads/",
        {
            "school": world.school_a.pk,
            "subject": "Certificat",
            "body": "Ci-joint",
            "attachment": pdf(),
        },
        format="multipart",
    )
    assert r.status_code == 201, r.content
    message = r.json()["messages"][0]
    assert message["has_attachment"] is True
    assert message["attachment_content_type"] == "application/pdf"
    download = api_client_for(world.staff).get(f"/api/v1/messages/{message['id']}/attachment/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF_BYTES
    r = parent.post(
        f"/api/v1/messages/threads/{r.json()['id']}/messages/",
        {"body": "x", "attachment": pdf(content=b"MZ\x90\x00 not a pdf")},
        format="multipart",
    )
    assert r.status_code == 400
    assert "PDF, JPEG et PNG" in r.json()["message"]


def test_api_slots_and_appointments(world):
    staff = api_client_for(world.staff)
    parent = api_client_for(world.parent)
    r = staff.post(
        "/api/v1/messages/slots/",
        {"school": world.school_a.pk, "date": "2026-11-20", "start_time": "08:30"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert (r.json()["capacity"], r.json()["duration_minutes"], r.json()["end_time"]) == (
        1,
        20,
        "08:50:00",
    )
    slot_id = r.json()["id"]
    slots = parent.get("/api/v1/messages/slots/", {"school": world.school_a.pk}).json()["results"]
    assert [s["id"] for s in slots] == [slot_id]
    thread = services.thread_start(
        actor=world.parent, school=world.school_a, subject="Rdv", body="Bonjour"
    )
    r = parent.post(
        f"/api/v1/messages/threads/{thread.pk}/appointments/", {"slot": slot_id}, format="json"
    )
    assert r.status_code == 201, r.content
    appointment_id = r.json()["id"]
    assert (
        parent.get("/api/v1/messages/slots/", {"school": world.school_a.pk}).json()["results"] == []
    )
    r = staff.post(
        f"/api/v1/messages/appointments/{appointment_id}/",
        {"action": "decline", "reason": "Réunion"},
        format="json",
    )
    assert (r.json()["state"], r.json()["reason"]) == ("declined", "Réunion")
    detail = parent.get(f"/api/v1/messages/threads/{thread.pk}/").json()
    assert [(a["id"], a["state"]) for a in detail["appointments"]] == [(appointment_id, "declined")]
