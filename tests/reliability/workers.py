"""Real Celery worker processes for the fault tests, and the Redis they use (db 9 by default,
``RELIABILITY_REDIS_URL`` to change, plus ``offset`` so that test files running side by side
under xdist never share a database; the tests are skipped when no Redis answers)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.test_celery_worker import ROOT, database_url_for_subprocess

REDIS_URL = os.environ.get("RELIABILITY_REDIS_URL", "redis://127.0.0.1:6379/9")


def redis_or_skip(offset: int = 0) -> str:
    import redis

    base, db = REDIS_URL.rsplit("/", 1)
    url = f"{base}/{int(db) + offset}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return url


def start_worker(broker: str, log: Path, **env) -> subprocess.Popen:
    environment = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="backend.settings.test",
        DATABASE_URL=database_url_for_subprocess(),
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        **env,
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "backend",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None:
            assert proc.poll() is None, "worker died"
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, 9)
