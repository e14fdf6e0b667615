"""Realistic osqueryd-shaped payloads for simulated devices (simulate_fleet, bench, tests).

No Django imports: bench/fleet_load.py uses it from a plain Python process.
"""

from __future__ import annotations

import random
import time

MODELS = [
    ("LENOVO", "20LM", "ThinkPad 11e Yoga Gen 6"),
    ("Dell Inc.", "Latitude 3190 2-in-1", "Latitude 3190"),
    ("HP", "HP ProBook x360 11 G7 EE", "ProBook x360"),
]


class SimDevice:
    def __init__(self, index: int, *, seed: int = 0, prefix: str = "SIM"):
        rng = random.Random(seed * 100_003 + index)
        self.rng = rng
        self.serial = f"{prefix}{index:06d}"
        self.uuid = f"{rng.getrandbits(32):08X}-{index:04X}-4000-8000-{rng.getrandbits(48):012X}"
        self.vendor, self.model, self.version = MODELS[index % len(MODELS)]
        self.design = 42000
        self.full = int(self.design * rng.uniform(0.78, 0.99))
        self.cycles = rng.randint(50, 700)
        self.node_key: str | None = None
        self.counter = 0

    def _line(self, name: str, **payload) -> dict:
        now = int(time.time())
        self.counter += 1
        return {
            "name": name,
            "hostIdentifier": self.uuid,
            "calendarTime": time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(now)),
            "unixTime": now,
            "epoch": 0,
            "counter": self.counter,
            "numerics": False,
            "decorations": {"serial_number": self.serial},
            **payload,
        }

    def enroll_body(self, secret: str) -> dict:
        return {
            "enroll_secret": secret,
            "host_identifier": self.uuid,
            "platform_type": "9",
            "host_details": {
                "os_version": {
                    "name": "Ubuntu",
                    "version": "22.04.4 LTS (Jammy Jellyfish)",
                    "major": "22",
                    "minor": "4",
                    "patch": "0",
                    "build": "",
                    "platform": "ubuntu",
                    "platform_like": "debian",
                    "codename": "jammy",
                    "arch": "x86_64",
                },
                "osquery_info": {
                    "version": "5.12.1",
                    "uuid": self.uuid,
                    "pid": "1200",
                    "platform_mask": "9",
                    "build_platform": "linux",
                    "build_distro": "centos7",
                    "config_valid": "0",
                    "extensions": "active",
                    "instance_id": self.uuid.lower(),
                    "start_time": str(int(time.time())),
                    "watcher": "1199",
                    "config_hash": "",
                },
                "system_info": {
                    "hostname": f"classe-{self.serial.lower()}",
                    "computer_name": f"classe-{self.serial.lower()}",
                    "uuid": self.uuid,
                    "hardware_serial": self.serial,
                    "hardware_vendor": self.vendor,
                    "hardware_model": self.model,
                    "hardware_version": self.version,
                    "cpu_type": "x86_64",
                    "cpu_brand": "Intel(R) Celeron(R) N4120 CPU @ 1.10GHz",
                    "physical_memory": "8589934592",
                    "cpu_physical_cores": "4",
                    "cpu_logical_cores": "4",
                },
                "platform_info": {"vendor": self.vendor, "version": "1.17.0", "date": "03/14/2024"},
            },
        }

    def inventory_body(self) -> dict:
        self.cycles += 1
        percent = self.rng.randint(20, 100)
        free = self.rng.randint(8, 60) * 1_000_000_000
        return {
            "node_key": self.node_key,
            "log_type": "result",
            "data": [
                self._line(
                    "minot_battery",
                    action="snapshot",
                    snapshot=[
                        {
                            "percent_remaining": str(percent),
                            "cycle_count": str(self.cycles),
                            "designed_capacity": str(self.design),
                            "max_capacity": str(self.full),
                            "charging": "1",
                        }
                    ],
                ),
                self._line(
                    "minot_disk_posix",
                    action="snapshot",
                    snapshot=[
                        {"path": "/", "total_bytes": "128000000000", "free_bytes": str(free)}
                    ],
                ),
                self._line(
                    "minot_os",
                    action="snapshot",
                    snapshot=[
                        {
                            "name": "Ubuntu",
                            "version": "22.04.4 LTS (Jammy Jellyfish)",
                            "major": "22",
                            "minor": "4",
                            "patch": "0",
                            "build": "",
                            "platform": "ubuntu",
                            "osquery_version": "5.12.1",
                        }
                    ],
                ),
            ],
        }

    def apps_body(self) -> dict:
        apps = [
            {"name": n, "version": v}
            for n, v in (
                ("firefox", "133.0"),
                ("libreoffice-core", "7.3.7"),
                ("scratch-desktop", "3.29.1"),
                ("gcompris-qt", "4.1"),
            )
        ]
        return {
            "node_key": self.node_key,
            "log_type": "result",
            "data": [self._line("minot_apps_linux", action="snapshot", snapshot=apps)],
        }

    def status_body(self) -> dict:
        now = int(time.time())
        return {
            "node_key": self.node_key,
            "log_type": "status",
            "data": [
                {
                    "hostIdentifier": self.uuid,
                    "calendarTime": time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(now)),
                    "unixTime": str(now),
                    "severity": "0",
                    "filename": "scheduler.cpp",
                    "line": "109",
                    "message": "Executing scheduled query minot_os",
                    "version": "5.12.1",
                    "decorations": {"serial_number": self.serial},
                }
            ],
        }

    def answer_body(self, queries: dict) -> dict:
        rows = {
            qid: [{"name": "Ubuntu", "version": "22.04.4 LTS", "serial": self.serial}]
            for qid in queries
        }
        return {
            "node_key": self.node_key,
            "queries": rows,
            "statuses": {q: 0 for q in queries},
            "messages": {q: "" for q in queries},
            "stats": {
                q: {"wall_time_ms": 2, "user_time": 1, "system_time": 0, "memory": 0}
                for q in queries
            },
        }
