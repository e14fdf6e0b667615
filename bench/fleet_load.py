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
from fleet.simulation import SimDevice  # noqa: E402 - plain module, no Django

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
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
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


async def run(args) -> dict:
    url = args.url.rstrip("/")
    if urlparse(url).hostname not in LOOPBACK:
        raise SystemExit("fleet_load only targets loopback addresses.")
    devices_n = min(args.devices, 20_000)
    duration = min(args.duration, 600.0)
    concurrency = min(args.concurrency, 512)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=args.no_keepalive)
    timeout = aiohttp.ClientTimeout(total=60)
    read, log, _config = (float(x) for x in args.mix.split(","))
    mix = (read / 100, (read + log) / 100)
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {}
    codes: Counter = Counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        devices: list[SimDevice] = []
        if not args.baseline:
            devices = [
                SimDevice(i, seed=args.seed, prefix=args.prefix) for i in range(1, devices_n + 1)
            ]
            started = time.perf_counter()
            devices = await enroll_all(session, url, devices, args.secret, 4)
            enroll_seconds = time.perf_counter() - started
            if not devices:
                raise SystemExit("No device enrolled: check --secret and the server.")
        else:
            enroll_seconds = 0.0
        # prime: every device checks in a few times, so each server process has seen (cached) its key,
        # as in steady state where a device checks in every minute
        semaphore = asyncio.Semaphore(concurrency)

        async def touch(device):
            async with semaphore:
                async with session.post(
                    f"{url}/api/osquery/distributed/read", json={"node_key": device.node_key}
                ) as r:
                    await r.read()

        for _ in range(args.prime if not args.baseline else 0):
            await asyncio.gather(*(touch(d) for d in devices))
        deadline = time.perf_counter() + duration
        warmup_until = time.perf_counter() + min(args.warmup, duration / 4)

        pace = [time.perf_counter()]  # open loop (--rate): the next request's start time
        logs_accepted = [0]

        async def worker(index: int):
            rng = random.Random(args.seed * 7919 + index)
            while True:
                now = time.perf_counter()
                if now >= deadline:
                    return
                if args.rate > 0:
                    start_at = max(pace[0], now - 1.0)  # never a burst to catch up
                    pace[0] = start_at + 1.0 / args.rate
                    if start_at > now:
                        await asyncio.sleep(start_at - now)
                if args.baseline:
                    method, path, data, headers = "GET", "/healthz", None, {}
                else:
                    device = devices[rng.randrange(len(devices))]
                    path, body, compress = build_request(device, rng, mix)
                    data = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", "User-Agent": "osquery/5.12.1"}
                    if compress:
                        data = gzip.compress(data, compresslevel=5)
                        headers["Content-Encoding"] = "gzip"
                    method = "POST"
                started = time.perf_counter()
                try:
                    async with session.request(
                        method, url + path, data=data, headers=headers
                    ) as response:
                        payload = await response.read()
                        code = response.status
                        if code == 200 and b"node_invalid" in payload:
                            code = "node_invalid"
                except (TimeoutError, aiohttp.ClientError):
                    code = "connection_error"
                elapsed = time.perf_counter() - started
                if code == 200 and path.endswith("/log"):
                    logs_accepted[0] += 1
                if started >= warmup_until:
                    latencies.append(elapsed)
                    by_path.setdefault(path.rsplit("/osquery", 1)[-1], []).append(elapsed)
                    codes[code] += 1

        pids = [int(p) for p in args.pids.split()] if args.pids else []
        measure_start = time.perf_counter()
        server_cpu_start = cpu_seconds(pids)
        own = resource.getrusage(resource.RUSAGE_SELF)
        own_cpu_start = own.ru_utime + own.ru_stime
        queue_before = queue_state(args)
        samples: list[tuple[float, int]] = []

        async def sampler():
            while time.perf_counter() < deadline:
                state = queue_state(args)
                if state:
                    samples.append((time.perf_counter() - measure_start, state["backlog"]))
                await asyncio.sleep(1.0)

        await asyncio.gather(sampler(), *(worker(i) for i in range(concurrency)))
        queue_after = queue_state(args)
        own = resource.getrusage(resource.RUSAGE_SELF)
        own_cpu = own.ru_utime + own.ru_stime - own_cpu_start
        server_cpu = cpu_seconds(pids) - server_cpu_start
        measured = time.perf_counter() - max(measure_start, warmup_until)
        whole = time.perf_counter() - measure_start
    total = sum(codes.values())
    errors = total - codes.get(200, 0)
    queue = None
    if queue_before and queue_after:
        queue = {
            "log_batches_accepted": logs_accepted[0],
            "entries_added": queue_after["added"] - queue_before["added"],
            "backlog_start": queue_before["backlog"],
            "backlog_end": queue_after["backlog"],
            "backlog_max": max((b for _t, b in samples), default=0),
            "backlog_growth_per_s": round(slope(samples), 1),
        }
    return {
        "queue": queue,
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
        "errors": errors,
        "codes": {str(k): v for k, v in codes.items()},
        "server_cpu_ms_per_request": round(server_cpu * 1000 / total * measured / whole, 3)
        if total and pids
        else None,
        "loadgen_cpu_ms_per_request": round(own_cpu * 1000 / total * measured / whole, 3)
        if total
        else None,
        "machine_load_average": os.getloadavg()[0],
        "p50_ms_by_path": {
            k: round(percentile(v, 50) * 1000, 1) for k, v in sorted(by_path.items())
        },
    }


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
