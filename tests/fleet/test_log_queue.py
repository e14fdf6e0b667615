"""Queued log ingestion (FLEET_LOG_QUEUE_URL): the request only validates and pushes; the drainer
ingests in bulk; nothing is lost or stored twice."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from fleet.models import BatterySample, Device, StatusLog
from fleet.services.log_queue import client, log_queue_drain, log_queue_length

from .factories import enroll_body, result_line, school_with_secret

QUEUE_URL = "redis://127.0.0.1:6379/4"


@pytest.fixture
def queue(settings):
    import redis

    try:
        redis.Redis.from_url(QUEUE_URL, socket_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    settings.FLEET_LOG_QUEUE_URL = QUEUE_URL
    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 0
    for key in ("fleet:logs", "fleet:logs:processing", "fleet:logs:drain-lock"):
        client().delete(key)
    yield
    for key in ("fleet:logs", "fleet:logs:processing", "fleet:logs:drain-lock"):
        client().delete(key)


@pytest.mark.django_db
def test_logs_are_queued_then_drained_in_bulk(queue):
    school_with_secret()

    def post(path, body):
        return Client().post(
            f"/api/osquery{path}", json.dumps(body), content_type="application/json"
        )  # noqa: E731

    node_key = post("/enroll", enroll_body()).json()["node_key"]

    def battery(i):
        return result_line(
            "minot_battery",
            rows=[{"percent_remaining": "50", "designed_capacity": "100", "max_capacity": "75"}],
            unix_time=str(1795421500 + i),
        )

    status = {
        "unixTime": "1795421521",
        "severity": "1",
        "filename": "f.cpp",
        "line": "1",
        "message": "m",
    }
    for i in range(3):
        assert (
            post("/log", {"node_key": node_key, "log_type": "result", "data": [battery(i)]}).json()
            == {}
        )
        assert (
            post(
                "/log", {"node_key": node_key, "log_type": "status", "data": [status, status]}
            ).json()
            == {}
        )
    # bad input is still refused at the door, never queued
    assert post("/log", {"node_key": node_key, "log_type": "nope", "data": []}).status_code == 400
    assert log_queue_length() == 6
    assert BatterySample.objects.count() == StatusLog.objects.count() == 0
    # when
    assert log_queue_drain(max_items=4) == 4
    call_command("fleet_log_worker", seconds=0.1, idle=0.05, stdout=__import__("io").StringIO())
    # then
    assert log_queue_length() == 0
    assert BatterySample.objects.count() == 3 and StatusLog.objects.count() == 6
    assert Device.objects.get().battery_health_percent == 75.0
    assert log_queue_drain() == 0
