"""Bad server answers (HTML, garbage JSON, 5xx, slow, wrong shapes) never crash the agent:
requests fail, reports stay spooled, the loop goes on."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time

import pytest
from minot_agent.agent import Agent
from minot_agent.transport import NodeInvalid, Transport, TransportError

MODES = {
    "html": (200, "text/html", b"<html><body>Bad gateway</body></html>"),
    "garbage": (200, "application/json", b'{"node_key": "abc", oops'),
    "error500": (500, "text/html", b"<h1>Server Error (500)</h1>"),
    "json500": (500, "application/json", b'{"node_key": "k"}'),
    "list": (200, "application/json", b"[1, 2, 3]"),
    "error": (200, "application/json", b'{"error": "database is locked"}'),
    "no_key": (200, "application/json", b"{}"),
    "bad_gzip": (200, "application/json", b"\x1f\x8bnot really gzip"),
    "empty": (200, "application/json", b""),
    "binary": (200, "application/octet-stream", bytes(range(256))),
}


class BadHandler(http.server.BaseHTTPRequestHandler):
    mode = "html"
    requests: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).requests.append((self.path, json.loads(body)))
        mode = type(self).mode
        if mode == "slow":
            time.sleep(2.5)
            status, content_type, payload = 200, "application/json", b"{}"
        elif mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        else:
            status, content_type, payload = MODES[mode]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if mode == "bad_gzip":
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def bad_server():
    BadHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("mode", [m for m in [*MODES, "slow", "drop"] if m != "no_key"])
def test_transport_turns_every_bad_answer_into_a_transport_error(bad_server, mode):
    BadHandler.mode = mode
    transport = Transport(url(bad_server), insecure_http=True, timeout=1.0)

    with pytest.raises(TransportError):
        transport.post("/config", {"node_key": "k"})


@pytest.mark.parametrize("mode", [m for m in [*MODES, "slow", "drop"] if m != "no_key"])
def test_run_once_fails_cleanly_and_keeps_reports(
    bad_server, agent_settings, fixture_backend, mode
):
    BadHandler.mode = mode
    settings = agent_settings(url(bad_server), request_timeout=1.0)
    agent = Agent(settings, backend=fixture_backend)
    agent.spool.set("node_key", "cached-key")
    agent.apply_config(
        {"schedule": {"minot_os": {"query": "SELECT name FROM os_version", "interval": 60}}},
        source="test",
    )

    assert agent.run_once() is False

    _type, _ids, lines = agent.spool.peek(max_lines=100, max_bytes=10**6)
    assert len(agent.spool) >= 1  # the report waits for a good answer
    names = {line.get("name") for line in lines}
    assert "minot_os" in names or _type == "status"
    agent.close()


def test_service_loop_survives_a_bad_server(bad_server, agent_settings, fixture_backend):
    settings = agent_settings(url(bad_server), request_timeout=0.5)
    agent = Agent(settings, backend=fixture_backend)
    agent.apply_config(
        {"schedule": {"minot_os": {"query": "SELECT name FROM os_version", "interval": 0.3}}},
        source="test",
    )
    thread = threading.Thread(target=agent.run_forever, daemon=True)
    thread.start()
    for mode in ["html", "garbage", "error500", "list", "bad_gzip", "drop", "slow", "no_key"]:
        BadHandler.mode = mode
        time.sleep(0.6)
        assert thread.is_alive(), mode
    agent.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert len(agent.spool) >= 3  # reports were kept, not lost
    assert len(BadHandler.requests) >= 5  # and the agent kept retrying
    agent.close()


def test_node_invalid_on_any_status_code(bad_server):
    BadHandler.mode = "json500"
    MODES["node_invalid"] = (401, "application/json", b'{"error": "x", "node_invalid": true}')
    try:
        BadHandler.mode = "node_invalid"
        with pytest.raises(NodeInvalid):
            Transport(url(bad_server), insecure_http=True).post("/log", {})
    finally:
        del MODES["node_invalid"]


def test_https_is_verified(agent_settings):
    # plain http is refused without insecure_http
    with pytest.raises(ValueError, match="insecure_http"):
        Transport("http://127.0.0.1:1")
