"""A worker SIGKILLed mid-task gives its task back (acks late + visibility timeout) and the task,
run again, does its work once. Beat down for a day runs each missed schedule once on restart,
and the periodic tasks are state-based, so running one again does nothing more."""

import datetime as dt
import signal

import pytest
from django.utils import timezone

from backend.core.models import OutboxMessage, OutgoingEmail
from backend.core.outbox import enqueue, outbox_relay_once
from backend.core.tasks import email_deliver_task
from tests.reliability.conftest import broker_at
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.workers import redis_or_skip, start_worker, stop, wait_for


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_has_it_redelivered_and_run_once(smtp_server, tmp_path):
    broker = redis_or_skip()
    with FaultProxy("127.0.0.1", smtp_server.port) as smtp:
        # given: an email to send, published, and SMTP that accepts but never answers
        smtp.hang()
        email = OutgoingEmail.objects.create(
            key="kill-test", subject="Reçu", from_email="a@example.test", to=["b@example.test"]
        )
        with broker_at(broker):
            enqueue(email_deliver_task, email.pk)
            assert outbox_relay_once() == 1
        env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "CELERY_VISIBILITY_TIMEOUT": "3"}
        first = start_worker(broker, tmp_path / "worker.log", **env)
        try:
            # when: the worker is in the middle of the task (connected to SMTP), it is SIGKILLed
            wait_for(lambda: smtp.connections, 120, "the task to reach SMTP", first)
        finally:
            stop(first, signal.SIGKILL)
        smtp.restore()
        # then: another worker gets the task again and the email goes out, once
        second = start_worker(broker, tmp_path / "worker.log", **env)
        try:
            wait_for(
                lambda: OutgoingEmail.objects.get(pk=email.pk).status == "sent",
                120,
                "the redelivered task",
                second,
            )
        finally:
            stop(second, signal.SIGTERM)
    assert len(smtp_server.messages) == 1
    assert OutboxMessage.objects.get().done_at is not None


@pytest.mark.django_db
def test_beat_down_for_a_day_catches_up_each_missed_task_once():
    from django.core.management import call_command
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    day_ago = timezone.now() - dt.timedelta(days=1, hours=1)
    nightly = CrontabSchedule.objects.create(minute="15", hour="3", timezone="Europe/Paris")
    every_5_min = IntervalSchedule.objects.create(every=300, period="seconds")
    PeriodicTask.objects.create(
        name="expire",
        task="family.tasks.invitations_expire_task",
        crontab=nightly,
        last_run_at=day_ago,
    )
    PeriodicTask.objects.create(
        name="fleet",
        task="fleet.tasks.fleet_evaluate_task",
        interval=every_5_min,
        last_run_at=day_ago,
    )
    PeriodicTask.objects.create(
        name="fresh",
        task="fleet.tasks.fleet_purge_task",
        interval=every_5_min,
        last_run_at=timezone.now(),
    )
    # when: beat comes back after a day (twice, as after a restart loop)
    call_command("beat_catch_up")
    call_command("beat_catch_up")
    # then: each missed task is enqueued once (a day of 5-minute runs is one run), not the fresh one
    assert sorted(OutboxMessage.objects.values_list("task", flat=True)) == [
        "family.tasks.invitations_expire_task",
        "fleet.tasks.fleet_evaluate_task",
    ]
    assert PeriodicTask.objects.get(name="expire").last_run_at > day_ago


@pytest.mark.django_db
def test_a_periodic_task_run_twice_changes_nothing_more():
    from family.models import GuardianInvitation
    from family.services.households import guardian_invite
    from family.tasks import invitations_expire_task
    from tests.factories import household_with_parent

    household, parent, _ = household_with_parent(children=0)
    invitation = guardian_invite(actor=parent, household=household, email="x@example.test")
    GuardianInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1)
    )
    invitations_expire_task.apply()
    invitation.refresh_from_db()
    first = invitation.state, invitation.responded_at
    invitations_expire_task.apply()
    invitation.refresh_from_db()
    assert first[0] == GuardianInvitation.State.REVOKED
    assert (invitation.state, invitation.responded_at) == first
