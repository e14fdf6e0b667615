"""The osquery remote API, with payloads shaped as stock osqueryd sends them."""

import gzip
import json

import pytest
from django.test import Client

from fleet.models import (
    Alert,
    BatterySample,
    Device,
    DeviceAssignment,
    InventoryReport,
    LiveQueryTarget,
    StatusLog,
)
from fleet.services.enrollment import device_revoke_key, enroll_secret_revoke, enroll_secret_rotate
from fleet.services.live_queries import live_query_create

from .factories import enroll_body, result_line, school_with_secret

pytestmark = pytest.mark.django_db

PREFIXES = ["/api/osquery", "/api/v1/osquery"]


@pytest.fixture(autouse=True)
def _fleet_settings(settings):
    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 0
    settings.FLEET_LIVE_QUERY_CACHE_SECONDS = 0
    settings.FLEET_NODE_NEGATIVE_CACHE_SECONDS = 0
    from django.core.cache import cache

    cache.clear()


def post(path, body, *, raw=None, gzipped=False, headers=None, prefix="/api/osquery"):
    data = raw if raw is not None else json.dumps(body).encode()
    extra = {"HTTP_USER_AGENT": "osquery/5.12.1"}
    if gzipped:
        data = gzip.compress(data)
        extra["HTTP_CONTENT_ENCODING"] = "gzip"
    extra.update(headers or {})
    return Client().post(f"{prefix}{path}", data=data, content_type="application/json", **extra)


@pytest.fixture
def school():
    return school_with_secret()


@pytest.fixture
def node_key(school):
    response = post("/enroll", enroll_body())
    return response.json()["node_key"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_enroll_returns_node_key_and_creates_device(school, prefix):
    # when
    response = post("/enroll", enroll_body(), prefix=prefix)
    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"node_key"}
    assert len(body["node_key"]) == 48
    device = Device.objects.get()
    assert device.identity == "PF2ABC12"
    assert device.school == school
    assert device.hardware_model == "20XW"
    assert device.os_name == "Ubuntu"
    assert device.os_version == "22.4.0"
    assert device.osquery_version == "5.12.1"
    assert device.memory_bytes == 8589934592
    assert device.node_key_hash != body["node_key"]  # stored hashed
    assert "ecole-pc-07" not in json.dumps(
        list(Device.objects.values()), default=str
    )  # hostname not kept
    assert DeviceAssignment.objects.filter(device=device, kind="enroll").count() == 1


def test_reenroll_same_device_is_idempotent_and_rotates_key(school, settings):
    settings.FLEET_ENROLL_COOLDOWN_SECONDS = 0
    first = post("/enroll", enroll_body()).json()["node_key"]
    second = post("/enroll", enroll_body()).json()["node_key"]
    assert first != second
    assert Device.objects.count() == 1
    assert DeviceAssignment.objects.count() == 1
    assert post("/config", {"node_key": first}).json() == {"node_invalid": True}
    assert "schedule" in post("/config", {"node_key": second}).json()


def test_enroll_without_serial_uses_hardware_uuid(school):
    body = enroll_body(serial="To be filled by O.E.M.", uuid="UUID-XYZ")
    assert "node_key" in post("/enroll", body).json()
    assert Device.objects.get().identity == "UUID-XYZ"


@pytest.mark.parametrize(
    "body",
    [
        {"enroll_secret": "wrong-secret-value", "host_identifier": "h"},
        {"host_identifier": "h"},
        {"enroll_secret": "", "host_identifier": "h"},
    ],
)
def test_enroll_with_invalid_secret_is_node_invalid(school, body):
    response = post("/enroll", body)
    assert response.status_code == 200
    assert response.json() == {"node_invalid": True}
    assert Device.objects.count() == 0


def test_rotated_and_revoked_secrets_stop_enrolling(school):
    new_secret = enroll_secret_rotate(school=school)
    assert post("/enroll", enroll_body()).json() == {"node_invalid": True}
    assert "node_key" in post("/enroll", enroll_body(secret=new_secret)).json()
    enroll_secret_revoke(school=school)
    assert post("/enroll", enroll_body(secret=new_secret, serial="OTHER1")).json() == {
        "node_invalid": True
    }


def test_config_is_a_real_osquery_config(node_key):
    response = post("/config", {"node_key": node_key})
    assert response.status_code == 200
    config = response.json()
    assert set(config) == {"options", "schedule", "decorators", "packs"}
    assert config["options"]["distributed_interval"] == 60
    for name, query in config["schedule"].items():
        assert name.startswith("minot_")
        assert query["query"].endswith(";")
        assert isinstance(query["interval"], int)
    assert config["decorators"]["load"] == [
        "SELECT hardware_serial AS serial_number FROM system_info;"
    ]


def test_node_key_in_authorization_header(node_key):
    response = post("/config", {}, headers={"HTTP_AUTHORIZATION": f"NodeKey {node_key}"})
    assert "schedule" in response.json()


@pytest.mark.parametrize("path", ["/config", "/log", "/distributed/read", "/distributed/write"])
def test_unknown_node_key_is_node_invalid(school, path):
    response = post(path, {"node_key": "not-a-key", "log_type": "status", "data": []})
    assert response.status_code == 200
    assert response.json() == {"node_invalid": True}


def test_revoked_device_key_is_node_invalid(node_key):
    device_revoke_key(device=Device.objects.get())
    assert post("/distributed/read", {"node_key": node_key}).json() == {"node_invalid": True}


def test_blocked_device_is_refused_until_a_technician_unblocks_it(node_key):
    """Blocking had no way back: the device page and the API now lift a block."""
    from backend.core.models import AuditEvent
    from tests.conftest import api_client_for
    from tests.factories import TechnicianFactory

    device = Device.objects.get()
    technician = Client()
    technician.force_login(TechnicianFactory())
    # block from the device page
    technician.post(f"/parc/appareils/{device.pk}/revoke/", {"block": "1"})
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert device.node_key_hash is None
    page = technician.get(f"/parc/appareils/{device.pk}/").content.decode()
    assert "Appareil bloqué depuis le" in page
    assert "Débloquer" in page
    assert post("/enroll", enroll_body()).json() == {"node_invalid": True}
    # unblock from the device page: the device enrolls again
    technician.post(f"/parc/appareils/{device.pk}/unblock/")
    device.refresh_from_db()
    assert device.revoked_at is None
    assert "node_key" in post("/enroll", enroll_body()).json()
    assert AuditEvent.objects.filter(action="fleet.device_unblocked").count() == 1
    # the API: a device that is not blocked is refused (nothing changes), a blocked one lifted
    api = api_client_for(TechnicianFactory())
    refused = api.post(f"/api/v1/fleet/devices/{device.pk}/unblock/")
    assert refused.status_code == 400
    assert AuditEvent.objects.filter(action="fleet.device_unblocked").count() == 1
    device_revoke_key(device=device, block=True)
    assert api.get(f"/api/v1/fleet/devices/{device.pk}/").json()["blocked_at"] is not None
    response = api.post(f"/api/v1/fleet/devices/{device.pk}/unblock/")
    assert response.status_code == 200
    assert response.json()["blocked_at"] is None
    device.refresh_from_db()
    assert device.revoked_at is None
    assert "node_key" in post("/enroll", enroll_body()).json()


def test_unblock_is_404_beyond_reach(node_key):
    from tests.conftest import api_client_for
    from tests.factories import AdminFactory, StaffFactory

    device = Device.objects.get()
    device_revoke_key(device=device, block=True)
    for user in (StaffFactory(), AdminFactory()):
        page = Client()
        page.force_login(user)
        assert page.post(f"/parc/appareils/{device.pk}/unblock/").status_code == 404
        api = api_client_for(user)
        assert api.post(f"/api/v1/fleet/devices/{device.pk}/unblock/").status_code == 404
    device.refresh_from_db()
    assert device.revoked_at is not None  # nothing changed


def test_snapshot_results_fill_inventory_and_history(node_key):
    body = {
        "node_key": node_key,
        "log_type": "result",
        "data": [
            result_line(
                "minot_battery",
                rows=[
                    {
                        "percent_remaining": "87",
                        "cycle_count": "412",
                        "designed_capacity": "57000",
                        "max_capacity": "45600",
                        "charging": "1",
                    }
                ],
            ),
            result_line(
                "pack/minot/minot_disk_posix",
                rows=[{"path": "/", "total_bytes": "256000000000", "free_bytes": "12800000000"}],
                unix_time="1795421522",
            ),
            result_line(
                "minot_os",
                rows=[
                    {
                        "name": "Ubuntu",
                        "version": "22.04.5 LTS",
                        "major": "22",
                        "minor": "4",
                        "patch": "5",
                        "build": "",
                        "platform": "ubuntu",
                        "osquery_version": "5.13.0",
                    }
                ],
            ),
            result_line(
                "minot_apps_linux",
                rows=[
                    {"name": "firefox", "version": "133.0"},
                    {"name": "libreoffice", "version": "7.3"},
                ],
            ),
            result_line(
                "minot_network",
                rows=[{"interface": "wlp2s0", "mac": "aa:bb:cc:dd:ee:ff", "address": "10.1.2.3"}],
            ),
            result_line("some_other_query", rows=[{"secret": "dropped"}]),
        ],
    }
    response = post("/log", body)
    assert response.status_code == 200
    assert response.json() == {}
    device = Device.objects.get()
    assert device.battery_health_percent == 80.0
    assert device.battery_cycle_count == 412
    assert device.battery_percent == 87
    assert device.battery_charging is True
    assert device.storage_total_bytes == 256000000000
    assert device.storage_free_percent == 5.0
    assert device.os_version == "22.4.5"
    assert device.osquery_version == "5.13.0"
    assert device.apps == [
        {"name": "firefox", "version": "133.0"},
        {"name": "libreoffice", "version": "7.3"},
    ]
    assert device.network == [
        {"interface": "wlp2s0", "mac": "aa:bb:cc:dd:ee:ff", "address": "10.1.2.3"}
    ]
    assert sorted(InventoryReport.objects.values_list("kind", flat=True)) == [
        "apps",
        "battery",
        "disk",
        "network",
        "os",
    ]
    assert BatterySample.objects.get().health_percent == 80.0
    assert device.last_seen_at is not None
    assert device.status == "online"
    assert "dropped" not in json.dumps(list(InventoryReport.objects.values_list("data", flat=True)))


def test_event_and_batched_diff_results_update_apps(node_key):
    post(
        "/log",
        {
            "node_key": node_key,
            "log_type": "result",
            "data": [
                result_line(
                    "minot_apps_linux",
                    rows=[
                        {"name": "firefox", "version": "132.0"},
                        {"name": "gimp", "version": "2.10"},
                    ],
                ),
            ],
        },
    )
    # event format: added / removed, unixTime as a string (older osqueryd)
    post(
        "/log",
        {
            "node_key": node_key,
            "log_type": "result",
            "data": [
                result_line(
                    "minot_apps_linux",
                    action="removed",
                    columns={"name": "firefox", "version": "132.0"},
                    unix_time="1795421600",
                ),
                result_line(
                    "minot_apps_linux",
                    action="added",
                    columns={"name": "firefox", "version": "133.0"},
                    unix_time="1795421600",
                ),
            ],
        },
    )
    assert Device.objects.get().apps == [
        {"name": "firefox", "version": "133.0"},
        {"name": "gimp", "version": "2.10"},
    ]
    # batched diffResults (--logger_event_type=false), with an empty-string list
    response = post(
        "/log",
        {
            "node_key": node_key,
            "log_type": "result",
            "data": [
                result_line(
                    "minot_apps_linux",
                    action="diff",
                    rows={"added": "", "removed": [{"name": "gimp", "version": "2.10"}]},
                ),
            ],
        },
    )
    assert response.status_code == 200
    assert Device.objects.get().apps == [{"name": "firefox", "version": "133.0"}]


def test_status_logs_are_stored(node_key):
    line = {
        "hostIdentifier": "uuid-host",
        "calendarTime": "Mon Nov 23 08:12:01 2026 UTC",
        "unixTime": "1795421521",
        "severity": "1",
        "filename": "tls.cpp",
        "line": "248",
        "message": "TLS/HTTPS POST request failed",
        "version": "5.12.1",
        "decorations": {"serial_number": "PF2ABC12"},
    }
    response = post(
        "/log",
        {"node_key": node_key, "log_type": "status", "data": [line, {**line, "severity": 0}]},
    )
    assert response.json() == {}
    assert StatusLog.objects.count() == 2
    assert StatusLog.objects.filter(severity=1, line=248, filename="tls.cpp").exists()


def test_gzip_body_is_accepted(node_key):
    body = {
        "node_key": node_key,
        "log_type": "result",
        "data": [
            result_line(
                "minot_battery",
                rows=[
                    {
                        "percent_remaining": "50",
                        "cycle_count": "10",
                        "designed_capacity": "1000",
                        "max_capacity": "990",
                    }
                ],
            )
        ],
    }
    response = post("/log", body, gzipped=True)
    assert response.status_code == 200
    assert response.json() == {}
    assert Device.objects.get().battery_health_percent == 99.0


@pytest.mark.parametrize(
    ("raw", "gzipped", "status"),
    [
        (b"{not json", False, 400),
        (b"[1, 2]", False, 400),
        (b"", False, 400),
        (b"\x1f\x8b\x08\x00garbage", False, 400),
        (b"not gzip at all", True, None),
    ],
)
def test_malformed_bodies_are_refused_with_a_message(node_key, raw, gzipped, status):
    client = Client()
    extra = {"HTTP_CONTENT_ENCODING": "gzip"} if gzipped else {}
    response = client.post("/api/osquery/log", data=raw, content_type="application/json", **extra)
    if gzipped:  # declared gzip but not gzip
        response = client.post(
            "/api/osquery/log",
            data=b"not gzip",
            content_type="application/json",
            HTTP_CONTENT_ENCODING="gzip",
        )
    assert response.status_code == (status or 400)
    assert response.json()["error"]
    assert InventoryReport.objects.count() == StatusLog.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"log_type": "metrics", "data": []},
        {"log_type": "result", "data": {"not": "a list"}},
        {"log_type": "result", "data": [{"name": "minot_os"}]},
        {
            "log_type": "result",
            "data": [
                {"name": "minot_os", "action": "snapshot", "snapshot": "x", "unixTime": "soon"}
            ],
        },
        {"log_type": "status", "data": [{"severity": "high"}]},
    ],
)
def test_wrong_shapes_are_400_and_store_nothing(node_key, body):
    # a good line first: the whole batch is refused, nothing half-written
    good = result_line("minot_battery", rows=[{"percent_remaining": "50"}])
    if isinstance(body.get("data"), list):
        body = {**body, "data": [good, *body["data"]]}
    response = post("/log", {"node_key": node_key, **body})
    assert response.status_code == 400
    assert response.json()["message"]
    assert (
        BatterySample.objects.count()
        == InventoryReport.objects.count()
        == StatusLog.objects.count()
        == 0
    )


def test_oversize_bodies_are_413(node_key, settings):
    settings.FLEET_MAX_BODY_BYTES = 1000
    response = post(
        "/log", {"node_key": node_key, "log_type": "status", "data": [{"message": "x" * 2000}]}
    )
    assert response.status_code == 413
    assert response.json()["error"]
    settings.FLEET_MAX_BODY_BYTES = 100_000
    settings.FLEET_MAX_INFLATED_BYTES = 5000
    bomb = {"node_key": node_key, "log_type": "status", "data": [{"message": "a" * 50_000}]}
    response = post("/log", bomb, gzipped=True)
    assert response.status_code == 413
    assert StatusLog.objects.count() == 0


def test_get_is_405(school):
    response = Client().get("/api/osquery/enroll")
    assert response.status_code == 405
    assert response.json()["error"]


def test_serial_mismatch_flags_an_identity_conflict(node_key):
    post(
        "/log",
        {
            "node_key": node_key,
            "log_type": "result",
            "data": [
                result_line("minot_os", rows=[{"name": "Ubuntu"}], serial="ANOTHER-SERIAL"),
            ],
        },
    )
    device = Device.objects.get()
    assert device.conflict_serial == "ANOTHER-SERIAL"
    assert Alert.objects.get(device=device).kind == "identity_conflict"


def test_distributed_read_and_write_round_trip(node_key):
    device = Device.objects.get()
    # nothing pending
    assert post("/distributed/read", {"node_key": node_key}).json() == {
        "queries": {},
        "discovery": {},
    }
    query = live_query_create(
        sql="SELECT name, version FROM os_version;", devices=Device.objects.all()
    )
    read = post("/distributed/read", {"node_key": node_key}).json()
    assert read == {
        "queries": {f"lq-{query.pk}": "SELECT name, version FROM os_version;"},
        "discovery": {},
    }
    write = {
        "node_key": node_key,
        "queries": {f"lq-{query.pk}": [{"name": "Ubuntu", "version": "22.04"}], "lq-999999": []},
        "statuses": {f"lq-{query.pk}": 0, "lq-999999": 0},
        "messages": {f"lq-{query.pk}": ""},
        "stats": {
            f"lq-{query.pk}": {"wall_time_ms": 3, "user_time": 1, "system_time": 0, "memory": 0}
        },
    }
    assert post("/distributed/write", write).json() == {}
    target = LiveQueryTarget.objects.get(query=query, device=device)
    assert target.state == "done"
    assert target.rows == [{"name": "Ubuntu", "version": "22.04"}]
    assert target.stats["wall_time_ms"] == 3
    # answered: no longer handed out
    assert post("/distributed/read", {"node_key": node_key}).json()["queries"] == {}


def test_distributed_write_failure_status_is_kept(node_key):
    query = live_query_create(sql="SELECT name FROM rpm_packages;", devices=Device.objects.all())
    post(
        "/distributed/write",
        {
            "node_key": node_key,
            "queries": {f"lq-{query.pk}": ""},
            "statuses": {f"lq-{query.pk}": 1},
            "messages": {f"lq-{query.pk}": "no such table: nonexistent"},
        },
    )
    target = LiveQueryTarget.objects.get()
    assert target.state == "failed"
    assert target.message == "no such table: nonexistent"


def test_distributed_write_wrong_types_is_400(node_key):
    response = post("/distributed/write", {"node_key": node_key, "queries": ["x"]})
    assert response.status_code == 400


def test_rate_limit_per_node(node_key, settings):
    settings.FLEET_RATE_LIMIT_PER_NODE = 3
    codes = [post("/distributed/read", {"node_key": node_key}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_rate_limit_on_enroll_per_address(school, settings):
    settings.FLEET_RATE_LIMIT_ENROLL_PER_ADDRESS = 2
    codes = [post("/enroll", enroll_body(secret="bad-secret-0000")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_last_seen_is_batched_but_first_contact_is_immediate(node_key, settings):
    from fleet.services import nodes

    settings.FLEET_LAST_SEEN_FLUSH_SECONDS = 3600
    nodes._written.clear()
    post("/distributed/read", {"node_key": node_key})
    first = Device.objects.get().last_seen_at
    assert first is not None  # not online yet: written at once
    assert Device.objects.get().status == "online"
    post("/distributed/read", {"node_key": node_key})
    assert Device.objects.get().last_seen_at == first  # later ones buffered
    assert nodes.last_seen_flush() == 1
    assert Device.objects.get().last_seen_at > first


def test_a_replayed_log_batch_is_stored_once(node_key):
    # given: an agent whose batch was stored but which never saw our answer
    body = {
        "node_key": node_key,
        "log_type": "result",
        "data": [
            result_line(
                "minot_battery",
                rows=[
                    {
                        "percent_remaining": "50",
                        "cycle_count": "10",
                        "designed_capacity": "100",
                        "max_capacity": "90",
                        "charging": "0",
                    }
                ],
                unix_time="1795421522",
            ),
            result_line(
                "pack/minot/minot_disk_posix",
                rows=[{"path": "/", "total_bytes": "1000", "free_bytes": "500"}],
                unix_time="1795421522",
            ),
        ],
    }
    assert post("/log", body).json() == {}
    # when: it sends the same batch again
    assert post("/log", body).json() == {}
    # then: the history holds each report once
    assert sorted(InventoryReport.objects.values_list("kind", flat=True)) == ["battery", "disk"]
    assert BatterySample.objects.count() == 1


def test_linux_devices_are_asked_for_their_battery(node_key):
    config = post("/config", {"node_key": node_key}).json()
    battery = [q for name, q in config["schedule"].items() if "battery" in name]
    battery += [
        q
        for pack in config.get("packs", {}).values()
        for name, q in pack.get("queries", {}).items()
        if "battery" in name
    ]
    assert battery
    linux_pack = config["packs"]["minot_linux_battery"]
    assert linux_pack["platform"] == "linux"
    assert "battery" in linux_pack["discovery"][0]
