"""The osquery path: the real osquery-python ExtensionClient against a real Thrift server
speaking osquery's ExtensionManager interface over a unix socket."""

from __future__ import annotations

import json

import pytest
from minot_agent import cli
from minot_agent.agent import DEFAULT_QUERIES, Agent
from minot_agent.native import NativeBackend, QueryError
from minot_agent.osquery_backend import CombinedBackend, OsqueryBackend, make_backend

from .conftest import fixture_providers


def test_extension_client_runs_queries_over_the_socket(osquery_server):
    server = osquery_server()
    backend = OsqueryBackend(server.path)
    assert backend.open()

    rows = backend.query("SELECT hardware_serial, physical_memory FROM system_info")

    assert rows == [{"hardware_serial": "PF3AGENT1", "physical_memory": "4294967296"}]
    assert server.handler.queries == ["SELECT hardware_serial, physical_memory FROM system_info"]
    backend.close()


def test_osquery_error_status_is_a_query_error(osquery_server):
    backend = OsqueryBackend(osquery_server().path)

    with pytest.raises(QueryError, match="no such table: nope"):
        backend.query("SELECT * FROM nope")


def test_unreachable_socket_is_a_query_error(tmp_path):
    backend = OsqueryBackend(str(tmp_path / "absent.em"), timeout=0.1)

    with pytest.raises(QueryError, match="not reachable"):
        backend.query("SELECT 1")


def test_auto_mode_picks_osquery_and_falls_back_to_native_for_missing_battery(osquery_server):
    # osqueryd on Linux has no battery table: the native collector answers with the same columns.
    server = osquery_server(missing=("battery",))
    native_rows = {"battery": [{"percent_remaining": "55", "cycle_count": "12"}]}
    backend = make_backend("auto", server.path, providers=fixture_providers(native_rows))

    assert isinstance(backend, CombinedBackend)
    assert backend.query("SELECT cycle_count FROM battery") == [{"cycle_count": "12"}]
    assert backend.query("SELECT hardware_model FROM system_info") == [{"hardware_model": "82VR"}]
    assert any("battery" in q for q in server.handler.queries)  # osquery was asked first
    backend.close()


def test_never_mode_and_missing_socket_use_native(tmp_path):
    assert isinstance(make_backend("never", str(tmp_path / "x.em")), NativeBackend)
    assert isinstance(
        make_backend("auto", str(tmp_path / "x.em"), binary=str(tmp_path / "no-osqueryd")),
        NativeBackend,
    )
    with pytest.raises(QueryError):
        make_backend("always", str(tmp_path / "x.em"), binary=str(tmp_path / "no-osqueryd"))


def test_reconnects_after_the_osquery_restarts(osquery_server):
    first = osquery_server()
    backend = OsqueryBackend(first.path, timeout=0.5)
    assert backend.query("SELECT uuid FROM system_info")
    first.stop()
    # osqueryd restarted on the same socket path
    import os

    os.unlink(first.path)
    from .conftest import FIXTURE_ROWS, ExtensionManagerHandler, ThriftOsquery

    ThriftOsquery(ExtensionManagerHandler(FIXTURE_ROWS), first.path).start()

    assert backend.query("SELECT uuid FROM system_info") == [
        {"uuid": "4C4C4544-0042-3510-8052-B4C04F4A3732"}
    ]


def test_agent_host_details_and_schedule_through_osquery(osquery_server, agent_settings):
    server = osquery_server()
    settings = agent_settings(osquery="always", osquery_socket=server.path, host_identifier="uuid")
    agent = Agent(settings, backend=make_backend("always", server.path))

    details = agent.host_details()
    assert details["system_info"]["hardware_serial"] == "PF3AGENT1"
    assert details["os_version"]["platform"] == "ubuntu"
    assert agent.host_identifier() == "4C4C4544-0042-3510-8052-B4C04F4A3732"

    assert agent.run_query("minot_disk", DEFAULT_QUERIES["minot_disk"])
    _type, _ids, lines = agent.spool.peek(max_lines=10, max_bytes=100000)
    assert lines[0]["snapshot"] == [{"total_bytes": "122880000000", "free_bytes": "45056000000"}]
    agent.close()


def test_check_command_through_osquery(osquery_server, capsys):
    server = osquery_server()

    code = cli.main(["check", "--osquery", "always", "--osquery-socket", server.path])

    assert code == 0
    output = json.loads(capsys.readouterr().out)
    assert output["backend"] == "osquery"
    assert output["results"]["minot_system"][0]["hardware_serial"] == "PF3AGENT1"
    assert output["results"]["minot_os"][0]["name"] == "Ubuntu"
    assert output["host_details"]["platform_info"]["vendor"] == "LENOVO"


def test_battery_extension_registers_with_osquery_and_serves_the_table(osquery_server, tmp_path):
    """``minot-agent extension`` (osquery-python's start_extension) against the manager."""
    import os
    import subprocess
    import sys
    import time

    from osquery import ExtensionClient

    supply = tmp_path / "power_supply" / "BAT0"
    supply.mkdir(parents=True)
    for name, value in {
        "type": "Battery",
        "status": "Charging",
        "capacity": "64",
        "cycle_count": "230",
        "charge_full_design": "4000000",
        "charge_full": "3600000",
        "charge_now": "2300000",
    }.items():
        (supply / name).write_text(value + "\n")
    server = osquery_server()
    env = dict(os.environ, MINOT_POWER_SUPPLY_DIR=str(tmp_path / "power_supply"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "minot_agent",
            "extension",
            "--socket",
            server.path,
            "--interval",
            "1",
            "--timeout",
            "3",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(server.path + ".1"):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        ((info, registry),) = server.handler.registered
        assert info.name == "minot_battery"
        assert "battery" in registry["table"]

        client = ExtensionClient(path=server.path, uuid=1)
        assert client.open(timeout=5)
        response = client.extension_client().call(
            "table", "battery", {"action": "generate", "context": "{}"}
        )
        assert response.status.code == 0
        (row,) = response.response
        assert (row["percent_remaining"], row["cycle_count"], row["charging"]) == ("64", "230", "1")
        assert (row["designed_capacity"], row["max_capacity"]) == ("4000", "3600")
        columns = client.extension_client().call("table", "battery", {"action": "columns"})
        assert {c["name"] for c in columns.response} >= {"cycle_count", "designed_capacity"}
        client.close()

        # osqueryd goes away: the extension's watchdog ends it
        server.stop()
        assert process.wait(15) != 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
