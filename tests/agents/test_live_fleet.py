"""End to end against the real fleet server (pytest-django live_server): enroll, config, logs in
the server's history, a live query answered, node_invalid → re-enroll, and an outage with a
restart of the agent in the middle where every report arrives exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from minot_agent.agent import Agent

from fleet import public_views
from fleet.models import Device, InventoryReport, LiveQueryTarget, StatusLog
from fleet.services.config import config_build
from fleet.services.enrollment import device_revoke_key
from fleet.services.live_queries import live_query_create

from ..fleet.factories import school_with_secret

SECRET = "agent-test-secret-0001"

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def school():
    return school_with_secret(SECRET)


@pytest.fixture
def fast_config(monkeypatch):
    """The server's own config with its intervals scaled down to seconds (the test cannot wait
    an hour); everything else is what fleet sends to every device."""

    def build(school_id, interval=2, distributed=1, logger=1):
        config = config_build(school_id=school_id)
        for spec in config["schedule"].values():
            spec["interval"] = interval
        config["options"].update(
            distributed_interval=distributed, logger_tls_period=logger, config_refresh=30
        )
        return config

    monkeypatch.setattr(public_views, "config_for_school", build)
    return build


def test_enroll_config_logs_and_live_query(live_server, school, agent_settings, fixture_backend):
    agent = Agent(agent_settings(live_server.url, request_timeout=20.0), backend=fixture_backend)

    assert agent.run_once() is True

    device = Device.objects.get()
    assert device.school == school
    assert device.serial == "PF3AGENT1"
    assert device.os_name == "Ubuntu"
    assert device.hardware_model == "82VR"
    assert device.storage_total_bytes == 30000000 * 4096
    assert device.storage_free_bytes == 11000000 * 4096
    assert {a["name"] for a in device.apps} == {"firefox", "libreoffice-writer", "gcompris-qt"}
    assert device.network == [
        {"interface": "wlp1s0", "mac": "3c:21:9c:aa:bb:cc", "address": "10.42.7.23"}
    ]
    kinds = Counter(InventoryReport.objects.values_list("kind", flat=True))
    # the battery too: a Linux device's battery comes from the agent's own battery table
    assert kinds == {"system": 1, "os": 1, "disk": 1, "apps": 1, "network": 1, "battery": 1}
    assert device.battery_percent == 87
    assert len(agent.spool) == 0

    # a technician's live query is answered on the next cycle
    query = live_query_create(
        sql="SELECT name, version FROM os_version", devices=Device.objects.all()
    )
    assert agent.distributed() == 1
    target = LiveQueryTarget.objects.get(query=query)
    assert target.state == LiveQueryTarget.State.DONE
    assert target.rows == [{"name": "Ubuntu", "version": "22.04.4 LTS (Jammy Jellyfish)"}]

    # a failing live query is reported as a failure, not a crash
    bad = live_query_create(sql="SELECT hotfix_id FROM patches", devices=Device.objects.all())
    agent.distributed()
    failed = LiveQueryTarget.objects.get(query=bad)
    assert failed.state == LiveQueryTarget.State.FAILED
    assert "no such table" in failed.message
    agent.close()


def test_node_invalid_makes_the_agent_re_enroll(
    live_server, school, agent_settings, fixture_backend
):
    agent = Agent(agent_settings(live_server.url, request_timeout=20.0), backend=fixture_backend)
    assert agent.run_once()
    device = Device.objects.get()
    first_key = agent.node_key

    device_revoke_key(device=device)  # the server forgets the key: answers node_invalid
    agent.status("after revoke")
    assert agent.flush() == 1

    assert agent.node_key and agent.node_key != first_key
    assert Device.objects.count() == 1  # same device, fresh key
    assert StatusLog.objects.filter(message="after revoke").count() == 1
    agent.close()


def test_wrong_secret_fails_without_crashing(live_server, school, agent_settings, fixture_backend):
    agent = Agent(
        agent_settings(
            live_server.url, enroll_secret="not-the-school-secret", request_timeout=20.0
        ),
        backend=fixture_backend,
    )
    assert agent.run_once() is False
    assert Device.objects.count() == 0
    assert len(agent.spool) >= 1  # reports wait for a valid enrollment
    agent.close()


# -- outage ---------------------------------------------------------------------------------


class SwitchableProxy:
    """A loopback TCP proxy in front of the live server: ``up``, ``down`` (connections closed
    at once) or ``error`` (HTTP 500 with an HTML page)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.mode = "up"
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client):
        mode = self.mode
        if mode == "down":
            client.close()
            return
        if mode == "error":
            client.settimeout(2)
            try:
                client.recv(65536)
                body = b"<html><h1>Server Error (500)</h1></html>"
                client.sendall(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
                    b"Connection: close\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            except OSError:
                pass
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))

        def pipe(source, sink):
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, sink):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self):
        self.closed = True
        self.listener.close()


def start_agent(proxy_port: int, state_dir: str, log_path: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        MINOT_SERVER=f"http://127.0.0.1:{proxy_port}",
        MINOT_ENROLL_SECRET=SECRET,
        MINOT_STATE_DIR=state_dir,
        MINOT_LOG_LEVEL="debug",
        MINOT_OSQUERY="never",
        MINOT_HOST_IDENTIFIER="instance",
        MINOT_MIN_INTERVAL="0.5",
        MINOT_BACKOFF_MAX="2",
    )
    log = open(log_path, "ab")  # noqa: SIM115 - closed by the OS when the process ends
    return subprocess.Popen(
        [sys.executable, "-m", "minot_agent", "run", "--insecure-http", *extra],
        env=env,
        stdout=log,
        stderr=log,
    )


def stop_agent(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0


def spooled_results(log_path: str) -> list[tuple[str, int]]:
    out = []
    with open(log_path, encoding="utf-8") as handle:
        for text in handle:
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            if entry.get("message") == "result spooled":
                out.append((entry["query"], entry["unix_time"]))
    return out


KIND = {
    "minot_system": "system",
    "minot_os": "os",
    "minot_disk_posix": "disk",
    "minot_network": "network",
}


def test_outage_with_restart_delivers_every_report_exactly_once(
    live_server, school, fast_config, tmp_path
):
    port = int(live_server.url.rsplit(":", 1)[1])
    proxy = SwitchableProxy(port)
    state_dir, log_path = str(tmp_path / "state"), str(tmp_path / "agent.log")
    agent = start_agent(proxy.port, state_dir, log_path)
    try:
        deadline = time.time() + 90  # generous: CI runs two workers on two cores
        while not InventoryReport.objects.filter(kind="os").exists():
            assert time.time() < deadline, open(log_path).read()[-3000:]
            time.sleep(0.3)

        proxy.mode = "down"  # server unreachable
        time.sleep(4)
        proxy.mode = "error"  # server answering 500
        time.sleep(2)
        agent.kill()  # crash (SIGKILL) and restart in the middle of the outage
        agent.wait(10)
        killed_at = int(time.time())
        agent = start_agent(proxy.port, state_dir, log_path)
        time.sleep(4)
        proxy.mode = "up"
        time.sleep(5)
        stop_agent(agent)
    finally:
        if agent.poll() is None:
            agent.kill()
        proxy.close()

    # the loop was stopped with the server up; one more cycle sends whatever it had left
    final = start_agent(port, state_dir, log_path, "--once")
    assert final.wait(60) == 0
    assert _spool_count(state_dir) == 0

    produced = Counter(
        (KIND[name], unix_time) for name, unix_time in spooled_results(log_path) if name in KIND
    )
    stored = Counter(
        (kind, int(at.timestamp()))
        for kind, at in InventoryReport.objects.exclude(kind="apps").values_list(
            "kind", "collected_at"
        )
    )
    assert sum(1 for kind, _t in produced.elements() if kind == "os") >= 4
    # The server keeps one report per (device, kind, second): a batch delivered twice, or two
    # identical snapshots taken in the same second (the restarted agent collects at once), are
    # one report there. So: every (kind, second) the agent produced is on the server, and
    # nothing is stored twice. The only allowance: a report the crashed process committed to its
    # spool in its last instant but had not yet logged (SIGKILL between the two) is on the
    # server without a log line; it must date from the kill.
    assert all(n == 1 for n in stored.values()), f"stored twice: {stored}"
    missing = set(produced) - set(stored)
    extra = set(stored) - set(produced)
    assert not missing, f"reports lost: {sorted(missing)}"
    assert all(killed_at - 3 <= t <= killed_at for _kind, t in extra), (
        f"reports the agent never produced: {sorted(extra)}"
    )
    assert len(extra) <= len(KIND)
    log_text = open(log_path, encoding="utf-8").read()
    assert "request failed, will retry" in log_text  # the outage was really seen
    assert StatusLog.objects.filter(message__contains="started").count() == 2
    assert Device.objects.count() == 1


def _spool_count(state_dir: str) -> int:
    import sqlite3

    db = sqlite3.connect(os.path.join(state_dir, "agent.sqlite3"))
    try:
        return db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
    finally:
        db.close()
