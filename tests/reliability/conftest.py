import socket
from contextlib import contextmanager

import pytest

from backend.celery import app as celery_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def broker_at(url: str, *, eager: bool = False):
    """Point this process's Celery app at ``url`` (a real broker, or a port nobody listens on)."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    conf.broker_url, conf.task_always_eager = url, eager
    celery_app._pool = None
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved
        celery_app._pool = None


@pytest.fixture
def broker_down():
    """The broker is unreachable: nothing listens on its port."""
    with broker_at(f"redis://127.0.0.1:{free_port()}/9"):
        yield
