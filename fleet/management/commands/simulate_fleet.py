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

    def handle(self, *args, **options):  # noqa: C901 - to split (known debt, docs/architecture.md)
        url = options["url"].rstrip("/")
        if urlparse(url).hostname not in LOOPBACK and not options["allow_remote"]:
            raise CommandError("Refusing a non-loopback target without --allow-remote.")
        count = options["devices"]
        if not 1 <= count <= 2000:
            raise CommandError("--devices must be between 1 and 2000.")
        duration = min(max(options["duration"], 0.0), 3600.0)
        stats: Counter = Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + duration

        def post(path, body, *, compress=False):
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
                f"{url}/api/osquery{path}", data=data, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = json.loads(response.read() or b"{}")
                    status = response.status
            except urllib.error.HTTPError as exc:
                answer, status = {}, exc.code
            except (urllib.error.URLError, OSError, ValueError):
                answer, status = {}, 0
            with lock:
                stats[f"{path} {status}"] += 1
            return answer

        def run(device: SimDevice):
            answer = post("/enroll", device.enroll_body(options["secret"]))
            device.node_key = answer.get("node_key")
            if not device.node_key:
                return
            post("/config", {"node_key": device.node_key})
            post("/log", device.inventory_body(), compress=True)
            post("/log", device.apps_body(), compress=True)
            loop = 0
            while time.monotonic() < deadline:
                loop += 1
                answer = post("/distributed/read", {"node_key": device.node_key})
                if answer.get("node_invalid"):
                    device.node_key = post("/enroll", device.enroll_body(options["secret"])).get(
                        "node_key"
                    )
                    if not device.node_key:
                        return
                    continue
                if answer.get("queries"):
                    post("/distributed/write", device.answer_body(answer["queries"]))
                if loop % 3 == 0:
                    post("/log", device.inventory_body(), compress=True)
                if loop % 5 == 0:
                    post("/log", device.status_body(), compress=True)
                time.sleep(min(options["interval"], max(deadline - time.monotonic(), 0)))

        threads = [
            threading.Thread(
                target=run,
                args=(SimDevice(i, seed=options["seed"], prefix=options["prefix"]),),
                daemon=True,
            )
            for i in range(1, count + 1)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.01)
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0) + 30)
        for key, value in sorted(stats.items()):
            self.stdout.write(f"{key}: {value}")
        errors = sum(v for k, v in stats.items() if not k.endswith(" 200"))
        self.stdout.write(self.style.SUCCESS(f"{sum(stats.values())} requests, {errors} not 200."))
