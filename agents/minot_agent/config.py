"""Settings: TOML file < environment variables < command-line flags."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9/3.10 only
    import tomli as tomllib

DEFAULT_CONFIG_PATH = "/etc/minot-agent/agent.toml"
DEFAULT_STATE_DIR = "/var/lib/minot-agent"


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclasses.dataclass
class Settings:
    server: str = ""
    enroll_secret: str = ""
    enroll_secret_file: str = ""
    state_dir: str = ""
    insecure_http: bool = False
    ca_bundle: str = ""
    api_prefix: str = "/api/osquery"
    host_identifier: str = "uuid"  # uuid | instance | specified (never the hostname)
    specified_identifier: str = ""
    osquery: str = "auto"  # auto | never | always
    osquery_socket: str = ""
    osquery_binary: str = ""
    request_timeout: float = 30.0
    spool_max_entries: int = 10000
    spool_max_bytes: int = 20 * 1024 * 1024
    batch_max_lines: int = 1024
    batch_max_bytes: int = 512 * 1024
    config_refresh: float = 300.0
    distributed_interval: float = 60.0
    logger_period: float = 60.0
    min_interval: float = 10.0
    jitter: float = 0.1
    backoff_max: float = 600.0
    log_level: str = "info"
    log_format: str = "json"  # json | text

    def enroll_secret_value(self) -> str:
        if self.enroll_secret:
            return self.enroll_secret.strip()
        if self.enroll_secret_file:
            try:
                return Path(self.enroll_secret_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read enroll secret file {self.enroll_secret_file}: {exc}"
                )
        return ""

    def resolved_state_dir(self) -> str:
        if self.state_dir:
            return self.state_dir
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            return DEFAULT_STATE_DIR
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "state"
        )
        return os.path.join(base, "minot-agent")

    def validate_for_network(self) -> None:
        """Checks needed before talking to a server (``check`` needs none of this)."""
        if not self.server:
            raise ConfigError(
                "no server: set --server, MINOT_SERVER or `server` in the config file"
            )
        scheme = self.server.split("://", 1)[0].lower() if "://" in self.server else ""
        if scheme not in ("https", "http"):
            raise ConfigError(f"server must be an https:// URL, got {self.server!r}")
        if scheme == "http" and not self.insecure_http:
            raise ConfigError(
                "plain http is refused: use https, or --insecure-http for local testing only"
            )
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise ConfigError(f"CA bundle not found: {self.ca_bundle}")
        if not self.enroll_secret_value():
            raise ConfigError(
                "no enroll secret: set --enroll-secret, --enroll-secret-file, MINOT_ENROLL_SECRET"
                " or MINOT_ENROLL_SECRET_FILE"
            )


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}

# environment variable -> setting
ENVIRONMENT = {
    "MINOT_SERVER": "server",
    "MINOT_ENROLL_SECRET": "enroll_secret",
    "MINOT_ENROLL_SECRET_FILE": "enroll_secret_file",
    "MINOT_STATE_DIR": "state_dir",
    "MINOT_INSECURE_HTTP": "insecure_http",
    "MINOT_CA_BUNDLE": "ca_bundle",
    "MINOT_HOST_IDENTIFIER": "host_identifier",
    "MINOT_OSQUERY": "osquery",
    "MINOT_OSQUERY_SOCKET": "osquery_socket",
    "MINOT_LOG_LEVEL": "log_level",
    "MINOT_LOG_FORMAT": "log_format",
    "MINOT_MIN_INTERVAL": "min_interval",
    "MINOT_BACKOFF_MAX": "backoff_max",
    "MINOT_SPOOL_MAX_ENTRIES": "spool_max_entries",
}


def _coerce(name: str, value: Any) -> Any:
    field = FIELDS[name]
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name!r}: invalid value {value!r} (expected {kind})")


def load_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}")
    # Accept both a flat file and an [agent] table.
    if isinstance(data.get("agent"), dict):
        data = {**{k: v for k, v in data.items() if k != "agent"}, **data["agent"]}
    values = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in FIELDS:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
        values[name] = _coerce(name, value)
    return values


def load_settings(
    *,
    config_path: str | None = None,
    environ: dict[str, str] | None = None,
    flags: dict[str, Any] | None = None,
) -> Settings:
    """Build settings: the file, then the environment, then flags (each overrides the previous)."""
    environ = os.environ if environ is None else environ
    flags = flags or {}
    values: dict[str, Any] = {}
    path = config_path or environ.get("MINOT_CONFIG")
    if path:
        values.update(load_file(path))
    elif os.path.isfile(DEFAULT_CONFIG_PATH):
        values.update(load_file(DEFAULT_CONFIG_PATH))
    for variable, name in ENVIRONMENT.items():
        if variable in environ and environ[variable] != "":
            values[name] = _coerce(name, environ[variable])
    for name, value in flags.items():
        if value is not None:
            values[name] = _coerce(name, value)
    settings = Settings(**values)
    if settings.host_identifier not in ("uuid", "instance", "specified"):
        raise ConfigError(
            "host_identifier must be uuid, instance or specified (never hostname: host names"
            " often carry a child's name)"
        )
    if settings.host_identifier == "specified" and not settings.specified_identifier:
        raise ConfigError("host_identifier = specified needs specified_identifier")
    if settings.osquery not in ("auto", "never", "always"):
        raise ConfigError("osquery must be auto, never or always")
    if settings.log_format not in ("json", "text"):
        raise ConfigError("log_format must be json or text")
    return settings
