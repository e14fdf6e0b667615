"""SMTP down: emails wait, are retried with back-off, go out once when SMTP is back, and after
MINOT_EMAIL_RETRY_HOURS of failures the admins are told in the application."""

import datetime as dt

import pytest
from django.utils import timezone

from backend.core.mail import email_deliver, email_retry_due
from backend.core.models import Notification, OutgoingEmail
from backend.core.services import notification_send
from backend.core.tasks import notification_email_task
from tests.factories import AdminFactory, ParentFactory
from tests.reliability.faultproxy import FaultProxy


@pytest.fixture
def smtp_proxy(smtp_server, durable_mail_via):
    with FaultProxy("127.0.0.1", smtp_server.port) as proxy:
        durable_mail_via(proxy.port)
        yield proxy


def retry_now(capture):
    OutgoingEmail.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    with capture(execute=True):
        return email_retry_due()


@pytest.mark.django_db
def test_smtp_down_then_back_sends_each_notification_once(
    smtp_proxy, smtp_server, django_capture_on_commit_callbacks
):
    parent = ParentFactory(email="famille@example.test")
    # given: SMTP is down when a notification is sent
    smtp_proxy.cut()
    with django_capture_on_commit_callbacks(execute=True):
        notification = notification_send(user=parent, subject="Inscription validée", body="Oui")
    email = OutgoingEmail.objects.get()
    assert (email.status, email.attempts, smtp_server.messages) == ("pending", 1, [])
    assert email.last_error
    # when: the relay retries while SMTP is still down
    assert retry_now(django_capture_on_commit_callbacks) == 1
    assert OutgoingEmail.objects.get().attempts == 2
    # when: SMTP is back and the retry time comes
    smtp_proxy.restore()
    assert retry_now(django_capture_on_commit_callbacks) == 1
    # then: sent once
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 3)
    assert [m.rcpt_tos for m in smtp_server.messages] == [["famille@example.test"]]
    # and: nothing is sent twice, whatever runs again
    assert retry_now(django_capture_on_commit_callbacks) == 0
    assert email_deliver(email_id=email.pk) is False
    with django_capture_on_commit_callbacks(execute=True):
        notification_email_task.apply(args=[notification.pk])
    assert len(smtp_server.messages) == 1
    assert OutgoingEmail.objects.count() == 1


@pytest.mark.django_db
def test_a_task_run_twice_stores_its_emails_once(smtp_server, durable_mail_via):
    from family.tasks import invitation_email_task
    from tests.factories import household_with_parent

    durable_mail_via(smtp_server.port)
    household, parent, _ = household_with_parent(children=0)
    from family.services.households import guardian_invite

    invitation = guardian_invite(actor=parent, household=household, email="deux@example.test")
    # when: the same delivery (same task id) runs twice, as after a worker was killed
    for _ in range(2):
        invitation_email_task.apply(args=[invitation.pk], task_id="outbox-999999")
    # then: one email stored
    assert OutgoingEmail.objects.filter(to=["deux@example.test"]).count() == 1


@pytest.mark.django_db
def test_an_email_failing_for_hours_is_given_up_and_reported_to_admins(
    smtp_proxy, settings, django_capture_on_commit_callbacks
):
    admin = AdminFactory()
    smtp_proxy.cut()
    email = OutgoingEmail.objects.create(
        key="k1",
        subject="Facture",
        from_email="a@example.test",
        to=["b@example.test"],
        created_at=timezone.now() - dt.timedelta(hours=settings.MINOT_EMAIL_RETRY_HOURS + 1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert email_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == "failed"
    report = Notification.objects.get(user=admin)
    assert "Facture" in report.subject
    assert "b@example.test" in report.body_text
    assert report.send_email is False
