# ruff: noqa: F811 - the `server` fixture is imported from test_protocol
"""The agent sends no host names, gzips and caps live answers, drops an answer the server never
takes (with a status line), and keeps one back-off per task (issue 14)."""

from __future__ import annotations

import json
import time

import pytest
from minot_agent import agent as agent_module
from minot_agent.agent import Agent
from minot_agent.transport import TransportError

from .test_protocol import OsqueryTestServer, requests_to, server  # noqa: F401 - fixture


def test_enroll_and_logs_carry_no_host_names(server, agent_settings, fixture_backend):
    agent = Agent(agent_settings(server, host_identifier="instance"), backend=fixture_backend)
    agent.run_once()
    (enroll,) = requests_to("/enroll")
    system = enroll["body"]["host_details"]["system_info"]
    assert not {"hostname", "computer_name", "local_hostname"} & set(system)
    identifier = enroll["body"]["host_identifier"]
    assert len(identifier) == 36 and identifier == agent.host_identifier()  # a random id, kept
    assert enroll["body"]["host_details"]["osquery_info"]["instance_id"] == identifier
    everything = json.dumps([r["body"] for r in OsqueryTestServer.requests])
    assert "chariot-a-07" not in everything
    agent.close()


def test_a_placeholder_uuid_is_not_used_as_identifier(server, agent_settings, fixture_backend):
    fixture_backend.providers["system_info"] = lambda: [
        {"uuid": "03000200-0400-0500-0006-000700080009", "hardware_serial": "Default string"}
    ]
    agent = Agent(agent_settings(server, host_identifier="uuid"), backend=fixture_backend)
    assert agent.host_identifier() == agent.instance_id() != "03000200-0400-0500-0006-000700080009"
    agent.close()


def test_live_answers_are_gzipped_and_capped(server, agent_settings, fixture_backend, monkeypatch):
    monkeypatch.setattr(agent_module, "MAX_LIVE_ROWS", 3)
    fixture_backend.providers["deb_packages"] = lambda: [
        {"name": f"p{n}", "version": "1"} for n in range(50)
    ]
    OsqueryTestServer.answers["/distributed/read"] = {
        "queries": {"lq-1": "SELECT name, version FROM deb_packages"}
    }
    agent = Agent(agent_settings(server), backend=fixture_backend)
    assert agent.distributed() == 1
    (write,) = requests_to("/distributed/write")
    assert write["gzip"] is True
    assert write["body"]["queries"]["lq-1"] == [{"name": f"p{n}", "version": "1"} for n in range(3)]
    agent.close()


def test_an_answer_the_server_never_takes_is_dropped_with_a_status_line(
    server,
    agent_settings,
    fixture_backend,
):
    OsqueryTestServer.answers["/distributed/read"] = {
        "queries": {"lq-7": "SELECT name FROM os_version"}
    }
    agent = Agent(agent_settings(server), backend=fixture_backend)
    for _attempt in range(agent_module.MAX_WRITE_ATTEMPTS):
        OsqueryTestServer.fail_write_once = True
        with pytest.raises(TransportError):
            agent.distributed()
        OsqueryTestServer.answers["/distributed/read"] = {"queries": {}}
    # then: dropped, a status line says so, the next poll is free
    assert agent.pending_write is None
    assert len(requests_to("/distributed/write")) == agent_module.MAX_WRITE_ATTEMPTS
    assert agent.distributed() == 0
    agent.flush()
    statuses = [
        line["message"]
        for r in requests_to("/log")
        if r["body"]["log_type"] == "status"
        for line in r["body"]["data"]
    ]
    assert any("dropped" in m and "lq-7" in m for m in statuses)
    agent.close()


def test_one_tasks_success_never_resets_another_tasks_back_off(
    server,
    agent_settings,
    fixture_backend,
):
    agent = Agent(agent_settings(server), backend=fixture_backend)
    far = time.monotonic() + 300
    agent.failures["flush"] = 4
    agent.next_due["flush"] = far
    # when: the config succeeds
    agent._run_task("config")
    # then: the log sender keeps its own back-off
    assert agent.failures["config"] == 0
    assert agent.failures["flush"] == 4 and agent.next_due["flush"] == far
    agent.close()
