"""A real Celery worker on the real broker (Redis in CI, the embedded SQLite broker otherwise)
runs a task to completion against the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from backend.celery import app as celery_app
from backend.core.models import Notification
from backend.core.tasks import notification_email_task
from tests.factories import ParentFactory

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_subprocess() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(settings, tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backend.settings.test",
        DATABASE_URL=database_url_for_subprocess(),
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    log = open(tmp_path / "worker.log", "w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield proc, log, broker
    finally:
        celery_app.conf.task_always_eager = eager
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_to_completion(worker):
    proc, log, broker = worker
    # given: a committed notification waiting to be emailed
    user = ParentFactory(email="worker@example.test")
    notification = Notification.objects.create(user=user, subject="Test worker", body="Hello")
    # when: the task goes through the broker
    with celery_app.connection_for_write(url=broker) as conn:
        notification_email_task.apply_async(args=[notification.pk], connection=conn)
    # then: the worker process picks it up and records the email as sent
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        notification.refresh_from_db()
        if notification.emailed_at is not None:
            break
        assert proc.poll() is None, "worker died"
        time.sleep(0.5)
    log.seek(0)
    output = log.read()
    assert notification.emailed_at is not None, output[-3000:]
    assert "notification_email_task" in output
    assert "succeeded" in output
