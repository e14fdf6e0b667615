"""Load benchmark for the fleet's osquery endpoints: simulated agents on loopback only.

    # 1. a server (gunicorn + PostgreSQL), e.g.
    #    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_fleet .venv/bin/gunicorn \
    #        -c infra/gunicorn-fleet-bench.conf.py backend.wsgi
    # 2. the load (enrolls --devices agents with the demo secret, then a closed loop of
    #    --concurrency workers for --duration seconds):
    .venv/bin/python bench/fleet_load.py --url http://127.0.0.1:8501 --devices 2000 \
        --concurrency 64 --duration 30
    # baseline: the same loop on a trivial Django view (GET /healthz)
    .venv/bin/python bench/fleet_load.py --url http://127.0.0.1:8501 --baseline --duration 30

Mix (per request): 60 % distributed/read, 25 % log (status lines, inventory snapshots, 1/2
gzipped), 15 % config. Bounded: at most 20,000 devices, 600 s, 512 connections; refuses any
target that is not a loopback address. Prints one JSON line with req/s, p50/p95/p99 and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fleet.simulation import SimDevice

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (Linux /proc), 0 for those that are gone."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def queue_state(args) -> dict | None:
    """Backlog (entries not yet stored) and entries ever added, over the log queue's streams."""
    if not args.queue_url:
        return None
    import redis

    client = redis.Redis.from_url(args.queue_url, socket_timeout=2)
    backlog = added = 0
    for partition in range(args.queue_partitions):
        key = f"fleet:logs:{partition}"
        if not client.exists(key):
            continue
        info = client.xinfo_stream(key)
        backlog += int(info["length"])
        added += int(info.get("entries-added", 0))
    return {"backlog": backlog, "added": added}


def slope(samples: list[tuple[float, int]]) -> float:
    """Least-squares growth of the backlog, entries per second."""
    if len(samples) < 2:
        return 0.0
    mean_t = statistics.fmean(t for t, _b in samples)
    mean_b = statistics.fmean(b for _t, b in samples)
    den = sum((t - mean_t) ** 2 for t, _b in samples)
    return sum((t - mean_t) * (b - mean_b) for t, b in samples) / den if den else 0.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def enroll_all(session, url, devices, secret, concurrency):
    semaphore = asyncio.Semaphore(concurrency)

    async def one(device):
        async with semaphore:
            async with session.post(
                f"{url}/api/osquery/enroll", json=device.enroll_body(secret)
            ) as response:
                body = await response.json(content_type=None)
                device.node_key = body.get("node_key")

    await asyncio.gather(*(one(d) for d in devices))
    return [d for d in devices if d.node_key]


def build_request(device: SimDevice, rng: random.Random, mix: tuple[float, float] = (0.60, 0.85)):
    roll = rng.random()
    if roll < mix[0]:
        return "/api/osquery/distributed/read", {"node_key": device.node_key}, False
    if roll < mix[1]:
        body = device.status_body() if rng.random() < 0.5 else device.inventory_body()
        return "/api/osquery/log", body, rng.random() < 0.5
    return "/api/osquery/config", {"node_key": device.node_key}, False


class Tally:
    """What the workers measured after the warm-up."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.by_path: dict[str, list[float]] = {}
        self.codes: Counter = Counter()
        self.logs_accepted = 0

    def record(self, path: str, code, elapsed: float, counted: bool) -> None:
        if code == 200 and path.endswith("/log"):
            self.logs_accepted += 1
        if counted:
            self.latencies.append(elapsed)
            self.by_path.setdefault(path.rsplit("/osquery", 1)[-1], []).append(elapsed)
            self.codes[code] += 1


class Window:
    """Server and load generator CPU, and the log queue, around the measured loop."""

    def __init__(
        self,
        *,
        start: float,
        pids: list[int],
        server_cpu_start: float,
        own_cpu_start: float,
        queue_before: dict | None,
    ) -> None:
        self.start = start
        self.pids = pids
        self.server_cpu_start = server_cpu_start
        self.own_cpu_start = own_cpu_start
        self.queue_before = queue_before
        self.samples: list[tuple[float, int]] = []
        self.server_cpu = 0.0
        self.own_cpu = 0.0
        self.queue_after: dict | None = None

    @classmethod
    def open(cls, args) -> Window:
        pids = [int(p) for p in args.pids.split()] if args.pids else []
        return cls(
            start=time.perf_counter(),
            pids=pids,
            server_cpu_start=cpu_seconds(pids),
            own_cpu_start=own_cpu_seconds(),
            queue_before=queue_state(args),
        )

    def close(self, args) -> None:
        self.queue_after = queue_state(args)
        self.own_cpu = own_cpu_seconds() - self.own_cpu_start
        self.server_cpu = cpu_seconds(self.pids) - self.server_cpu_start

    async def sample_queue(self, args, deadline: float) -> None:
        while time.perf_counter() < deadline:
            state = queue_state(args)
            if state:
                self.samples.append((time.perf_counter() - self.start, state["backlog"]))
            await asyncio.sleep(1.0)

    def queue_summary(self, logs_accepted: int) -> dict | None:
        if not (self.queue_before and self.queue_after):
            return None
        return {
            "log_batches_accepted": logs_accepted,
            "entries_added": self.queue_after["added"] - self.queue_before["added"],
            "backlog_start": self.queue_before["backlog"],
            "backlog_end": self.queue_after["backlog"],
            "backlog_max": max((b for _t, b in self.samples), default=0),
            "backlog_growth_per_s": round(slope(self.samples), 1),
        }


def own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


async def enroll_devices(session, url: str, args) -> tuple[list[SimDevice], float]:
    """The enrolled simulated devices (none for the baseline) and the seconds it took."""
    if args.baseline:
        return [], 0.0
    devices = [
        SimDevice(i, seed=args.seed, prefix=args.prefix)
        for i in range(1, min(args.devices, 20_000) + 1)
    ]
    started = time.perf_counter()
    devices = await enroll_all(session, url, devices, args.secret, 4)
    if not devices:
        raise SystemExit("No device enrolled: check --secret and the server.")
    return devices, time.perf_counter() - started


async def prime(session, url: str, devices: list[SimDevice], rounds: int, concurrency: int):
    """Every device checks in a few times, so each server process has seen (cached) its key,
    as in steady state where a device checks in every minute."""
    semaphore = asyncio.Semaphore(concurrency)

    async def touch(device):
        async with semaphore:
            async with session.post(
                f"{url}/api/osquery/distributed/read", json={"node_key": device.node_key}
            ) as r:
                await r.read()

    for _ in range(rounds):
        await asyncio.gather(*(touch(d) for d in devices))


def next_request(args, devices: list[SimDevice], rng: random.Random, mix):
    """(method, path, body bytes, headers) of the next request of the mix (or the baseline)."""
    if args.baseline:
        return "GET", "/healthz", None, {}
    device = devices[rng.randrange(len(devices))]
    path, body, compress = build_request(device, rng, mix)
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "osquery/5.12.1"}
    if compress:
        data = gzip.compress(data, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return "POST", path, data, headers


async def send(session, method: str, target: str, data, headers):
    """The answer's status, ``node_invalid`` or ``connection_error``."""
    try:
        async with session.request(method, target, data=data, headers=headers) as response:
            payload = await response.read()
            if response.status == 200 and b"node_invalid" in payload:
                return "node_invalid"
            return response.status
    except (TimeoutError, aiohttp.ClientError):
        return "connection_error"


class Pacer:
    """Open loop (--rate): each request's start time; a closed loop when the rate is 0."""

    def __init__(self, rate: float):
        self.rate = rate
        self.next_start = time.perf_counter()

    async def wait(self) -> None:
        if self.rate <= 0:
            return
        now = time.perf_counter()
        start_at = max(self.next_start, now - 1.0)  # never a burst to catch up
        self.next_start = start_at + 1.0 / self.rate
        if start_at > now:
            await asyncio.sleep(start_at - now)


async def work(session, url, args, devices, mix, tally, pacer, deadline, warmup_until, index):
    rng = random.Random(args.seed * 7919 + index)
    while time.perf_counter() < deadline:
        await pacer.wait()
        method, path, data, headers = next_request(args, devices, rng, mix)
        started = time.perf_counter()
        code = await send(session, method, url + path, data, headers)
        tally.record(path, code, time.perf_counter() - started, started >= warmup_until)


def report(
    args, devices, enroll_seconds, concurrency, tally: Tally, window: Window, measured, whole
) -> dict:
    total = sum(tally.codes.values())
    latencies = tally.latencies
    return {
        "queue": window.queue_summary(tally.logs_accepted),
        "offered_rps": args.rate or None,
        "target": "GET /healthz (trivial Django view)"
        if args.baseline
        else f"osquery mix read,log,config % = {args.mix}",
        "devices": len(devices),
        "enroll_seconds": round(enroll_seconds, 1),
        "concurrency": concurrency,
        "seconds": round(measured, 1),
        "requests": total,
        "rps": round(total / measured, 1) if measured > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
        "errors": total - tally.codes.get(200, 0),
        "codes": {str(k): v for k, v in tally.codes.items()},
        "server_cpu_ms_per_request": round(window.server_cpu * 1000 / total * measured / whole, 3)
        if total and window.pids
        else None,
        "loadgen_cpu_ms_per_request": round(window.own_cpu * 1000 / total * measured / whole, 3)
        if total
        else None,
        "machine_load_average": os.getloadavg()[0],
        "p50_ms_by_path": {
            k: round(percentile(v, 50) * 1000, 1) for k, v in sorted(tally.by_path.items())
        },
    }


async def run(args) -> dict:
    url = args.url.rstrip("/")
    if urlparse(url).hostname not in LOOPBACK:
        raise SystemExit("fleet_load only targets loopback addresses.")
    duration = min(args.duration, 600.0)
    concurrency = min(args.concurrency, 512)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=args.no_keepalive)
    timeout = aiohttp.ClientTimeout(total=60)
    read, log, _config = (float(x) for x in args.mix.split(","))
    mix = (read / 100, (read + log) / 100)
    tally = Tally()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        devices, enroll_seconds = await enroll_devices(session, url, args)
        await prime(session, url, devices, 0 if args.baseline else args.prime, concurrency)
        deadline = time.perf_counter() + duration
        warmup_until = time.perf_counter() + min(args.warmup, duration / 4)
        pacer = Pacer(args.rate)
        window = Window.open(args)
        await asyncio.gather(
            window.sample_queue(args, deadline),
            *(
                work(session, url, args, devices, mix, tally, pacer, deadline, warmup_until, i)
                for i in range(concurrency)
            ),
        )
        window.close(args)
        measured = time.perf_counter() - max(window.start, warmup_until)
        whole = time.perf_counter() - window.start
    return report(args, devices, enroll_seconds, concurrency, tally, window, measured, whole)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8501")
    parser.add_argument("--secret", default="demo-enroll-secret")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prefix", default="BENCH")
    parser.add_argument(
        "--pids",
        default="",
        help="server process ids (gunicorn workers, postgres backends) to count CPU",
    )
    parser.add_argument(
        "--prime", type=int, default=3, help="check-ins per device before measuring"
    )
    parser.add_argument("--mix", default="60,25,15", help="percent read,log,config")
    parser.add_argument(
        "--baseline", action="store_true", help="GET /healthz instead of the osquery mix"
    )
    parser.add_argument("--no-keepalive", action="store_true")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered requests/s (open loop); 0: as fast as possible",
    )
    parser.add_argument(
        "--queue-url", default="", help="redis URL of the log queue, to sample its backlog"
    )
    parser.add_argument("--queue-partitions", type=int, default=8)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
