"""Queued log ingestion (FLEET_LOG_QUEUE_URL): the request only validates and pushes; the drainer
ingests in bulk; nothing is lost or stored twice."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from fleet.models import BatterySample, Device, StatusLog
from fleet.services.log_queue import log_queue_drain, log_queue_length

from .factories import enroll_body, result_line, school_with_secret


@pytest.mark.django_db
def test_logs_are_queued_then_drained_in_bulk(queue):
    school_with_secret()

    def post(path, body):
        return Client().post(
            f"/api/osquery{path}", json.dumps(body), content_type="application/json"
        )

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
    assert BatterySample.objects.count() == 3
    assert StatusLog.objects.count() == 6
    assert Device.objects.get().battery_health_percent == 75.0
    assert log_queue_drain() == 0


def _enroll_and_post_batteries(serials, count):
    """Enroll one device per serial, post ``count`` battery reports each; returns node keys."""
    school_with_secret()
    keys = {}
    for serial in serials:
        body = enroll_body(serial=serial)
        keys[serial] = (
            Client()
            .post("/api/osquery/enroll", json.dumps(body), content_type="application/json")
            .json()["node_key"]
        )
        for i in range(count):
            line = result_line(
                "minot_battery",
                rows=[
                    {"percent_remaining": "50", "designed_capacity": "100", "max_capacity": "80"}
                ],
                unix_time=1795421500 + i,
                serial=serial,
            )
            Client().post(
                "/api/osquery/log",
                json.dumps({"node_key": keys[serial], "log_type": "result", "data": [line]}),
                content_type="application/json",
            )
    return keys


@pytest.mark.django_db
def test_a_dead_drainers_entries_are_taken_over_and_stored_once(queue):
    from fleet.services.log_queue import GROUP, STREAM, _ensure_group, client, partition_of

    _enroll_and_post_batteries(["PF2DEAD1"], 3)
    device = Device.objects.get()
    key = STREAM.format(partition_of(device.pk))
    _ensure_group(client(), key)
    # a drainer read the entries, then died before writing them to PostgreSQL
    read = client().xreadgroup(GROUP, "dead-drainer", {key: ">"}, count=10)
    assert len(read[0][1]) == 3
    assert log_queue_length() == 3
    # when: the next drainer runs
    assert log_queue_drain() == 3
    # then: every report stored once, nothing left in Redis (pending included)
    assert BatterySample.objects.count() == 3
    assert log_queue_length() == 0
    assert client().xpending(key, GROUP)["pending"] == 0
    assert log_queue_drain() == 0


@pytest.mark.django_db
def test_a_database_failure_leaves_the_entries_queued(queue, monkeypatch):
    from django.db import DatabaseError

    from fleet.services import log_queue

    _enroll_and_post_batteries(["PF2DBERR"], 2)

    def broken(items):
        raise DatabaseError("the database went away")

    monkeypatch.setattr(log_queue, "results_ingest_many", broken)
    with pytest.raises(DatabaseError):
        log_queue_drain()
    assert log_queue_length() == 2
    assert BatterySample.objects.count() == 0
    monkeypatch.undo()
    assert log_queue_drain() == 2
    assert BatterySample.objects.count() == 2
    assert log_queue_length() == 0


@pytest.mark.django_db
def test_partitions_are_drained_independently(queue, settings):
    from fleet.services.log_queue import LOCK, client, partition_of

    settings.FLEET_LOG_QUEUE_PARTITIONS = 4
    _enroll_and_post_batteries(["PF2PART1", "PF2PART2"], 2)
    one, two = Device.objects.order_by("pk")
    assert partition_of(one.pk) != partition_of(two.pk)
    # another drainer holds the first device's partition
    client().set(LOCK.format(partition_of(one.pk)), "other-worker", ex=60)
    assert log_queue_drain() == 2
    assert set(BatterySample.objects.values_list("device_id", flat=True)) == {two.pk}
    client().delete(LOCK.format(partition_of(one.pk)))
    assert log_queue_drain(only=[partition_of(one.pk)]) == 2
    assert BatterySample.objects.count() == 4


@pytest.mark.django_db
def test_the_drain_commits_synchronously(queue, monkeypatch):
    from django.db import connection

    from fleet.services import log_queue

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting")
    _enroll_and_post_batteries(["PF2SYNC1"], 1)
    seen = []
    real = log_queue.results_ingest_many

    def spy(items):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return real(items)

    monkeypatch.setattr(log_queue, "results_ingest_many", spy)
    assert log_queue_drain() == 1
    assert seen == ["on"]
