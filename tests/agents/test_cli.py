"""The ``minot-agent`` command: check (no network), configuration errors, run --once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from minot_agent import cli


def agent(*args, env=None, timeout=60):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MINOT_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "minot_agent", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )


def test_check_prints_one_collection_as_json_without_network():
    result = agent("check", "--osquery", "never")

    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["backend"] == "native"
    assert set(output["results"]) == {
        "minot_system",
        "minot_os",
        "minot_battery",
        "minot_disk",
        "minot_apps",
        "minot_network",
    }
    assert output["results"]["minot_os"][0]["name"]
    assert output["host_details"]["osquery_info"]["build_distro"] == "minot-agent"
    assert output["errors"] == {}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["run", "--once"], {}, "no server"),
        (
            ["run", "--once", "--server", "http://127.0.0.1:9"],
            {"MINOT_ENROLL_SECRET": "s"},
            "plain http is refused",
        ),
        (["run", "--once", "--server", "https://x.invalid"], {}, "no enroll secret"),
        (["run", "--config", "/nonexistent.toml"], {}, "cannot read config file"),
    ],
)
def test_configuration_errors_exit_2_with_a_message(args, env, message, tmp_path):
    result = agent(*args, "--state-dir", str(tmp_path), env=env)

    assert result.returncode == 2
    assert message in result.stderr


def test_run_once_against_an_unreachable_server_fails_with_non_zero(tmp_path):
    result = agent(
        "run",
        "--once",
        "--server",
        "http://127.0.0.1:9",
        "--insecure-http",
        "--enroll-secret",
        "school-secret-0001",
        "--state-dir",
        str(tmp_path / "state"),
        "--osquery",
        "never",
    )

    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(line["message"] == "config failed" for line in lines)  # structured JSON logs
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_version(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert "minot-agent 0.1.0" in capsys.readouterr().out
