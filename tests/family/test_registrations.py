"""School registration: the state machine through the API, documents, timeline, notifications."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from backend.core.models import ActorKind, AuditEvent, Notification
from family import services
from family.models import ApplicationEvent, Document, DocumentRequest, SchoolApplication
from tests.conftest import api_client_for
from tests.factories import SchoolFactory
from tests.family.factories import JPEG_BYTES, PNG_BYTES, pdf

S = SchoolApplication.State


def create(client, w, school=None, **extra):
    payload = {
        "child": w.child.pk,
        "school_year": w.next_year.pk,
        "school": (school or w.school_a).pk,
        **extra,
    }
    return client.post(reverse("family-api:registrations"), payload, format="json")


def upload(client, application_id, kind, content=None, issued_on=None, name="doc.pdf"):
    data = {"kind": kind, "file": pdf(name=name, content=content) if content else pdf(name=name)}
    if issued_on:
        data["issued_on"] = issued_on.isoformat()
    return client.post(
        reverse("family-api:registration-documents", args=[application_id]),
        data,
        format="multipart",
    )


def upload_all(client, application_id):
    today = timezone.localdate()
    assert (
        upload(
            client, application_id, "proof_of_address", issued_on=today - dt.timedelta(days=10)
        ).status_code
        == 201
    )
    assert upload(client, application_id, "birth_certificate").status_code == 201
    assert upload(client, application_id, "vaccinations").status_code == 201


def test_catchment_school_needs_no_derogation(world):
    client = api_client_for(world.parent)
    response = create(client, world)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "draft"
    assert body["catchment_school"]["id"] == world.school_a.pk
    assert body["derogation_reason"] == ""
    assert len(body["tracking_code"]) == 9
    assert body["tracking_code"][4] == "-"
    assert [e["to_state"] for e in body["timeline"]] == ["draft"]


def test_other_school_requires_a_derogation_reason(world):
    client = api_client_for(world.parent)
    other = SchoolFactory()
    response = create(client, world, school=other)
    assert response.status_code == 400
    assert "dérogation" in response.json()["message"]
    assert SchoolApplication.objects.count() == 0
    response = create(client, world, school=other, derogation_reason="other")
    assert response.status_code == 400  # "other" needs details
    response = create(
        client,
        world,
        school=other,
        derogation_reason="workplace",
        derogation_details="Bureau à côté",
    )
    assert response.status_code == 201
    assert response.json()["derogation_reason"] == "workplace"


def test_one_active_application_per_child_and_year(world):
    client = api_client_for(world.parent)
    assert create(client, world).status_code == 201
    response = create(client, world)
    assert response.status_code == 400
    assert "déjà une demande" in response.json()["message"]
    assert SchoolApplication.objects.count() == 1


def test_full_story_with_timeline_and_notifications(world, django_capture_on_commit_callbacks):
    parent, staff = api_client_for(world.parent), api_client_for(world.staff)
    app_id = create(parent, world, derogation_reason="").json()["id"]
    today = timezone.localdate()
    assert (
        upload(
            parent, app_id, "proof_of_address", issued_on=today - dt.timedelta(days=5)
        ).status_code
        == 201
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            parent.post(reverse("family-api:registration-submit", args=[app_id])).status_code == 200
        )
    # staff asks for the missing documents
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("family-api:registration-request-documents", args=[app_id]),
            {"kinds": ["birth_certificate", "vaccinations"], "note": "Merci"},
            format="json",
        )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "incomplete"
    # accepting now is refused, and nothing changes
    response = staff.post(
        reverse("family-api:registration-decide", args=[app_id]),
        {"decision": "accept"},
        format="json",
    )
    assert response.status_code == 400
    assert "Incomplète" in response.json()["message"]
    assert SchoolApplication.objects.get(pk=app_id).state == S.INCOMPLETE
    # the family uploads: the last requested document sends it back for review
    assert upload(parent, app_id, "birth_certificate").status_code == 201
    assert SchoolApplication.objects.get(pk=app_id).state == S.INCOMPLETE
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(parent, app_id, "vaccinations").status_code == 201
    assert SchoolApplication.objects.get(pk=app_id).state == S.SUBMITTED
    assert not DocumentRequest.objects.filter(
        application_id=app_id, fulfilled_at__isnull=True
    ).exists()
    # documents not yet checked: accept still refused
    response = staff.post(
        reverse("family-api:registration-decide", args=[app_id]),
        {"decision": "accept"},
        format="json",
    )
    assert response.status_code == 400
    assert "documents manquants" in response.json()["message"]
    assert SchoolApplication.objects.get(pk=app_id).state == S.SUBMITTED
    for document in Document.objects.filter(application_id=app_id):
        r = staff.post(
            reverse("family-api:document-check", args=[document.pk]),
            {"accepted": True},
            format="json",
        )
        assert r.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("family-api:registration-decide", args=[app_id]),
            {"decision": "accept"},
            format="json",
        )
    assert response.status_code == 200, response.json()
    body = parent.get(reverse("family-api:registration-detail", args=[app_id])).json()
    states = [e["to_state"] for e in body["timeline"] if e["kind"] == "state"]
    assert states == ["draft", "submitted", "incomplete", "submitted", "accepted"]
    assert all(e["created_at"] for e in body["timeline"])
    # every state change after the draft was notified in-app and by email
    # (stored as keys: the text is the reader's language, whatever was active when written)
    notified = Notification.objects.filter(user=world.parent).values_list("subject_key", flat=True)
    assert sum(k.startswith("Inscription %(de_child)s") for k in notified) == 4
    assert len([m for m in mail.outbox if world.parent.email in m.to]) >= 4
    assert (
        ApplicationEvent.objects.filter(
            application_id=app_id, kind="state", notified_at__isnull=True
        ).count()
        == 1
    )


def test_deciding_a_withdrawn_application_is_refused(world):
    parent, staff = api_client_for(world.parent), api_client_for(world.staff)
    app_id = create(parent, world).json()["id"]
    parent.post(reverse("family-api:registration-submit", args=[app_id]))
    assert (
        parent.post(reverse("family-api:registration-withdraw", args=[app_id])).json()["state"]
        == "withdrawn"
    )
    events = ApplicationEvent.objects.filter(application_id=app_id).count()
    for decision in ("accept", "refuse", "waitlist"):
        response = staff.post(
            reverse("family-api:registration-decide", args=[app_id]),
            {"decision": decision, "reason": "x"},
            format="json",
        )
        assert response.status_code == 400
        assert "Retirée" in response.json()["message"]
    assert SchoolApplication.objects.get(pk=app_id).state == S.WITHDRAWN
    assert ApplicationEvent.objects.filter(application_id=app_id).count() == events


def test_refusal_needs_a_reason(world):
    parent, staff = api_client_for(world.parent), api_client_for(world.staff)
    app_id = create(parent, world).json()["id"]
    parent.post(reverse("family-api:registration-submit", args=[app_id]))
    r = staff.post(
        reverse("family-api:registration-decide", args=[app_id]),
        {"decision": "refuse"},
        format="json",
    )
    assert r.status_code == 400
    r = staff.post(
        reverse("family-api:registration-decide", args=[app_id]),
        {"decision": "refuse", "reason": "Complet"},
        format="json",
    )
    assert r.json()["state"] == "refused"
    assert r.json()["decision_reason"] == "Complet"


def test_parent_cannot_decide_and_staff_of_other_school_gets_404(world):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    parent.post(reverse("family-api:registration-submit", args=[app_id]))
    for client in (
        parent,
        api_client_for(world.staff_b),
        api_client_for(world.technician),
        api_client_for(world.parent2),
    ):
        r = client.post(
            reverse("family-api:registration-decide", args=[app_id]),
            {"decision": "accept"},
            format="json",
        )
        assert r.status_code == 404
    assert SchoolApplication.objects.get(pk=app_id).state == S.SUBMITTED


def test_upload_checks_content_size_and_date(world, settings):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    # a text file renamed .pdf with a PDF content type is refused
    r = upload(parent, app_id, "vaccinations", content=b"hello, not a pdf", name="fake.pdf")
    assert r.status_code == 400
    assert "PDF, JPEG et PNG" in r.json()["message"]
    # an HTML file is refused whatever its name
    r = upload(
        parent, app_id, "vaccinations", content=b"<html><script>alert(1)</script>", name="x.png"
    )
    assert r.status_code == 400
    settings.UPLOAD_MAX_BYTES = 100
    r = upload(parent, app_id, "vaccinations", content=b"%PDF-" + b"x" * 200)
    assert r.status_code == 400
    assert "taille maximale" in r.json()["message"]
    settings.UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    old = timezone.localdate() - dt.timedelta(days=120)
    r = upload(parent, app_id, "proof_of_address", issued_on=old)
    assert r.status_code == 400
    assert "moins de 3 mois" in r.json()["message"]
    r = upload(parent, app_id, "proof_of_address")
    assert r.status_code == 400
    assert Document.objects.count() == 0
    assert (
        upload(parent, app_id, "vaccinations", content=PNG_BYTES, name="v.png").json()[
            "content_type"
        ]
        == "image/png"
    )
    assert (
        upload(parent, app_id, "vaccinations", content=JPEG_BYTES, name="v.jpg").json()[
            "content_type"
        ]
        == "image/jpeg"
    )


def test_documents_are_stored_outside_web_root_and_served_as_attachment(world, settings):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    doc = upload(parent, app_id, "vaccinations", name="carnet.pdf").json()
    document = Document.objects.get(pk=doc["id"])
    assert document.file.path.startswith(str(settings.MEDIA_ROOT))
    assert not document.file.path.startswith(str(settings.STATIC_ROOT))
    response = parent.get(doc["url"])
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    # the school's staff may read it (audited), other people get 404
    staff = api_client_for(world.staff)
    assert staff.get(doc["url"]).status_code == 200
    assert AuditEvent.objects.filter(action="family.document.read", actor=world.staff).count() == 1
    for other in (world.parent2, world.staff_b, world.technician):
        assert api_client_for(other).get(doc["url"]).status_code == 404


def test_siblings_are_linked(world):
    from family.models import ChildGuardian
    from tests.factories import ChildFactory

    sibling = ChildFactory(household=world.household, school=world.school_a)
    ChildGuardian.objects.create(child=sibling, guardian=world.parent.guardian)
    parent = api_client_for(world.parent)
    first = create(parent, world).json()
    second = parent.post(
        reverse("family-api:registrations"),
        {"child": sibling.pk, "school_year": world.next_year.pk, "school": world.school_a.pk},
        format="json",
    ).json()
    assert first["sibling_group"] is None
    assert second["sibling_group"] is not None
    detail = parent.get(reverse("family-api:registration-detail", args=[first["id"]])).json()
    assert [s["id"] for s in detail["siblings"]] == [second["id"]]


def test_staff_queue_filters(world):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    staff = api_client_for(world.staff)
    url = reverse("family-api:registrations")
    assert staff.get(url).json()["count"] == 0  # drafts are not in the queue
    parent.post(reverse("family-api:registration-submit", args=[app_id]))
    assert [r["id"] for r in staff.get(url).json()["results"]] == [app_id]
    assert staff.get(url, {"missing_documents": "true"}).json()["count"] == 1
    assert staff.get(url, {"state": "accepted"}).json()["count"] == 0
    assert staff.get(url, {"older_than_days": 3}).json()["count"] == 0
    SchoolApplication.objects.filter(pk=app_id).update(
        submitted_at=timezone.now() - dt.timedelta(days=5)
    )
    assert staff.get(url, {"older_than_days": 3}).json()["count"] == 1
    upload_all(parent, app_id)
    assert staff.get(url, {"missing_documents": "true"}).json()["count"] == 0
    assert staff.get(url, {"state": "bogus"}).status_code == 400
    assert staff.get(url, {"school": "abc"}).status_code == 400
    assert api_client_for(world.staff_b).get(url).json()["count"] == 0


def test_bulk_actions_report_each_failure(world):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    parent.post(reverse("family-api:registration-submit", args=[app_id]))
    staff = api_client_for(world.staff)
    r = staff.post(
        reverse("family-api:registrations-bulk"),
        {"ids": [app_id], "action": "accept"},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["done"] == []
    assert len(r.json()["failed"]) == 1
    r = staff.post(
        reverse("family-api:registrations-bulk"),
        {"ids": [app_id], "action": "review"},
        format="json",
    )
    assert r.json()["done"] == [app_id]
    assert SchoolApplication.objects.get(pk=app_id).state == S.UNDER_REVIEW
    # another school's application in the batch: 404, nothing done
    r = api_client_for(world.staff_b).post(
        reverse("family-api:registrations-bulk"),
        {"ids": [app_id], "action": "waitlist"},
        format="json",
    )
    assert r.status_code == 404
    assert SchoolApplication.objects.get(pk=app_id).state == S.UNDER_REVIEW


def test_staff_acting_for_a_family_is_audited_as_such(world):
    staff = api_client_for(world.staff)
    r = staff.post(
        reverse("family-api:registrations"),
        {"child": world.child.pk, "school_year": world.next_year.pk, "school": world.school_a.pk},
        format="json",
    )
    assert r.status_code == 201
    event = AuditEvent.objects.get(action="family.application.create")
    assert event.actor == world.staff
    assert event.actor_kind == ActorKind.STAFF_FOR_FAMILY
    assert event.household_id == world.household.pk
    app = SchoolApplication.objects.get(pk=r.json()["id"])
    services.application_submit(actor=world.staff, application=app)
    assert (
        AuditEvent.objects.get(action="family.application.submit").actor_kind
        == ActorKind.STAFF_FOR_FAMILY
    )
    assert app.events.get(to_state="submitted").actor_kind == ActorKind.STAFF_FOR_FAMILY


def test_notification_task_is_idempotent(world, django_capture_on_commit_callbacks):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        parent.post(reverse("family-api:registration-submit", args=[app_id]))
    event = ApplicationEvent.objects.get(application_id=app_id, to_state="submitted")
    count = Notification.objects.count()
    assert services.application_event_notify(event_id=event.pk) is False
    assert Notification.objects.count() == count


@pytest.mark.parametrize("state", ["accepted", "refused", "withdrawn"])
def test_final_states_accept_no_more_documents(world, state):
    parent = api_client_for(world.parent)
    app_id = create(parent, world).json()["id"]
    SchoolApplication.objects.filter(pk=app_id).update(state=state)
    r = upload(parent, app_id, "vaccinations")
    assert r.status_code == 400
    assert Document.objects.count() == 0
