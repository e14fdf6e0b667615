"""The wire protocol against a stdlib server shaped like osquery's own test server
(tools/tests/test_http_server.py): bodies, headers, packs, platforms, decorators, discovery,
write retries, accelerate."""

from __future__ import annotations

import gzip
import http.server
import json
import threading

import pytest
from minot_agent.agent import Agent, parse_schedule
from minot_agent.transport import TransportError

CONFIG = {
    "options": {"distributed_interval": 30, "logger_tls_period": 20, "logger_tls_max_lines": 2},
    "decorators": {
        "load": ["SELECT hardware_serial AS serial_number FROM system_info;"],
        "always": ["SELECT major AS os_major FROM os_version;"],
    },
    "schedule": {
        "minot_os": {"query": "SELECT name, version FROM os_version;", "interval": 3600},
        "windows_only": {
            "query": "SELECT name FROM programs;",
            "interval": 60,
            "platform": "windows",
        },
        "darwin_windows": {"query": "SELECT 1;", "interval": 60, "platform": "darwin,windows"},
        "posix": {"query": "SELECT path FROM mounts;", "interval": 60, "platform": "posix"},
        "bad_interval": {"query": "SELECT 1;", "interval": "soon"},
        "not_a_dict": "SELECT 1",
    },
    "packs": {
        "hardware": {
            "queries": {"battery": {"query": "SELECT cycle_count FROM battery;", "interval": 600}}
        },
        "mac": {"platform": "darwin", "queries": {"apps": {"query": "SELECT 1;", "interval": 60}}},
        "path_pack": "/etc/osquery/packs/x.conf",
    },
}


class OsqueryTestServer(http.server.BaseHTTPRequestHandler):
    requests: list = []
    answers: dict = {}
    fail_write_once = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        gzipped = self.headers.get("Content-Encoding") == "gzip"
        body = json.loads(gzip.decompress(raw) if gzipped else raw)
        cls = type(self)
        cls.requests.append(
            {
                "path": self.path,
                "body": body,
                "gzip": gzipped,
                "authorization": self.headers.get("Authorization"),
            }
        )
        path = self.path.replace("/api/osquery", "")
        if path == "/distributed/write" and cls.fail_write_once:
            cls.fail_write_once = False
            status, answer = 503, {"error": "busy"}
        else:
            status, answer = 200, cls.answers.get(path, {})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server():
    OsqueryTestServer.requests = []
    OsqueryTestServer.fail_write_once = False
    OsqueryTestServer.answers = {
        "/enroll": {"node_key": "key-1"},
        "/config": CONFIG,
        "/distributed/read": {"queries": {}},
    }
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OsqueryTestServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def requests_to(path):
    return [r for r in OsqueryTestServer.requests if r["path"].endswith(path)]


def test_schedule_from_config_follows_platforms_and_packs(monkeypatch):
    monkeypatch.setattr("minot_agent.agent.platform_name", lambda: "linux")

    schedule = parse_schedule(CONFIG)

    assert schedule == {
        "minot_os": ("SELECT name, version FROM os_version;", 3600.0),
        "posix": ("SELECT path FROM mounts;", 60.0),
        "pack/hardware/battery": ("SELECT cycle_count FROM battery;", 600.0),
    }


def test_one_cycle_on_the_wire(server, agent_settings, fixture_backend, monkeypatch):
    monkeypatch.setattr("minot_agent.agent.platform_name", lambda: "linux")
    agent = Agent(agent_settings(server), backend=fixture_backend)

    assert agent.run_once() is True

    (enroll,) = requests_to("/enroll")
    assert enroll["body"]["enroll_secret"] == "agent-test-secret-0001"
    assert enroll["body"]["host_identifier"] == "chariot-a-07"
    assert enroll["body"]["platform_type"] in {"9", "21", "2", "1"}
    details = enroll["body"]["host_details"]
    assert set(details) == {"os_version", "osquery_info", "system_info", "platform_info"}
    assert all(isinstance(v, str) for table in details.values() for v in table.values())
    assert enroll["authorization"] is None
    assert "node_key" not in enroll["body"]

    for request in OsqueryTestServer.requests[1:]:
        assert request["body"]["node_key"] == "key-1"
        assert request["authorization"] == "NodeKey key-1"
    logs = requests_to("/log")
    assert logs
    assert all(r["gzip"] for r in logs)
    assert all(len(r["body"]["data"]) <= 2 for r in logs)  # logger_tls_max_lines from options
    results = [
        line for r in logs if r["body"]["log_type"] == "result" for line in r["body"]["data"]
    ]
    by_name = {line["name"]: line for line in results}
    assert set(by_name) == {"minot_os", "posix", "pack/hardware/battery"}
    line = by_name["minot_os"]
    assert line["action"] == "snapshot"
    assert line["snapshot"] == [{"name": "Ubuntu", "version": "22.04.4 LTS (Jammy Jellyfish)"}]
    assert line["decorations"] == {"serial_number": "PF3AGENT1", "os_major": "22"}
    assert (line["epoch"], line["counter"], line["numerics"]) == (0, 0, False)
    assert isinstance(line["unixTime"], int)
    assert line["calendarTime"].endswith("UTC")
    assert agent.intervals["distributed"] == 30
    assert agent.intervals["flush"] == 20
    agent.close()


def test_live_queries_discovery_accelerate_and_write_retry(server, agent_settings, fixture_backend):
    agent = Agent(agent_settings(server), backend=fixture_backend)
    OsqueryTestServer.answers["/distributed/read"] = {
        "queries": {
            "q-os": "SELECT name FROM os_version",
            "q-mac-only": "SELECT 1",
            "q-broken": "SELECT * FROM no_such_table",
        },
        "discovery": {"q-mac-only": "SELECT 1 FROM os_version WHERE platform = 'darwin'"},
        "accelerate": 60,
    }
    OsqueryTestServer.fail_write_once = True

    with pytest.raises(TransportError):  # the write fails once (503)...
        agent.distributed()
    assert agent.pending_write is not None
    OsqueryTestServer.answers["/distributed/read"] = {"queries": {}}

    assert agent.distributed() == 0  # ...and is sent again on the next poll
    assert agent.pending_write is None
    first, retried = requests_to("/distributed/write")
    assert first["body"]["queries"] == retried["body"]["queries"]
    body = retried["body"]
    assert body["queries"]["q-os"] == [{"name": "Ubuntu"}]
    assert "q-mac-only" not in body["queries"]  # discovery returned no rows
    assert body["statuses"] == {"q-os": 0, "q-broken": 1}
    assert "no such table" in body["messages"]["q-broken"]
    assert set(body["stats"]["q-os"]) == {"wall_time_ms", "user_time", "system_time", "memory"}
    assert agent._interval("distributed") == 5.0  # accelerated check-ins
    agent.close()


def test_enroll_accepts_the_id_key_and_refuses_an_empty_answer(
    server, agent_settings, fixture_backend
):
    OsqueryTestServer.answers["/enroll"] = {"id": "legacy-key"}
    agent = Agent(agent_settings(server), backend=fixture_backend)
    assert agent.enroll() == "legacy-key"

    OsqueryTestServer.answers["/enroll"] = {"node_key": ""}
    with pytest.raises(TransportError, match="no node_key"):
        agent.enroll()
    agent.close()
