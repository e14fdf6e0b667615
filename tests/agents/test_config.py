"""Settings precedence: file < environment < flags; https required unless --insecure-http."""

from __future__ import annotations

import pytest
from minot_agent.config import ConfigError, load_settings


def write(tmp_path, text):
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return str(path)


def test_flags_override_environment_which_overrides_the_file(tmp_path):
    path = write(
        tmp_path,
        'server = "https://file.example"\nstate_dir = "/file/state"\n'
        'enroll_secret = "from-file-secret"\nspool_max_entries = 500\n',
    )
    environ = {"MINOT_SERVER": "https://env.example", "MINOT_STATE_DIR": "/env/state"}

    settings = load_settings(
        config_path=path, environ=environ, flags={"server": "https://flag.example"}
    )

    assert settings.server == "https://flag.example"
    assert settings.state_dir == "/env/state"
    assert settings.enroll_secret == "from-file-secret"
    assert settings.spool_max_entries == 500


def test_config_path_from_environment_and_agent_table(tmp_path):
    path = write(tmp_path, '[agent]\nserver = "https://table.example"\ninsecure-http = true\n')

    settings = load_settings(environ={"MINOT_CONFIG": path})

    assert settings.server == "https://table.example"
    assert settings.insecure_http is True


def test_enroll_secret_file_is_read_and_trimmed(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("  demo-enroll-secret\n")

    settings = load_settings(environ={"MINOT_ENROLL_SECRET_FILE": str(secret)})

    assert settings.enroll_secret_value() == "demo-enroll-secret"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server = ", "not valid TOML"),
        ('unknown_key = "x"', "unknown setting"),
        ('spool_max_entries = "many"', "spool_max_entries"),
        ('insecure_http = "maybe"', "insecure_http"),
    ],
)
def test_bad_config_files_are_explained(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(config_path=write(tmp_path, text), environ={})


def test_plain_http_needs_insecure_http():
    settings = load_settings(
        environ={"MINOT_SERVER": "http://127.0.0.1:8000", "MINOT_ENROLL_SECRET": "s"}
    )
    with pytest.raises(ConfigError, match="plain http is refused"):
        settings.validate_for_network()

    settings = load_settings(
        environ={"MINOT_SERVER": "http://127.0.0.1:8000", "MINOT_ENROLL_SECRET": "s"},
        flags={"insecure_http": True},
    )
    settings.validate_for_network()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no server"),
        ({"MINOT_SERVER": "ftp://x"}, "https://"),
        ({"MINOT_SERVER": "https://x"}, "no enroll secret"),
        (
            {"MINOT_SERVER": "https://x", "MINOT_ENROLL_SECRET": "s", "MINOT_CA_BUNDLE": "/nope"},
            "CA bundle not found",
        ),
    ],
)
def test_network_settings_are_checked(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=environ).validate_for_network()


def test_environment_booleans_and_choices():
    settings = load_settings(
        environ={"MINOT_INSECURE_HTTP": "yes", "MINOT_HOST_IDENTIFIER": "instance"}
    )
    assert settings.insecure_http is True
    with pytest.raises(ConfigError, match="host_identifier"):
        load_settings(environ={"MINOT_HOST_IDENTIFIER": "mac"})
