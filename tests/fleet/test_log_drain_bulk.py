"""The drainer's bulk writes (fleet/services/bulk_sql.py): a chunk of many batches gives the same
devices, reports, samples, status lines and alerts as the same batches ingested one by one,
whichever way the rows are written (one VALUES statement, or COPY into a stage); a failure
half-way through a chunk writes nothing and leaves every entry queued."""

import json

import pytest
from django.db import DatabaseError, transaction
from django.test import Client

from fleet.models import Alert, BatterySample, Device, InventoryReport, StatusLog
from fleet.services import bulk_sql, inventory
from fleet.services.log_queue import (
    GROUP,
    STREAM,
    _ensure_group,
    client,
    log_queue_drain,
    log_queue_length,
    partition_of,
)

from .factories import DeviceFactory, enroll_body, result_line, school_with_secret

T0 = 1795421500

# Compared between a drained device and its twin ingested inline (ids, keys, check-in times and
# the serial-bearing fields differ by construction).
SKIPPED = {
    "id",
    "created_at",
    "updated_at",
    "identity",
    "serial",
    "hardware_uuid",
    "instance_id",
    "node_key_hash",
    "enrolled_at",
    "last_seen_at",
    "status",
    "status_expected",
    "status_changed_at",
    "conflict_serial",
    "conflict_at",
}


@pytest.fixture(params=["values", "stage"])
def write_path(request, monkeypatch):
    """Every row goes through a VALUES statement, or every row through the COPY stage."""
    monkeypatch.setattr(bulk_sql, "STAGE_FROM_ROWS", 10**6 if request.param == "values" else 1)
    return request.param


def _post(node_key, log_type, data):
    response = Client().post(
        "/api/osquery/log",
        json.dumps({"node_key": node_key, "log_type": log_type, "data": data}),
        content_type="application/json",
    )
    assert response.json() == {}


def _enroll(serial):
    body = enroll_body(serial=serial)
    response = Client().post(
        "/api/osquery/enroll", json.dumps(body), content_type="application/json"
    )
    return response.json()["node_key"]


def _app(name, version):
    return {"name": name, "version": version}


def _event(name, row, unix_time, serial, action="snapshot"):
    """--logger_snapshot_event_type / event-format diffs: one line per row, under "columns"."""
    line = result_line(name, action=action, columns=row, unix_time=unix_time, serial=serial)
    line.pop("snapshot", None)
    line["action"] = action
    line["columns"] = row
    return line


def _history(serial):
    """What one device's batches do, in order, in every log format the server reads."""
    battery = {"designed_capacity": "42000", "cycle_count": "300", "charging": "1"}
    status = {"severity": "1", "filename": "scheduler.cpp", "line": "109", "version": "5.12.1"}
    top_level = result_line("minot_os", rows=[{"name": "Ubuntu", "major": "24"}], serial=serial)
    del top_level["decorations"]
    top_level["serial_number"] = serial  # --decorations_top_level
    top_level["unixTime"] = T0 + 5
    return [
        ("status", [{**status, "unixTime": str(T0), "message": "Executing minot_os"}]),
        (
            "result",
            [
                result_line(
                    "minot_apps_linux",
                    rows=[_app("firefox", "132.0"), _app("libreoffice-core", "7.3.7")],
                    unix_time=T0,
                    serial=serial,
                ),
                result_line(
                    "pack/minot/minot_battery",
                    rows=[{**battery, "percent_remaining": "80", "max_capacity": "40000"}],
                    unix_time=T0,
                    serial=serial,
                ),
                result_line("osquery_schedule", rows=[{"name": "x"}], serial=serial),  # dropped
            ],
        ),
        (
            "result",
            [
                result_line(
                    "minot_apps_linux",
                    action="diff",
                    rows={"added": [_app("scratch-desktop", "3.29.1")], "removed": ""},
                    unix_time=T0 + 60,
                    serial=serial,
                ),
                _event("minot_apps_linux", _app("firefox", "132.0"), T0 + 61, serial, "removed"),
                _event("minot_apps_linux", _app("firefox", "133.0"), T0 + 61, serial, "added"),
            ],
        ),
        ("status", [{**status, "unixTime": str(T0 + 62), "message": "m\u00e9 \u00e9t\u00e9"}] * 2),
        ("result", [top_level]),
        (
            "result",
            [
                result_line(
                    "minot_battery",
                    rows=[{**battery, "percent_remaining": "55", "max_capacity": "39000"}],
                    unix_time=T0 + 120,
                    serial=serial,
                ),
                result_line(
                    "minot_disk_posix",
                    rows=[{"path": "/", "total_bytes": "128000000000", "free_bytes": "9000"}],
                    unix_time=T0 + 120,
                    serial=serial,
                ),
                _event("minot_network", {"interface": "wlan0", "mac": "aa"}, T0 + 121, serial),
            ],
        ),
        # another machine's serial in this device's batches: an identity conflict
        ("result", [result_line("minot_os", rows=[{"name": "Ubuntu"}], serial="CLONED-01")]),
    ]


def _state(device):
    device.refresh_from_db()
    fields = {
        f.attname: getattr(device, f.attname)
        for f in Device._meta.concrete_fields
        if f.attname not in SKIPPED and not f.is_relation
    }
    return {
        "device": fields,
        "conflict": device.conflict_serial,
        "reports": list(
            InventoryReport.objects.filter(device=device)
            .order_by("collected_at", "kind")
            .values_list("kind", "collected_at", "data")
        ),
        "samples": list(
            BatterySample.objects.filter(device=device)
            .order_by("measured_at")
            .values_list("measured_at", "percent", "cycle_count", "health_percent")
        ),
        "status": sorted(
            StatusLog.objects.filter(device=device).values_list(
                "logged_at", "severity", "filename", "line", "message", "version"
            )
        ),
        "alerts": list(Alert.objects.filter(device=device).values_list("kind", "message")),
    }


@pytest.mark.django_db
def test_a_chunk_of_every_format_and_several_devices_matches_inline_ingestion(
    queue, settings, write_path
):
    school_with_secret()
    serials = ["PFQ00001", "PFQ00002", "PFQ00003"]
    keys = {serial: _enroll(serial) for serial in [*serials, *(f"IN{s}" for s in serials)]}
    # given: the devices' batches interleaved in the queue, as many agents post them
    histories = {serial: _history(serial) for serial in serials}
    for step in range(len(histories[serials[0]])):
        for serial in serials:
            log_type, data = histories[serial][step]
            _post(keys[serial], log_type, data)
    assert log_queue_length() == 3 * len(histories[serials[0]])
    # and their twins' batches ingested inline, one request at a time
    queue_url, settings.FLEET_LOG_QUEUE_URL = settings.FLEET_LOG_QUEUE_URL, ""
    for serial in serials:
        for log_type, data in _history(f"IN{serial}"):
            _post(keys[f"IN{serial}"], log_type, data)
    settings.FLEET_LOG_QUEUE_URL = queue_url
    # when: one chunk
    assert log_queue_drain(max_items=1000) == 21
    # then
    for serial in serials:
        drained = _state(Device.objects.get(serial=serial))
        inline = _state(Device.objects.get(serial=f"IN{serial}"))
        assert drained == inline
    device = Device.objects.get(serial=serials[0])
    assert device.apps == [
        _app("firefox", "133.0"),
        _app("libreoffice-core", "7.3.7"),
        _app("scratch-desktop", "3.29.1"),
    ]
    assert (device.battery_percent, device.battery_full_capacity) == (55, 39000)
    assert device.storage_free_bytes == 9000
    assert device.network == [{"interface": "wlan0", "mac": "aa", "address": ""}]
    assert device.conflict_serial == "CLONED-01"
    assert drained["alerts"] == [("identity_conflict", "serial CLONED-01")]
    assert len(drained["samples"]) == 2
    assert [s[4] for s in drained["status"]] == ["Executing minot_os", "mé été", "mé été"]


@pytest.mark.django_db
def test_many_batches_of_one_device_in_one_chunk_apply_in_stream_order(queue, write_path):
    school_with_secret()
    key = _enroll("PFORDER1")
    # given: 60 battery reports and apps changes of one device, queued in order
    for i in range(60):
        battery = {"percent_remaining": str(100 - i), "designed_capacity": "100"}
        data = [result_line("minot_battery", rows=[battery], unix_time=T0 + i, serial="PFORDER1")]
        if i % 2:
            data.append(
                _event("minot_apps_linux", _app(f"app{i}", "1"), T0 + i, "PFORDER1", "added")
            )
        if i % 4 == 3:
            data.append(
                _event("minot_apps_linux", _app(f"app{i - 2}", "1"), T0 + i, "PFORDER1", "removed")
            )
        _post(key, "result", data)
    # when
    assert log_queue_drain(max_items=1000) == 60
    # then: every sample stored, and the device holds the last batch's values
    device = Device.objects.get()
    assert list(
        BatterySample.objects.order_by("measured_at").values_list("percent", flat=True)
    ) == [100 - i for i in range(60)]
    assert device.battery_percent == 41
    assert device.apps == [_app(f"app{i}", "1") for i in sorted(range(3, 60, 4), key=str)]
    assert device.inventory_at.timestamp() == T0 + 59


@pytest.mark.django_db
def test_a_failure_half_way_through_a_chunk_writes_nothing_and_keeps_every_entry(
    queue, monkeypatch, write_path
):
    school_with_secret()
    keys = [_enroll(serial) for serial in ("PFFAIL01", "PFFAIL02")]
    for key, serial in zip(keys, ("PFFAIL01", "PFFAIL02"), strict=True):
        for log_type, data in _history(serial)[:2]:
            _post(key, log_type, data)
    real = inventory.rows_insert

    def broken(model, *args, **kwargs):
        # status lines, device rows and inventory reports are written by then
        if model is BatterySample:
            raise DatabaseError("the database went away")
        return real(model, *args, **kwargs)

    monkeypatch.setattr(inventory, "rows_insert", broken)
    # when
    with pytest.raises(DatabaseError):
        log_queue_drain()
    # then: nothing half-written, every entry still in Redis
    assert StatusLog.objects.count() == InventoryReport.objects.count() == 0
    assert BatterySample.objects.count() == 0
    assert list(Device.objects.values_list("apps", "battery_percent")) == [([], None)] * 2
    assert log_queue_length() == 4
    # and the next drain stores them once
    monkeypatch.undo()
    assert log_queue_drain() == 4
    assert (StatusLog.objects.count(), BatterySample.objects.count()) == (2, 2)
    assert log_queue_length() == 0


@pytest.mark.django_db
def test_pending_entries_come_first_and_the_rest_waits_for_the_next_chunk(queue):
    school_with_secret()
    key = _enroll("PFPEND01")
    device = Device.objects.get()
    stream = STREAM.format(partition_of(device.pk))

    def battery(i):
        row = {"percent_remaining": str(10 + i), "designed_capacity": "100"}
        return [result_line("minot_battery", rows=[row], unix_time=T0 + i, serial="PFPEND01")]

    for i in range(3):
        _post(key, "result", battery(i))
    # a drainer read three entries, then died
    _ensure_group(client(), stream)
    assert len(client().xreadgroup(GROUP, "dead-drainer", {stream: ">"}, count=10)[0][1]) == 3
    for i in range(3, 6):
        _post(key, "result", battery(i))
    # when: chunks of four
    assert log_queue_drain(max_items=4) == 4
    device.refresh_from_db()
    assert device.battery_percent == 13
    assert log_queue_drain(max_items=4) == 2
    # then: all six stored once, in order, nothing left pending
    assert list(BatterySample.objects.values_list("percent", flat=True)) == [10, 11, 12, 13, 14, 15]
    device.refresh_from_db()
    assert device.battery_percent == 15
    assert client().xpending(stream, GROUP)["pending"] == 0
    assert log_queue_drain() == 0


# --- bulk_sql on its own ----------------------------------------------------------------------


@pytest.mark.django_db
def test_rows_update_writes_every_type_and_a_second_call_sees_only_its_rows(write_path):
    import datetime as dt

    one, two, untouched = DeviceFactory.create_batch(3)
    at = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
    names = ("apps", "battery_charging", "inventory_at", "memory_bytes", "battery_health_percent")
    with transaction.atomic():
        bulk_sql.rows_update(
            Device,
            names,
            [
                (one.pk, [[_app("a", "1")], True, at, 2**40, 75.5]),
                (two.pk, [[], None, None, None, None]),
            ],
        )
        bulk_sql.rows_update(Device, ("os_name",), [(two.pk, ["Ubuntu"])])
    one.refresh_from_db()
    two.refresh_from_db()
    untouched.refresh_from_db()
    assert [getattr(one, n) for n in names] == [[_app("a", "1")], True, at, 2**40, 75.5]
    assert [getattr(two, n) for n in names] == [[], None, None, None, None]
    assert (one.os_name, two.os_name, untouched.os_name) == ("", "Ubuntu", "")
    assert (untouched.apps, untouched.memory_bytes) == ([], None)


@pytest.mark.django_db
def test_rows_insert_skips_conflicting_rows_only(write_path):
    import datetime as dt

    device = DeviceFactory()
    at = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
    columns = ("device_id", "kind", "collected_at", "data")
    bulk_sql.rows_insert(
        InventoryReport, columns, [(device.pk, "os", at, {"name": "Ubuntu"})], ignore_conflicts=True
    )
    bulk_sql.rows_insert(
        InventoryReport,
        columns,
        [(device.pk, "os", at, {"name": "replayed"}), (device.pk, "disk", at, [1, "x"])],
        ignore_conflicts=True,
    )
    assert sorted(InventoryReport.objects.values_list("kind", "data")) == [
        ("disk", [1, "x"]),
        ("os", {"name": "Ubuntu"}),
    ]


@pytest.mark.django_db
def test_pks_existing_answers_existing_ids_in_order():
    first, second = DeviceFactory.create_batch(2)
    with transaction.atomic():
        assert bulk_sql.pks_existing(Device, [second.pk, 10**9, first.pk], lock=True) == sorted(
            [first.pk, second.pk]
        )
    assert bulk_sql.pks_existing(Device, []) == []
