"""What stock osqueryd really does, replayed: the observed items of issue 14.

Every body below is shaped as osqueryd 5.x emits it; the comment above each fixture names the
osquery source file that produces that shape.
"""

import datetime as dt
import gzip
import json

import pytest
from django.test import Client
from django.utils import timezone

from backend.core.models import AuditEvent
from fleet.models import (
    Alert,
    Device,
    IdentityRequest,
    InventoryReport,
    LiveQueryTarget,
    StatusLog,
)
from fleet.services.enrollment import identity_request_decide
from fleet.services.live_queries import live_query_create
from tests.factories import UserFactory

from .factories import CartFactory, enroll_body, result_line, school_with_secret

pytestmark = pytest.mark.django_db

SECRET_A = "school-a-secret-0001"
SECRET_B = "school-b-secret-0002"


@pytest.fixture(autouse=True)
def _fleet_settings(settings):
    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 0
    settings.FLEET_LIVE_QUERY_CACHE_SECONDS = 0
    settings.FLEET_NODE_NEGATIVE_CACHE_SECONDS = 0
    settings.FLEET_ENROLL_COOLDOWN_SECONDS = 60


def post(path, body=None, *, raw=None, gzipped=False, headers=None):
    data = raw if raw is not None else json.dumps(body).encode()
    extra = {"HTTP_USER_AGENT": "osquery/5.12.1"}
    if gzipped:
        data = gzip.compress(data)
        extra["HTTP_CONTENT_ENCODING"] = "gzip"
    extra.update(headers or {})
    return Client().post(f"/api/osquery{path}", data=data, content_type="application/json", **extra)


def enroll(**kwargs):
    return post("/enroll", enroll_body(**kwargs)).json()


def instance(body, instance_id):
    body["host_details"]["osquery_info"]["instance_id"] = instance_id
    return body


def age(device, **delta):
    """Pretend the device enrolled and was seen some time ago (past the cooldown)."""
    then = timezone.now() - dt.timedelta(**delta)
    Device.objects.filter(pk=device.pk).update(enrolled_at=then, last_seen_at=then)


@pytest.fixture
def schools():
    return school_with_secret(SECRET_A), school_with_secret(SECRET_B)


# --- 1. cross-school takeover ----------------------------------------------------------------


def test_another_schools_secret_never_moves_or_rekeys_a_known_device(schools):
    school_a, school_b = schools
    key = enroll(secret=SECRET_A)["node_key"]
    device = Device.objects.get()
    cart = CartFactory(school=school_a)
    Device.objects.filter(pk=device.pk).update(cart=cart, slot=3)
    age(device, hours=2)
    # when: someone enrolls the printed serial with school B's secret (osqueryd enroll body,
    # plugins/remote/enroll/tls_enroll.cpp)
    answer = enroll(secret=SECRET_B)
    # then: refused, nothing moved, the real device's key still works
    assert answer == {"node_invalid": True}
    device.refresh_from_db()
    assert (device.school, device.cart, device.slot) == (school_a, cart, 3)
    assert "schedule" in post("/config", {"node_key": key}).json()
    request = IdentityRequest.objects.get()
    assert (request.device, request.school, request.state) == (device, school_b, "pending")
    assert Alert.objects.get(device=device).kind == "identity_request"
    # a retry (osqueryd retries enroll) adds an attempt, not a second request
    enroll(secret=SECRET_B)
    assert IdentityRequest.objects.get().attempts == 2


def test_a_technician_approves_the_move(schools):
    school_a, school_b = schools
    old_key = enroll(secret=SECRET_A)["node_key"]
    age(Device.objects.get(), hours=2)
    enroll(secret=SECRET_B)
    technician = UserFactory()
    # when
    identity_request_decide(request=IdentityRequest.objects.get(), approve=True, actor=technician)
    # then: the device belongs to B, its old key is dead and B's secret enrolls it
    device = Device.objects.get()
    assert device.school == school_b and device.cart is None
    assert post("/config", {"node_key": old_key}).json() == {"node_invalid": True}
    assert "node_key" in enroll(secret=SECRET_B)
    assert Device.objects.get().school == school_b
    assert Alert.objects.get(device=device).state == "resolved"
    assert AuditEvent.objects.filter(action="fleet.identity_request_approved").count() == 1


def test_a_rejected_request_leaves_the_device_alone_for_good(schools):
    school_a, _school_b = schools
    key = enroll(secret=SECRET_A)["node_key"]
    age(Device.objects.get(), hours=2)
    enroll(secret=SECRET_B)
    identity_request_decide(
        request=IdentityRequest.objects.get(), approve=False, actor=UserFactory()
    )
    # when: the intruder keeps trying
    assert enroll(secret=SECRET_B) == {"node_invalid": True}
    # then
    assert IdentityRequest.objects.get().state == "rejected"
    assert Device.objects.get().school == school_a
    assert "schedule" in post("/config", {"node_key": key}).json()


def test_reenroll_for_the_same_school_waits_for_the_cooldown(schools):
    first = enroll(secret=SECRET_A)["node_key"]
    # when: a second enroll right away (same installation)
    assert enroll(secret=SECRET_A) == {"node_invalid": True}
    # then: the first key still works; after the cooldown a re-enroll rotates the key
    assert "schedule" in post("/config", {"node_key": first}).json()
    age(Device.objects.get(), minutes=2)
    second = enroll(secret=SECRET_A)["node_key"]
    assert post("/config", {"node_key": first}).json() == {"node_invalid": True}
    assert "schedule" in post("/config", {"node_key": second}).json()
    assert Device.objects.count() == 1


# --- 2. trusted proxies -------------------------------------------------------------------------


def test_limits_key_on_the_real_client_address_behind_a_trusted_proxy(schools, settings):
    settings.FLEET_TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS = 2

    def from_school(address, serial):
        body = enroll_body(secret=SECRET_A, serial=serial)
        # nginx: proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for
        return post(
            "/enroll", body, headers={"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": address}
        )

    assert from_school("203.0.113.5", "S1").status_code == 200
    assert from_school("203.0.113.5", "S2").status_code == 200
    assert from_school("203.0.113.5", "S3").status_code == 429
    # another school's NAT has its own budget
    assert from_school("198.51.100.7", "S4").status_code == 200
    # a client cannot pick its address: only the hop the trusted proxy saw counts
    forged = "10.9.9.9, 203.0.113.5"
    assert from_school(forged, "S5").status_code == 429


def test_forwarded_header_is_ignored_from_untrusted_peers(schools, settings):
    settings.FLEET_TRUSTED_PROXIES = []
    settings.FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS = 1
    headers = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert post("/enroll", enroll_body(secret=SECRET_A), headers=headers).status_code == 200
    headers["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    assert (
        post("/enroll", enroll_body(secret=SECRET_A, serial="X2"), headers=headers).status_code
        == 429
    )


# --- 3. oversize live-query answers -----------------------------------------------------------


def test_an_oversize_live_answer_is_stored_truncated_not_refused(schools, settings):
    key = enroll(secret=SECRET_A)["node_key"]
    settings.FLEET_MAX_BODY_BYTES = 10_000  # the ordinary limit, far below the answer
    settings.FLEET_LIVE_QUERY_MAX_ROWS = 100
    query = live_query_create(
        sql="SELECT name, version FROM deb_packages;", devices=Device.objects.all()
    )
    post("/distributed/read", {"node_key": key})
    external = f"lq-{query.pk}"
    # osquery/distributed/distributed.cpp + plugins/distributed/tls_distributed.cpp write body
    rows = [{"name": f"package-{n}", "version": "1.0"} for n in range(5000)]
    body = {
        "node_key": key,
        "queries": {external: rows},
        "statuses": {external: 0},
        "messages": {external: ""},
        "stats": {external: {"wall_time_ms": 40, "user_time": 20, "system_time": 5, "memory": 0}},
    }
    # when
    response = post("/distributed/write", body)
    # then: 200, the first rows kept, marked as too large, no longer pending
    assert response.status_code == 200 and response.json() == {}
    target = LiveQueryTarget.objects.get()
    assert target.state == "done" and target.row_count == 5000 and len(target.rows) == 100
    assert target.rows[0] == {"name": "package-0", "version": "1.0"}
    assert "trop volumineux" in target.message and target.stats["truncated"] == 1
    assert post("/distributed/read", {"node_key": key}).json()["queries"] == {}


def test_absurd_sizes_and_gzip_bombs_still_get_413(schools, settings):
    key = enroll(secret=SECRET_A)["node_key"]
    settings.FLEET_MAX_WRITE_BYTES = 50_000
    settings.FLEET_MAX_WRITE_INFLATED_BYTES = 200_000
    huge = {"node_key": key, "queries": {"lq-1": [{"x": "y" * 100_000}]}}
    assert post("/distributed/write", huge).status_code == 413
    bomb = {"node_key": key, "queries": {"lq-1": [{"x": "y" * 1_000_000}]}}
    assert post("/distributed/write", bomb, gzipped=True).status_code == 413


# --- 4. event-format snapshots ------------------------------------------------------------------


def event_snapshot(name, row, unix_time):
    # --logger_snapshot_event_type=true: one line per row, "columns" + action "snapshot"
    # (osquery/core/query.cpp, serializeQueryLogItemAsEvents)
    line = result_line(name, action="snapshot", unix_time=unix_time)
    del line["snapshot"]
    line["columns"] = row
    return line


def apps_of(device):
    device.refresh_from_db()
    return [(a["name"], a["version"]) for a in device.apps]


def test_event_format_snapshots_are_stored_and_never_wipe_until_complete(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    device = Device.objects.get()
    first = [{"name": "firefox", "version": "133.0"}, {"name": "gimp", "version": "2.10"}]
    log = {"node_key": key, "log_type": "result"}
    # run 1 arrives in two batches (logger_tls_max_lines splits it)
    post("/log", {**log, "data": [event_snapshot("minot_apps_linux", first[0], 1795421521)]})
    assert apps_of(device) == [("firefox", "133.0")]
    post("/log", {**log, "data": [event_snapshot("minot_apps_linux", first[1], 1795421521)]})
    assert apps_of(device) == [("firefox", "133.0"), ("gimp", "2.10")]
    # run 2 starts (gimp was removed): nothing disappears before the run is known complete
    post(
        "/log",
        {
            **log,
            "data": [
                event_snapshot(
                    "minot_apps_linux", {"name": "firefox", "version": "134.0"}, 1795507921
                )
            ],
        },
    )
    assert apps_of(device) == [("firefox", "133.0"), ("firefox", "134.0"), ("gimp", "2.10")]
    # run 3 starts: run 2 was complete, it becomes the list
    post(
        "/log",
        {
            **log,
            "data": [
                event_snapshot("minot_apps_linux", {"name": "vlc", "version": "3.0"}, 1795594321)
            ],
        },
    )
    assert apps_of(device) == [("firefox", "134.0"), ("vlc", "3.0")]
    assert InventoryReport.objects.filter(kind="apps").exists()


def test_an_empty_snapshot_never_wipes_the_app_list(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    device = Device.objects.get()
    rows = [{"name": "firefox", "version": "133.0"}]
    post(
        "/log",
        {
            "node_key": key,
            "log_type": "result",
            "data": [result_line("minot_apps_linux", rows=rows)],
        },
    )
    # a snapshot line with an empty result (osquery/core/query.cpp: "snapshot": [])
    empty = result_line("minot_apps_linux", rows=[], unix_time=1795507921)
    post("/log", {"node_key": key, "log_type": "result", "data": [empty]})
    assert apps_of(device) == [("firefox", "133.0")]


# --- 5. undecodable bytes ----------------------------------------------------------------------


def test_a_non_utf8_byte_is_replaced_and_the_batch_stored(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    # plugins/logger/buffered.cpp status line; osqueryd copies a Latin-1 file name as-is
    line = {
        "hostIdentifier": "uuid-host",
        "calendarTime": "Mon Nov 23 08:12:01 2026 UTC",
        "unixTime": "1795421521",
        "severity": "1",
        "filename": "config.cpp",
        "line": "120",
        "message": "MARKER",
        "version": "5.12.1",
    }
    raw = json.dumps({"node_key": key, "log_type": "status", "data": [line]}).encode()
    raw = raw.replace(b"MARKER", b"caf\xe9 \xff")
    # when
    response = post("/log", raw=raw)
    # then
    assert response.status_code == 200
    assert StatusLog.objects.get().message == "caf\ufffd \ufffd"


def test_lone_surrogate_escapes_are_stored_safely(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    raw = (
        '{"node_key": "' + key + '", "log_type": "status", '
        '"data": [{"message": "x\\udcff", "severity": 0}]}'
    ).encode()
    assert post("/log", raw=raw).status_code == 200
    assert StatusLog.objects.get().message == "x?"


def test_deeply_nested_json_is_400_not_500(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    raw = (
        '{"node_key": "'
        + key
        + '", "log_type": "result", "data": '
        + "[" * 50_000
        + "]" * 50_000
        + "}"
    ).encode()
    response = post("/log", raw=raw)
    assert response.status_code == 400 and response.json()["error"]


# --- 6. hostnames and personal data ---------------------------------------------------------------


def test_hostnames_are_never_stored_and_hostless_devices_get_a_random_id(schools):
    # default --host_identifier=hostname, firmware without serial nor UUID
    body = enroll_body(
        secret=SECRET_A,
        serial="",
        uuid="",
        host_identifier="tablette-lea-martin",
        hostname="tablette-lea-martin",
    )
    key = post("/enroll", body).json()["node_key"]
    # decorations as Fleet-style configs add them (osquery/config/plugins/decorators)
    line = result_line("minot_os", rows=[{"name": "Ubuntu"}])
    line["decorations"] = {"hostname": "tablette-lea-martin", "username": "lea.martin"}
    post("/log", {"node_key": key, "log_type": "result", "data": [line]})
    device = Device.objects.get()
    assert device.identity.startswith("minot-") and len(device.identity) > 20
    stored = json.dumps(
        [
            list(Device.objects.values()),
            list(InventoryReport.objects.values()),
            list(AuditEvent.objects.values()),
        ],
        default=str,
    )
    assert "tablette-lea-martin" not in stored and "lea.martin" not in stored


def test_a_hostless_device_is_found_again_by_its_osquery_instance(schools):
    body = instance(
        enroll_body(secret=SECRET_A, serial="", uuid=""), "b5e6c6f2-aaaa-4c7b-9a21-2f1e0c1b9f00"
    )
    post("/enroll", body)
    age(Device.objects.get(), hours=1)
    assert "node_key" in post("/enroll", body).json()
    assert Device.objects.count() == 1


# --- 7. placeholder ids and clones -----------------------------------------------------------------


@pytest.mark.parametrize(
    "serial, uuid",
    [
        ("Default string", "03000200-0400-0500-0006-000700080009"),
        ("To be filled by O.E.M.", "00000000-0000-0000-0000-000000000000"),
        ("System Serial Number", "03020100-0504-0706-0809-0a0b0c0d0e0f"),
        ("", "10000000-0000-8000-0040-000000000000"),
    ],
)
def test_placeholder_ids_are_not_an_identity(schools, serial, uuid):
    one = instance(
        enroll_body(secret=SECRET_A, serial=serial, uuid=uuid),
        "11111111-1111-4111-8111-111111111111",
    )
    two = instance(
        enroll_body(secret=SECRET_A, serial=serial, uuid=uuid),
        "22222222-2222-4222-8222-222222222222",
    )
    key_one = post("/enroll", one).json()["node_key"]
    key_two = post("/enroll", two).json()["node_key"]
    # then: two records, both keys valid (no ping-pong)
    assert Device.objects.count() == 2
    assert "schedule" in post("/config", {"node_key": key_one}).json()
    assert "schedule" in post("/config", {"node_key": key_two}).json()


def test_a_shared_machine_id_listed_by_the_operator_is_ignored(schools, settings):
    settings.FLEET_IGNORED_HARDWARE_IDS = ["4c4c4544-0042-3510-8052-b4c04f4a3732"]
    for n in (1, 2):
        body = enroll_body(secret=SECRET_A, serial="", uuid="4C4C4544-0042-3510-8052-B4C04F4A3732")
        post("/enroll", instance(body, f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-000000000000"))
    assert Device.objects.count() == 2


def test_a_clone_of_an_active_device_gets_its_own_record_and_an_alert(schools):
    real = instance(
        enroll_body(secret=SECRET_A, serial="PF2CLONE"), "aaaaaaaa-0000-4000-8000-000000000001"
    )
    clone = instance(
        enroll_body(secret=SECRET_A, serial="PF2CLONE"), "bbbbbbbb-0000-4000-8000-000000000002"
    )
    real_key = post("/enroll", real).json()["node_key"]
    post("/config", {"node_key": real_key})  # the real device is active
    # when: a disk clone with the same serial enrolls
    clone_key = post("/enroll", clone).json()["node_key"]
    # then
    original = Device.objects.get(identity="PF2CLONE")
    copy = Device.objects.exclude(pk=original.pk).get()
    assert copy.identity.startswith("minot-") and copy.serial == "PF2CLONE"
    assert "schedule" in post("/config", {"node_key": real_key}).json()
    assert "schedule" in post("/config", {"node_key": clone_key}).json()
    assert set(Alert.objects.values_list("device_id", "kind")) == {
        (original.pk, "duplicate_hardware_id"),
        (copy.pk, "duplicate_hardware_id"),
    }
    # the clone re-enrolling later finds its own record again (no new record per attempt)
    age(copy, hours=1)
    Device.objects.filter(pk=original.pk).update(last_seen_at=timezone.now())
    assert "node_key" in post("/enroll", clone).json()
    assert Device.objects.count() == 2


# --- 8 and 10. the served config ---------------------------------------------------------------


def test_config_has_no_cli_only_options_and_battery_only_where_the_table_exists(schools):
    from fleet.services.config import CLI_ONLY_OPTIONS

    key = enroll(secret=SECRET_A)["node_key"]
    config = post("/config", {"node_key": key}).json()
    assert not set(config["options"]) & CLI_ONLY_OPTIONS
    # specs/macwin/battery.table: macOS and Windows only
    assert config["schedule"]["minot_battery"]["platform"] == "darwin,windows"
    linux = config["packs"]["minot_linux_battery"]
    assert linux["platform"] == "linux"
    assert "osquery_registry" in linux["discovery"][0]
    assert "battery" in linux["queries"]["minot_battery"]["query"]


def test_the_linux_battery_pack_reports_as_minot_battery(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    row = {
        "percent_remaining": "50",
        "cycle_count": "10",
        "designed_capacity": "100",
        "max_capacity": "90",
        "charging": "0",
    }
    line = result_line("pack/minot_linux_battery/minot_battery", rows=[row])
    post("/log", {"node_key": key, "log_type": "result", "data": [line]})
    assert Device.objects.get().battery_health_percent == 90.0


# --- 11. decorations_top_level -------------------------------------------------------------------


def test_top_level_decorations_still_detect_identity_conflicts(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    # --decorations_top_level=true: decorations are keys of the line itself (osquery/core/query.cpp)
    line = result_line("minot_os", rows=[{"name": "Ubuntu"}])
    del line["decorations"]
    line["serial_number"] = "ANOTHER-SERIAL"
    post("/log", {"node_key": key, "log_type": "result", "data": [line]})
    device = Device.objects.get()
    assert device.conflict_serial == "ANOTHER-SERIAL"
    assert Alert.objects.get(device=device).kind == "identity_conflict"


def test_numerics_true_results_are_read(schools):
    key = enroll(secret=SECRET_A)["node_key"]
    # --logger_numerics=true: numbers are JSON numbers (osquery/core/query.cpp)
    line = result_line(
        "minot_disk_posix", rows=[{"path": "/", "total_bytes": 1000, "free_bytes": 250}]
    )
    line["numerics"] = True
    post("/log", {"node_key": key, "log_type": "result", "data": [line]})
    device = Device.objects.get()
    assert device.storage_total_bytes == 1000 and device.storage_free_percent == 25.0
