"""With the broker down, a request that wrote something answers as soon as its transaction commits;
the task it asked for is kept in the outbox and published once the broker is back."""

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from backend.core.models import OutboxMessage
from backend.core.outbox import outbox_relay_once
from family.models import GuardianInvitation
from tests.factories import household_with_parent
from tests.reliability.conftest import broker_at, run_queued_tasks


@pytest.mark.django_db(transaction=True)
def test_inviting_a_guardian_with_the_broker_down_answers_201_and_mails_after_recovery(
    broker_down, sqlite_broker
):
    # given: a parent, and a broker nobody answers on
    household, parent, _ = household_with_parent(children=0)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user=parent)
    # when: the parent invites a second guardian
    r = client.post(
        reverse("family-api:household-invite", args=[household.pk]),
        {"email": "second@example.test"},
        format="json",
    )
    # then: the invitation is accepted and stored once, its email waits in the outbox
    assert r.status_code == 201, r.content
    assert GuardianInvitation.objects.filter(email="second@example.test").count() == 1
    assert not [m for m in mail.outbox if "second@example.test" in m.to]
    # and: the relay keeps it while the broker is down
    assert outbox_relay_once() == 0
    waiting = OutboxMessage.objects.get(task="family.tasks.invitation_email_task")
    assert waiting.task == "family.tasks.invitation_email_task"
    assert waiting.attempts == 1 and "Error" in waiting.last_error
    assert waiting.request_id  # the request's id, carried into the task
    # when: the broker is back, the relay's back-off has passed, and the task is delivered twice
    OutboxMessage.objects.update(next_attempt_at=waiting.created_at)
    with broker_at(sqlite_broker):
        published = OutboxMessage.objects.count()  # the invitation email and the guardians' notice
        assert outbox_relay_once() == published
        assert "family.tasks.invitation_email_task" in run_queued_tasks(sqlite_broker, times=2)
    # then: the email went out once
    assert len([m for m in mail.outbox if "second@example.test" in m.to]) == 1
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_relay_command_publishes_what_waits(sqlite_broker):
    from io import StringIO

    from django.core.management import call_command

    from backend.core.outbox import enqueue
    from backend.core.tasks import outbox_purge_task

    with broker_at(sqlite_broker):
        enqueue(outbox_purge_task)
        out = StringIO()
        call_command("outbox_relay", "--once", stdout=out)
        assert out.getvalue().strip() == "1 published"
        assert run_queued_tasks(sqlite_broker) == ["backend.core.tasks.outbox_purge_task"]
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()
