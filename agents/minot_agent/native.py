"""Native collectors: osquery tables (same names and columns) read without osquery.

Each table is a function returning a list of rows (dicts of strings). ``NativeBackend`` runs
the server's SQL unchanged against an in-memory SQLite database holding just the tables the
query names, so a query written for osquery works the same here.
"""

from __future__ import annotations

import glob
import os
import platform
import re
import socket
import sqlite3
import struct
import sys
import time
import uuid as uuid_module
from typing import Callable

from . import __version__

Row = dict[str, str]

TABLE_COLUMNS: dict[str, list[str]] = {
    "system_info": [
        "hostname",
        "uuid",
        "cpu_type",
        "cpu_subtype",
        "cpu_brand",
        "cpu_physical_cores",
        "cpu_logical_cores",
        "cpu_microcode",
        "physical_memory",
        "hardware_vendor",
        "hardware_model",
        "hardware_version",
        "hardware_serial",
        "board_vendor",
        "board_model",
        "board_version",
        "board_serial",
        "computer_name",
        "local_hostname",
    ],
    "os_version": [
        "name",
        "version",
        "major",
        "minor",
        "patch",
        "build",
        "platform",
        "platform_like",
        "codename",
        "arch",
    ],
    "osquery_info": [
        "pid",
        "uuid",
        "instance_id",
        "version",
        "config_hash",
        "config_valid",
        "extensions",
        "build_platform",
        "build_distro",
        "start_time",
        "watcher",
        "platform_mask",
    ],
    "platform_info": ["vendor", "version", "date", "revision", "extra", "firmware_type"],
    "battery": [
        "manufacturer",
        "model",
        "serial_number",
        "cycle_count",
        "health",
        "condition",
        "state",
        "charging",
        "charged",
        "designed_capacity",
        "max_capacity",
        "current_capacity",
        "percent_remaining",
        "amperage",
        "voltage",
        "minutes_until_empty",
        "minutes_to_full_charge",
        "chemistry",
    ],
    "mounts": [
        "device",
        "device_alias",
        "path",
        "type",
        "blocks_size",
        "blocks",
        "blocks_free",
        "blocks_available",
        "inodes",
        "inodes_free",
        "flags",
    ],
    "logical_drives": [
        "device_id",
        "type",
        "description",
        "free_space",
        "size",
        "file_system",
        "boot_partition",
    ],
    "deb_packages": [
        "name",
        "version",
        "source",
        "size",
        "arch",
        "revision",
        "status",
        "maintainer",
        "section",
        "priority",
    ],
    "rpm_packages": [
        "name",
        "version",
        "release",
        "source",
        "size",
        "sha1",
        "arch",
        "epoch",
        "install_time",
        "vendor",
        "package_group",
    ],
    "apps": ["name", "path", "bundle_identifier", "bundle_short_version", "bundle_version"],
    "programs": ["name", "version", "install_location", "install_source", "publisher"],
    "interface_addresses": [
        "interface",
        "address",
        "mask",
        "broadcast",
        "point_to_point",
        "type",
    ],
    "interface_details": ["interface", "mac", "type", "mtu", "flags", "link_speed"],
    "uptime": ["days", "hours", "minutes", "seconds", "total_seconds"],
}

_START_TIME = int(time.time())
_INSTANCE_ID = str(uuid_module.uuid4())


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def platform_name() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "darwin"
    if sys.platform.startswith("win"):
        return "windows"
    return sys.platform


def platform_mask() -> str:
    """osquery's platform_type bitmask as a string (POSIX 1, WINDOWS 2, BSD 4, LINUX 8, OSX 16)."""
    name = platform_name()
    if name == "linux":
        return "9"
    if name == "darwin":
        return "21"
    if name == "windows":
        return "2"
    return "1"


def machine_uuid() -> str:
    for path in ("/sys/class/dmi/id/product_uuid", "/etc/machine-id", "/var/lib/dbus/machine-id"):
        value = _read(path)
        if value:
            if len(value) == 32 and "-" not in value:
                value = str(uuid_module.UUID(value))
            return value.upper()
    return ""


def _meminfo_bytes() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return str(int(parts[1]) * 1024)
    try:
        return str(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return ""


def _cpu_brand() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def system_info() -> list[Row]:
    dmi = "/sys/class/dmi/id/"
    # Host names often carry a child's name: the agent never reads them (the columns stay, empty,
    # so queries written for osquery still run).
    return [
        {
            "hostname": "",
            "uuid": machine_uuid(),
            "cpu_type": platform.machine(),
            "cpu_subtype": "",
            "cpu_brand": _cpu_brand(),
            "cpu_physical_cores": "",
            "cpu_logical_cores": str(os.cpu_count() or ""),
            "cpu_microcode": "",
            "physical_memory": _meminfo_bytes(),
            "hardware_vendor": _read(dmi + "sys_vendor"),
            "hardware_model": _read(dmi + "product_name"),
            "hardware_version": _read(dmi + "product_version"),
            "hardware_serial": _read(dmi + "product_serial"),
            "board_vendor": _read(dmi + "board_vendor"),
            "board_model": _read(dmi + "board_name"),
            "board_version": _read(dmi + "board_version"),
            "board_serial": _read(dmi + "board_serial"),
            "computer_name": "",
            "local_hostname": "",
        }
    ]


def _os_release() -> dict[str, str]:
    values = {}
    text = _read("/etc/os-release") or _read("/usr/lib/os-release")
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip('"')
    return values


def os_version() -> list[Row]:
    name = platform_name()
    row = dict.fromkeys(TABLE_COLUMNS["os_version"], "")
    row["arch"] = platform.machine()
    if name == "linux":
        release = _os_release()
        row["name"] = release.get("NAME", "Linux")
        row["version"] = release.get("VERSION", release.get("VERSION_ID", ""))
        row["platform"] = release.get("ID", "linux")
        row["platform_like"] = release.get("ID_LIKE", "")
        row["codename"] = release.get("VERSION_CODENAME", "")
        version_id = release.get("VERSION_ID", "")
    elif name == "darwin":
        version_id = platform.mac_ver()[0]
        row.update(name="macOS", version=version_id, platform="darwin", platform_like="darwin")
    elif name == "windows":
        version_id = platform.version()
        row.update(name=f"Windows {platform.release()}", version=version_id, platform="windows")
        row["platform_like"] = "windows"
    else:
        version_id = platform.release()
        row.update(name=platform.system(), version=version_id, platform=name)
    numbers = re.findall(r"\d+", version_id)
    for key, number in zip(("major", "minor", "patch"), numbers):
        row[key] = number
    if name == "windows" and len(numbers) >= 3:
        row["build"] = numbers[2]
    return [row]


def osquery_info() -> list[Row]:
    return [
        {
            "pid": str(os.getpid()),
            "uuid": machine_uuid(),
            "instance_id": _INSTANCE_ID,
            # not an osquery release number: the server shows which agent reports
            "version": f"{__version__}-minot",
            "config_hash": "",
            "config_valid": "1",
            "extensions": "inactive",
            "build_platform": platform_name(),
            "build_distro": "minot-agent",
            "start_time": str(_START_TIME),
            "watcher": "-1",
            "platform_mask": platform_mask(),
        }
    ]


def platform_info() -> list[Row]:
    dmi = "/sys/class/dmi/id/"
    firmware = "uefi" if os.path.isdir("/sys/firmware/efi") else "bios"
    return [
        {
            "vendor": _read(dmi + "bios_vendor"),
            "version": _read(dmi + "bios_version"),
            "date": _read(dmi + "bios_date"),
            "revision": _read(dmi + "bios_release"),
            "extra": "",
            "firmware_type": firmware if platform_name() == "linux" else "",
        }
    ]


def _int(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _battery_row(directory: str) -> Row | None:
    def value(name: str) -> str:
        return _read(os.path.join(directory, name))

    if value("type") != "Battery" or value("scope") == "Device":
        return None
    status = value("status")  # Charging / Discharging / Full / Not charging / Unknown
    voltage_uv = _int(value("voltage_now"))
    voltage_design_uv = _int(value("voltage_min_design")) or voltage_uv

    def capacity_mah(charge_name: str, energy_name: str) -> str:
        charge = _int(value(charge_name))
        if charge is not None:
            return str(charge // 1000)  # µAh -> mAh
        energy = _int(value(energy_name))
        if energy is not None and voltage_design_uv:
            return str(int(energy * 1000 / voltage_design_uv))  # µWh / µV -> mAh
        return ""

    current_ua = _int(value("current_now"))
    if current_ua is None:
        power_uw = _int(value("power_now"))
        if power_uw is not None and voltage_uv:
            current_ua = int(power_uw * 1_000_000 / voltage_uv)
    amperage = ""
    if current_ua is not None:
        amperage = str(-abs(current_ua) // 1000 if status == "Discharging" else current_ua // 1000)
    health = ""
    design = _int(capacity_mah("charge_full_design", "energy_full_design"))
    full = _int(capacity_mah("charge_full", "energy_full"))
    if design and full is not None:
        ratio = full / design
        health = "Good" if ratio >= 0.8 else ("Fair" if ratio >= 0.5 else "Poor")
    return {
        "manufacturer": value("manufacturer"),
        "model": value("model_name"),
        "serial_number": value("serial_number"),
        "cycle_count": value("cycle_count"),
        "health": health,
        "condition": "",
        "state": status,
        "charging": "1" if status == "Charging" else "0",
        "charged": "1" if status == "Full" else "0",
        "designed_capacity": capacity_mah("charge_full_design", "energy_full_design"),
        "max_capacity": capacity_mah("charge_full", "energy_full"),
        "current_capacity": capacity_mah("charge_now", "energy_now"),
        "percent_remaining": value("capacity"),
        "amperage": amperage,
        "voltage": str(voltage_uv // 1000) if voltage_uv is not None else "",
        "minutes_until_empty": "",
        "minutes_to_full_charge": "",
        "chemistry": value("technology"),
    }


POWER_SUPPLY_DIR = os.environ.get("MINOT_POWER_SUPPLY_DIR", "/sys/class/power_supply")


def battery() -> list[Row]:
    """Linux batteries from /sys/class/power_supply (osquery's table is macOS/Windows only)."""
    rows = []
    for directory in sorted(glob.glob(os.path.join(POWER_SUPPLY_DIR, "*"))):
        row = _battery_row(directory)
        if row is not None:
            rows.append(row)
    return rows


def mounts() -> list[Row]:
    """The root mount only (disk space of the system disk); statvfs on every mount could hang."""
    root = os.path.abspath(os.sep)
    device, fstype, flags = "", "", ""
    for line in _read("/proc/mounts").splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "/":
            device, fstype, flags = parts[0], parts[2], parts[3]
    try:
        stats = os.statvfs(root)
    except (OSError, AttributeError):
        return []
    return [
        {
            "device": device,
            "device_alias": device,
            "path": root,
            "type": fstype,
            "blocks_size": str(stats.f_frsize),
            "blocks": str(stats.f_blocks),
            "blocks_free": str(stats.f_bfree),
            "blocks_available": str(stats.f_bavail),
            "inodes": str(stats.f_files),
            "inodes_free": str(stats.f_ffree),
            "flags": flags,
        }
    ]


def logical_drives() -> list[Row]:
    if platform_name() != "windows":
        return []
    import shutil

    drive = os.environ.get("SystemDrive", "C:")
    usage = shutil.disk_usage(drive + "\\")
    return [
        {
            "device_id": drive,
            "type": "Local Disk",
            "description": "",
            "free_space": str(usage.free),
            "size": str(usage.total),
            "file_system": "",
            "boot_partition": "1",
        }
    ]


DPKG_STATUS = "/var/lib/dpkg/status"


def deb_packages() -> list[Row]:
    rows: list[Row] = []
    try:
        handle = open(DPKG_STATUS, encoding="utf-8", errors="replace")
    except OSError:
        return rows
    fields = {
        "Package": "name",
        "Version": "version",
        "Source": "source",
        "Installed-Size": "size",
        "Architecture": "arch",
        "Status": "status",
        "Maintainer": "maintainer",
        "Section": "section",
        "Priority": "priority",
    }
    current: dict[str, str] = {}

    def flush() -> None:
        if current.get("name") and current.get("status", "").endswith(" installed"):
            row = dict.fromkeys(TABLE_COLUMNS["deb_packages"], "")
            row.update(current)
            version = row["version"]
            if "-" in version:
                row["revision"] = version.rsplit("-", 1)[1]
            rows.append(row)
        current.clear()

    with handle:
        for line in handle:
            if line == "\n":
                flush()
            elif not line.startswith((" ", "\t")) and ":" in line:
                key, value = line.split(":", 1)
                name = fields.get(key)
                if name:
                    current[name] = value.strip()
    flush()
    return rows


def rpm_packages() -> list[Row]:
    if not any(os.path.exists(p) for p in ("/usr/bin/rpm", "/bin/rpm")) or os.path.exists(
        DPKG_STATUS
    ):
        return []
    import subprocess

    fmt = "%{NAME}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SIZE}\t%{VENDOR}\t%{INSTALLTIME}\n"
    output = subprocess.run(
        ["rpm", "-qa", "--queryformat", fmt], capture_output=True, text=True, timeout=60
    ).stdout
    rows = []
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) != 7:
            continue
        row = dict.fromkeys(TABLE_COLUMNS["rpm_packages"], "")
        row.update(
            name=parts[0],
            version=parts[1],
            release=parts[2],
            arch=parts[3],
            size=parts[4],
            vendor=parts[5],
            install_time=parts[6],
        )
        rows.append(row)
    return rows


def apps() -> list[Row]:
    """macOS applications (best effort: /Applications/*.app Info.plist)."""
    if platform_name() != "darwin":
        return []
    import plistlib

    rows = []
    for path in sorted(glob.glob("/Applications/*.app")):
        try:
            with open(os.path.join(path, "Contents", "Info.plist"), "rb") as handle:
                info = plistlib.load(handle)
        except Exception:  # noqa: BLE001 - one broken bundle must not stop the others
            continue
        rows.append(
            {
                "name": os.path.basename(path),
                "path": path,
                "bundle_identifier": str(info.get("CFBundleIdentifier", "")),
                "bundle_short_version": str(info.get("CFBundleShortVersionString", "")),
                "bundle_version": str(info.get("CFBundleVersion", "")),
            }
        )
    return rows


def programs() -> list[Row]:
    """Windows installed programs from the Uninstall registry keys (best effort)."""
    if platform_name() != "windows":
        return []
    import winreg  # type: ignore[import-not-found]

    rows = []
    keys = [
        (winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"),
        (
            winreg.HKEY_LOCAL_MACHINE,
            r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
        ),
    ]
    for hive, path in keys:
        try:
            root = winreg.OpenKey(hive, path)
        except OSError:
            continue
        for index in range(winreg.QueryInfoKey(root)[0]):
            try:
                sub = winreg.OpenKey(root, winreg.EnumKey(root, index))

                def get(name: str, sub=sub) -> str:
                    try:
                        return str(winreg.QueryValueEx(sub, name)[0])
                    except OSError:
                        return ""

                if get("DisplayName"):
                    rows.append(
                        {
                            "name": get("DisplayName"),
                            "version": get("DisplayVersion"),
                            "install_location": get("InstallLocation"),
                            "install_source": get("InstallSource"),
                            "publisher": get("Publisher"),
                        }
                    )
            except OSError:
                continue
    return rows


def _ipv4_for(name: str) -> list[Row]:
    import fcntl

    rows = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        packed = struct.pack("256s", name.encode()[:15])
        try:
            address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), 0x8915, packed)[20:24])
        except OSError:
            return rows
        try:
            mask = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), 0x891B, packed)[20:24])
        except OSError:
            mask = ""
        try:
            broadcast = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), 0x8919, packed)[20:24])
        except OSError:
            broadcast = ""
        rows.append(
            {
                "interface": name,
                "address": address,
                "mask": mask,
                "broadcast": broadcast,
                "point_to_point": "",
                "type": "unknown",
            }
        )
    finally:
        sock.close()
    return rows


def interface_addresses() -> list[Row]:
    rows: list[Row] = []
    if platform_name() != "linux":
        try:
            host = socket.gethostname()
            for info in socket.getaddrinfo(host, None):
                rows.append(
                    {
                        "interface": "",
                        "address": info[4][0],
                        "mask": "",
                        "broadcast": "",
                        "point_to_point": "",
                        "type": "unknown",
                    }
                )
        except OSError:
            pass
        return rows
    for _index, name in socket.if_nameindex():
        rows.extend(_ipv4_for(name))
    for line in _read("/proc/net/if_inet6").splitlines():
        parts = line.split()
        if len(parts) < 6:
            continue
        raw, prefix, name = parts[0], int(parts[2], 16), parts[5]
        address = ":".join(raw[i : i + 4] for i in range(0, 32, 4))
        address = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, address))
        mask_bits = (1 << 128) - (1 << (128 - prefix)) if prefix else 0
        mask = socket.inet_ntop(socket.AF_INET6, mask_bits.to_bytes(16, "big"))
        rows.append(
            {
                "interface": name,
                "address": address,
                "mask": mask,
                "broadcast": "",
                "point_to_point": "",
                "type": "unknown",
            }
        )
    return rows


def interface_details() -> list[Row]:
    rows = []
    for path in sorted(glob.glob("/sys/class/net/*")):
        name = os.path.basename(path)
        rows.append(
            {
                "interface": name,
                "mac": _read(os.path.join(path, "address")),
                "type": _read(os.path.join(path, "type")),
                "mtu": _read(os.path.join(path, "mtu")),
                "flags": str(_int(_read(os.path.join(path, "flags"))) or ""),
                "link_speed": _read(os.path.join(path, "speed")),
            }
        )
    return rows


def uptime() -> list[Row]:
    text = _read("/proc/uptime")
    if not text:
        return []
    total = int(float(text.split()[0]))
    return [
        {
            "days": str(total // 86400),
            "hours": str(total % 86400 // 3600),
            "minutes": str(total % 3600 // 60),
            "seconds": str(total % 60),
            "total_seconds": str(total),
        }
    ]


PROVIDERS: dict[str, Callable[[], list[Row]]] = {
    "system_info": system_info,
    "os_version": os_version,
    "osquery_info": osquery_info,
    "platform_info": platform_info,
    "battery": battery,
    "mounts": mounts,
    "logical_drives": logical_drives,
    "deb_packages": deb_packages,
    "rpm_packages": rpm_packages,
    "apps": apps,
    "programs": programs,
    "interface_addresses": interface_addresses,
    "interface_details": interface_details,
    "uptime": uptime,
}


class QueryError(Exception):
    """A query could not run (bad SQL, unknown table, backend down)."""


class CollectorError(Exception):
    pass


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tables_in(sql: str) -> list[str]:
    words = {w.lower() for w in _WORD.findall(sql)}
    return [name for name in TABLE_COLUMNS if name in words]


class NativeBackend:
    """Runs osquery SQL on native collectors.

    Collector failures never raise: the table is empty and the error is kept in
    ``collector_errors`` so the agent can send it as a status log.
    """

    name = "native"
    time_limit = 10.0
    max_rows = 100000

    def __init__(self, providers: dict[str, Callable[[], list[Row]]] | None = None):
        self.providers = dict(PROVIDERS)
        if providers:
            self.providers.update(providers)
        self.collector_errors: list[str] = []

    def table(self, name: str) -> list[Row]:
        try:
            rows = self.providers[name]()
        except Exception as exc:  # noqa: BLE001 - a collector error must never stop the agent
            self.collector_errors.append(f"collector {name} failed: {type(exc).__name__}: {exc}")
            return []
        return rows

    def knows(self, sql: str) -> bool:
        return bool(tables_in(sql))

    def query(self, sql: str) -> list[Row]:
        connection = sqlite3.connect(":memory:")
        try:
            for name in tables_in(sql):
                columns = TABLE_COLUMNS[name]
                quoted = ", ".join(f'"{c}" TEXT' for c in columns)
                connection.execute(f'CREATE TABLE "{name}" ({quoted})')
                rows = self.table(name)
                placeholders = ", ".join("?" for _ in columns)
                connection.executemany(
                    f'INSERT INTO "{name}" VALUES ({placeholders})',
                    [[_text(row.get(c, "")) for c in columns] for row in rows],
                )
            # The server's SQL may only read: no ATTACH (files), no writes, no pragmas, and a
            # time limit against runaway recursive queries.
            connection.set_authorizer(_read_only)
            deadline = time.monotonic() + self.time_limit
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10000)
            try:
                cursor = connection.execute(sql)
                names = [d[0] for d in cursor.description or []]
                values_list = cursor.fetchmany(self.max_rows + 1)
            except (sqlite3.Error, sqlite3.Warning, ValueError) as exc:
                raise QueryError(str(exc))
            if len(values_list) > self.max_rows:
                raise QueryError(f"more than {self.max_rows} rows")
            return [
                {name: _text(value) for name, value in zip(names, values)} for values in values_list
            ]
        finally:
            connection.close()

    def close(self) -> None:
        pass


_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}


def _read_only(action: int, *_args: object) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED_ACTIONS else sqlite3.SQLITE_DENY


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
