import os
import socket
from contextlib import contextmanager

import pytest
from django.db import connection

from backend.celery import app as celery_app
from tests.reliability.faultproxy import FaultProxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def broker_at(url: str, *, eager: bool = False):
    """Point this process's Celery app at ``url`` (a real broker, or a port nobody listens on).

    Celery reads ``$CELERY_BROKER_URL`` before its ``broker_url`` setting (CI and the worker
    tests set it), so the variable is pointed at ``url`` too while this lasts."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager, conf.broker_transport_options
    saved_env = os.environ.get("CELERY_BROKER_URL")
    conf.broker_url, conf.task_always_eager = url, eager
    os.environ["CELERY_BROKER_URL"] = url
    if not url.startswith("redis"):
        conf.broker_transport_options = {}  # the redis options would reach SQLAlchemy
    celery_app._pool = None
    try:
        assert conf.broker_url == url
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        conf.broker_url, conf.task_always_eager, conf.broker_transport_options = saved
        celery_app._pool = None


@pytest.fixture
def broker_down():
    """The broker is unreachable: nothing listens on its port."""
    with broker_at(f"redis://127.0.0.1:{free_port()}/9"):
        yield


def run_queued_tasks(url: str, *, times: int = 1) -> list[str]:
    """Do what a worker does with every message waiting on the broker at ``url``: run its task
    (``times`` times, to play a redelivery), then ack it. Returns the task names run."""
    from kombu import Connection

    ran = []
    with Connection(url) as conn:
        queue = conn.SimpleQueue("celery")
        try:
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    break
                args, kwargs, _embed = message.decode()
                headers = message.headers
                for _ in range(times):
                    celery_app.tasks[headers["task"]].apply(
                        args=args,
                        kwargs=kwargs,
                        task_id=headers["id"],
                        headers={"request_id": headers.get("request_id", "")},
                    )
                message.ack()
                ran.append(headers["task"])
        finally:
            queue.close()
    return ran


@pytest.fixture
def sqlite_broker(tmp_path):
    return f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def durable_mail_via(settings):
    """Use the durable email backend, its real transport being SMTP on ``port``."""

    def use(port: int):
        settings.EMAIL_BACKEND = "backend.core.mail.DurableEmailBackend"
        settings.MINOT_EMAIL_TRANSPORT = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""

    return use


@pytest.fixture
def db_through_proxy(transactional_db):
    settings_dict = connection.settings_dict
    saved = settings_dict["HOST"], settings_dict["PORT"]
    proxy = FaultProxy(saved[0] or "127.0.0.1", int(saved[1] or 5432)).start()
    connection.close()
    settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", proxy.port
    try:
        yield proxy
    finally:
        proxy.restore()
        connection.close()
        settings_dict["HOST"], settings_dict["PORT"] = saved
        proxy.stop()
