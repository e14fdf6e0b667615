import pytest
from django.core import mail

from backend.core.models import ActorKind, AuditEvent, Notification
from backend.core.services import audit_record, notification_email, notification_send
from tests.factories import ParentFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_notification_is_stored_and_emailed_once_after_commit(django_capture_on_commit_callbacks):
    user = ParentFactory(email="n@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        notification = notification_send(
            user=user, subject="Dossier accepté", body="Bonne nouvelle.", url="/famille/"
        )
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Dossier accepté"
    assert "http://127.0.0.1:8000/famille/" in mail.outbox[0].body
    # a second delivery of the task does nothing
    assert notification_email(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1


def test_notification_without_email_is_in_app_only(django_capture_on_commit_callbacks):
    user = ParentFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification_send(user=user, subject="Info", email=False)
    assert callbacks == []
    assert Notification.objects.filter(user=user, emailed_at__isnull=True).count() == 1
    assert mail.outbox == []


def test_notifications_api_lists_only_mine_and_marks_read(api_client):
    me, other = ParentFactory(), ParentFactory()
    mine = notification_send(user=me, subject="A moi", email=False)
    theirs = notification_send(user=other, subject="A eux", email=False)
    api_client.force_authenticate(me)
    listing = api_client.get("/api/v1/notifications/").json()
    assert [n["subject"] for n in listing["results"]] == ["A moi"]
    # another person's notification is out of reach: 404, and it stays unread
    assert api_client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api_client.post(f"/api/v1/notifications/{mine.pk}/read/").json() == {"updated": 1}


def test_audit_record_names_staff_acting_for_a_family():
    staff = StaffFactory()
    event = audit_record(
        action="registration.accept",
        actor=staff,
        actor_kind=ActorKind.STAFF_FOR_FAMILY,
        target=staff,
        household_id=42,
        data={"reason": "guichet"},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_kind, stored.household_id) == (staff, "staff_for_family", 42)
    assert stored.target_type == "accounts.user"
    assert stored.target_id == str(staff.pk)
