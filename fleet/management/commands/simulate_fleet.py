"""Drive N simulated devices through the real osquery HTTP API (enroll, config, logs, live queries).

    manage.py simulate_fleet --url http://127.0.0.1:8000 --devices 20 --duration 120

Bounded in devices and time; loopback targets only unless --allow-remote.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import urlparse

from django.core.management.base import BaseCommand, CommandError

from fleet.simulation import SimDevice

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Session:
    """The simulated devices' shared connection to the server, with per-path status counts."""

    def __init__(self, url: str, deadline: float):
        self.url = url
        self.deadline = deadline
        self.stats: Counter = Counter()
        self.lock = threading.Lock()

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0)

    def post(self, path: str, body: dict, *, compress: bool = False) -> dict:
        data = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "osquery/5.12.1 (minot-simulator)",
        }
        if compress:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        if body.get("node_key"):
            headers["Authorization"] = f"NodeKey {body['node_key']}"
        request = urllib.request.Request(
            f"{self.url}/api/osquery{path}", data=data, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read() or b"{}")
                status = response.status
        except urllib.error.HTTPError as exc:
            answer, status = {}, exc.code
        except (urllib.error.URLError, OSError, ValueError):
            answer, status = {}, 0
        with self.lock:
            self.stats[f"{path} {status}"] += 1
        return answer


class SimulatedRun:
    """One device's life: enroll, first reports, then check-ins until the deadline."""

    def __init__(self, session: Session, device: SimDevice, *, secret: str, interval: float):
        self.session = session
        self.device = device
        self.secret = secret
        self.interval = interval

    def enroll(self) -> bool:
        answer = self.session.post("/enroll", self.device.enroll_body(self.secret))
        self.device.node_key = answer.get("node_key")
        return bool(self.device.node_key)

    def first_reports(self) -> None:
        post, device = self.session.post, self.device
        post("/config", {"node_key": device.node_key})
        post("/log", device.inventory_body(), compress=True)
        post("/log", device.apps_body(), compress=True)

    def check_in(self, loop: int) -> bool:
        """One check-in; False when the device lost its key and cannot enroll again."""
        post, device = self.session.post, self.device
        answer = post("/distributed/read", {"node_key": device.node_key})
        if answer.get("node_invalid"):
            return self.enroll()
        if answer.get("queries"):
            post("/distributed/write", device.answer_body(answer["queries"]))
        if loop % 3 == 0:
            post("/log", device.inventory_body(), compress=True)
        if loop % 5 == 0:
            post("/log", device.status_body(), compress=True)
        time.sleep(min(self.interval, self.session.remaining()))
        return True

    def __call__(self) -> None:
        if not self.enroll():
            return
        self.first_reports()
        loop = 0
        while time.monotonic() < self.session.deadline:
            loop += 1
            if not self.check_in(loop):
                return


class Command(BaseCommand):
    help = "Simulate classroom devices speaking the osquery remote API to a running Minot server."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--devices", type=int, default=20)
        parser.add_argument("--secret", default="demo-enroll-secret")
        parser.add_argument("--duration", type=float, default=60.0, help="seconds (max 3600)")
        parser.add_argument(
            "--interval", type=float, default=10.0, help="seconds between check-ins"
        )
        parser.add_argument(
            "--prefix", default="SIM", help="serial prefix of the simulated devices"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--allow-remote", action="store_true")

    def handle(self, *args, **options):
        url = options["url"].rstrip("/")
        if urlparse(url).hostname not in LOOPBACK and not options["allow_remote"]:
            raise CommandError("Refusing a non-loopback target without --allow-remote.")
        count = options["devices"]
        if not 1 <= count <= 2000:
            raise CommandError("--devices must be between 1 and 2000.")
        duration = min(max(options["duration"], 0.0), 3600.0)
        session = Session(url, time.monotonic() + duration)
        threads = [
            threading.Thread(
                target=SimulatedRun(
                    session,
                    SimDevice(i, seed=options["seed"], prefix=options["prefix"]),
                    secret=options["secret"],
                    interval=options["interval"],
                ),
                daemon=True,
            )
            for i in range(1, count + 1)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.01)
        for thread in threads:
            thread.join(timeout=session.remaining() + 30)
        self.report(session.stats)

    def report(self, stats: Counter) -> None:
        for key, value in sorted(stats.items()):
            self.stdout.write(f"{key}: {value}")
        errors = sum(v for k, v in stats.items() if not k.endswith(" 200"))
        self.stdout.write(self.style.SUCCESS(f"{sum(stats.values())} requests, {errors} not 200."))
