"""The osquery configuration each device fetches, built per school (cached)."""

from __future__ import annotations

from typing import Any

from .. import conf
from ..cache import fleet_cache
from ..models import SchoolFleetSettings

DISK_POSIX = (
    "SELECT path, blocks * blocks_size AS total_bytes, blocks_available * blocks_size AS free_bytes "
    "FROM mounts WHERE path = '/';"
)
DISK_WINDOWS = (
    "SELECT device_id AS path, size AS total_bytes, free_space AS free_bytes FROM logical_drives "
    "WHERE device_id = 'C:';"
)


BATTERY = (
    "SELECT percent_remaining, cycle_count, designed_capacity, max_capacity, charging FROM battery;"
)
# Options osquery reads from the command line or flagfile only (CLI_FLAG in osquery's source):
# sent in a config they are ignored, so they belong in the flagfile (fleet/onboarding.py).
CLI_ONLY_OPTIONS = {
    "config_refresh",
    "config_tls_refresh",
    "config_plugin",
    "logger_plugin",
    "distributed_plugin",
    "disable_distributed",
    "host_identifier",
    "enroll_secret_path",
    "tls_hostname",
    "tls_server_certs",
}


def school_settings(school_id: int | None) -> SchoolFleetSettings:
    found = SchoolFleetSettings.objects.filter(school_id=school_id).first() if school_id else None
    return found or SchoolFleetSettings(school_id=school_id)  # type: ignore[misc]  # unsaved defaults


def config_build(*, school_id: int | None) -> dict[str, Any]:
    settings = school_settings(school_id)
    every = max(int(settings.inventory_interval), 300)

    def q(query: str, interval: int, **extra: Any) -> dict[str, Any]:
        return {"query": query, "interval": interval, "snapshot": True, **extra}

    return {
        "options": {
            "distributed_interval": conf.get("FLEET_DISTRIBUTED_INTERVAL"),
            "logger_tls_period": conf.get("FLEET_LOGGER_TLS_PERIOD"),
            "logger_tls_compress": True,
            "logger_tls_max_lines": 1024,
            "schedule_splay_percent": 10,
        },
        "decorators": {"load": ["SELECT hardware_serial AS serial_number FROM system_info;"]},
        "schedule": {
            "minot_system": q(
                "SELECT hardware_serial, uuid, hardware_vendor, hardware_model, cpu_brand, physical_memory "
                "FROM system_info;",
                every * 6,
            ),
            "minot_os": q(
                "SELECT o.name, o.version, o.major, o.minor, o.patch, o.build, o.platform, "
                "i.version AS osquery_version FROM os_version o, osquery_info i;",
                every,
            ),
            # osquery's battery table exists on macOS and Windows only (specs/macwin/battery.table)
            "minot_battery": q(BATTERY, every, platform="darwin,windows"),
            "minot_disk_posix": q(DISK_POSIX, every, platform="posix"),
            "minot_disk_windows": q(DISK_WINDOWS, every, platform="windows"),
            "minot_apps_darwin": q(
                "SELECT name, bundle_short_version AS version FROM apps;",
                every * 24,
                platform="darwin",
            ),
            "minot_apps_windows": q(
                "SELECT name, version FROM programs;", every * 24, platform="windows"
            ),
            "minot_apps_linux": q(
                "SELECT name, version FROM deb_packages;", every * 24, platform="linux"
            ),
            "minot_network": q(
                "SELECT d.interface, d.mac, a.address FROM interface_details d "
                "LEFT JOIN interface_addresses a ON a.interface = d.interface AND a.address NOT LIKE '%:%' "
                "WHERE d.interface NOT LIKE 'lo%';",
                every * 6,
            ),
        },
        "packs": {
            # Linux: only where the Minot agent's extension provides a battery table.
            "minot_linux_battery": {
                "platform": "linux",
                "discovery": [
                    "SELECT 1 FROM osquery_registry WHERE registry = 'table' AND name = 'battery';"
                ],
                "queries": {"minot_battery": q(BATTERY, every)},
            }
        },
    }


def config_for_school(school_id: int | None) -> dict[str, Any]:
    key = f"fleet:config:{school_id}"
    config = fleet_cache().get(key)
    if config is None:
        config = config_build(school_id=school_id)
        fleet_cache().set(key, config, 60)
    return config
