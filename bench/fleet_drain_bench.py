"""Drainer micro-benchmark: CPU per queued osquery log batch, one drain to empty.

Measures the log queue's drainer alone (``fleet.services.log_queue.log_queue_drain``, the loop of
``manage.py fleet_log_worker``), without the HTTP server or a load generator, so that its cost per
batch can be compared before and after a change on a busy machine (CPU time, not wall time).

    # once: a database of its own, migrated and seeded (the demo enroll secret)
    createdb -h 127.0.0.1 -U postgres minot_fleet_drain
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_fleet_drain \
        DJANGO_SETTINGS_MODULE=backend.settings.production \
        SECRET_KEY=fleet-bench-not-secret-0123456789abcdefghijklmnopqrstuvwxyz \
        ALLOWED_HOSTS=127.0.0.1,localhost SECURE_SSL_REDIRECT=False \
        FLEET_LOG_QUEUE_URL=redis://127.0.0.1:6379/4
    .venv/bin/python manage.py migrate -v0 && .venv/bin/python manage.py seed_demo --no-progress
    # then
    .venv/bin/python bench/fleet_drain_bench.py --devices 2000 --batches 4000 --runs 5
    .venv/bin/python bench/fleet_drain_bench.py --profile drain.html   # pyinstrument, one run

What a run does:
1. enrolls ``--devices`` simulated devices (``fleet.simulation.SimDevice``, the demo secret; once
   per process, through the enrollment service) in the first demo school;
2. empties the queue and deletes the history rows of those devices (every run starts alike);
3. queues ``--batches`` log batches built by ``bench/fleet_load.py``'s own ``build_request`` with
   the log share of its mix only (half status lines, half battery/disk/OS snapshots), on random
   devices, each parsed by ``fleet.protocol.parse_log`` and queued by ``log_enqueue`` as the log
   endpoint does. The simulated devices' clock advances by 1/``--log-rate`` second per batch (the
   log batches per second of the load test at its answer rate), so a device's reports carry
   distinct times as they would in the load test;
4. drains to empty (``log_queue_drain(max_items=--chunk)`` until it returns 0) and records the
   drainer's CPU (``time.process_time``), the CPU of its PostgreSQL backend (``/proc``, the
   server is on this machine) and the wall time; then checks that every status line and every
   battery sample is stored.

One unmeasured warm-up run comes first (imports, caches: the real drainer is a long-lived
process). Prints one JSON line per run and a summary with the medians. Refuses a database whose
name does not contain "bench" or "drain" (it deletes history rows of the simulated devices).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fleet_load import build_request, cpu_seconds  # noqa: E402

from fleet.simulation import SimDevice  # noqa: E402

LOG_ONLY_MIX = (0.0, 1.0)  # build_request: every request is a log batch
PREFIX = "DRAIN"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.production")
    # the simulated devices enroll in a burst, from no address at all
    os.environ.setdefault("FLEET_ENROLL_COOLDOWN_SECONDS", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if "bench" not in name and "drain" not in name:
        raise SystemExit(f"Refusing database {name!r}: use a database named *bench* or *drain*.")
    from fleet.services.log_queue import queue_enabled

    if not queue_enabled():
        raise SystemExit("Set FLEET_LOG_QUEUE_URL (redis://127.0.0.1:6379/<db>).")


def enroll(count: int, secret: str) -> list[tuple[SimDevice, int, str]]:
    """(simulated device, device id, serial) for ``count`` devices enrolled with ``secret``."""
    from fleet.protocol import parse_enroll
    from fleet.services.enrollment import device_enroll
    from fleet.services.nodes import node_lookup

    enrolled = []
    for index in range(1, count + 1):
        device = SimDevice(index, seed=1, prefix=PREFIX)
        parsed = parse_enroll(json.loads(json.dumps(device.enroll_body(secret))))
        device.node_key = device_enroll(request=parsed) if parsed else None
        node = node_lookup(device.node_key) if device.node_key else None
        if node is None:
            raise SystemExit(f"Enrollment refused for {device.serial}: seed_demo first?")
        enrolled.append((device, node.device_id, node.serial))
    return enrolled


class SimClock:
    """``time.time`` for the simulated devices: starts now, advances one step per batch."""

    def __init__(self, step: float):
        self.now = time.time()
        self.step = step

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += self.step


@contextmanager
def simulated_time(clock: SimClock):
    with mock.patch("fleet.simulation.time.time", clock):
        yield


def reset(device_ids: list[int]) -> None:
    """An empty queue and no history for the simulated devices: every run starts alike."""
    from fleet.models import BatterySample, InventoryReport, StatusLog
    from fleet.services.log_queue import log_queue_clear

    log_queue_clear()
    for model in (InventoryReport, BatterySample, StatusLog):
        model.objects.filter(device_id__in=device_ids).delete()


def queue_batches(
    devices: list[tuple[SimDevice, int, str]],
    count: int,
    seed: int,
    clock: SimClock,
    rate: float = 0.0,
) -> dict[str, int]:
    """Queue ``count`` log batches as the log endpoint does (``rate`` per second, else at once);
    answers what they hold."""
    from django.utils import timezone

    from fleet.protocol import parse_log
    from fleet.services.log_queue import log_enqueue

    rng = random.Random(seed)
    held = {"status_batches": 0, "result_batches": 0, "status_lines": 0}
    samples: set[tuple[int, Any]] = set()  # (device, time): a sample replayed is stored once
    started = time.perf_counter()
    with simulated_time(clock):
        for index in range(count):
            if rate:
                time.sleep(max(0.0, started + index / rate - time.perf_counter()))
            device, device_id, serial = devices[rng.randrange(len(devices))]
            _path, body, _gzip = build_request(device, rng, LOG_ONLY_MIX)
            clock.tick()
            log_type, lines = parse_log(json.loads(json.dumps(body)), timezone.now())
            log_enqueue(device_id=device_id, serial=serial, log_type=log_type, lines=lines)
            held[f"{log_type}_batches"] += 1
            if log_type == "status":
                held["status_lines"] += len(lines)
            else:
                samples.update((device_id, r.at) for r in lines if r.name == "minot_battery")
    return {**held, "battery_samples": len(samples)}


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def drain(chunk: int) -> tuple[int, int]:
    """Drain every partition until empty: (entries, passes that ingested something)."""
    from fleet.services.log_queue import log_queue_drain

    total = passes = 0
    while drained := log_queue_drain(max_items=chunk):
        total += drained
        passes += 1
    return total, passes


def stored(device_ids: list[int]) -> dict[str, int]:
    from fleet.models import BatterySample, StatusLog

    return {
        "status_lines": StatusLog.objects.filter(device_id__in=device_ids).count(),
        "battery_samples": BatterySample.objects.filter(device_id__in=device_ids).count(),
    }


def one_run(devices, args, seed: int, clock: SimClock, profiler=None) -> dict[str, Any]:
    device_ids = [device_id for _d, device_id, _s in devices]
    reset(device_ids)
    held = queue_batches(devices, args.batches, seed, clock)
    pid = backend_pid()
    pg_before, cpu_before, wall_before = (
        cpu_seconds([pid]),
        time.process_time(),
        time.perf_counter(),
    )
    if profiler:
        profiler.start()
    entries, passes = drain(args.chunk)
    if profiler:
        profiler.stop()
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    pg = cpu_seconds([pid]) - pg_before
    found = stored(device_ids)
    complete = (
        entries == args.batches
        and found["status_lines"] == held["status_lines"]
        and found["battery_samples"] == held["battery_samples"]
    )
    return {
        "batches": entries,
        "passes": passes,
        "cpu_ms_per_batch": round(cpu * 1000 / max(entries, 1), 4),
        "pg_cpu_ms_per_batch": round(pg * 1000 / max(entries, 1), 4),
        "wall_ms_per_batch": round(wall * 1000 / max(entries, 1), 4),
        "wall_minus_cpu_ms_per_batch": round((wall - cpu) * 1000 / max(entries, 1), 4),
        "held": held,
        "stored": found,
        "complete": complete,
        "load_average": os.getloadavg()[0],
    }


def _queue_in_child(devices, args, seed: int, clock: SimClock) -> tuple[int, int]:
    """Fork a process that queues the batches at ``--rate``: (its pid, a pipe it reports on)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    # the child never touches the parent's database connection, and has a Redis client of its own
    from fleet.services import log_queue

    log_queue._client.cache_clear()
    try:
        held = queue_batches(devices, int(args.rate * args.seconds), seed, clock, args.rate)
        os.write(write_end, json.dumps(held).encode())
    finally:
        os._exit(0)


def steady_run(devices, args, seed: int, clock: SimClock) -> dict[str, Any]:
    """``--rate``: batches arrive at a steady rate (from a forked process) while the real worker
    loop (``fleet_log_worker --seconds --idle --batch``) drains them, so chunks are only as big as
    the arrivals between two passes make them, as in the load test when the drainers keep up."""
    import io

    from django.core.management import call_command

    device_ids = [device_id for _d, device_id, _s in devices]
    reset(device_ids)
    pid = backend_pid()
    pg_before, cpu_before = cpu_seconds([pid]), time.process_time()
    child, report = _queue_in_child(devices, args, seed, clock)
    out = io.StringIO()
    # without --min-batch the worker's default (and an older worker, without the option, works)
    pacing = {"min_batch": args.min_batch} if args.min_batch is not None else {}
    call_command(
        "fleet_log_worker",
        seconds=args.seconds,
        idle=args.idle,
        batch=args.chunk,
        stdout=out,
        **pacing,
    )
    os.waitpid(child, 0)
    entries = int(out.getvalue().split()[0]) + drain(args.chunk)[0]  # arrivals after the end
    cpu = time.process_time() - cpu_before
    pg = cpu_seconds([pid]) - pg_before
    with os.fdopen(report) as pipe:
        held = json.loads(pipe.read())
    found = stored(device_ids)
    return {
        "rate": args.rate,
        "batches": entries,
        "cpu_ms_per_batch": round(cpu * 1000 / max(entries, 1), 4),
        "pg_cpu_ms_per_batch": round(pg * 1000 / max(entries, 1), 4),
        "drainer_cpu_share": round(cpu / args.seconds, 3),
        "held": held,
        "stored": found,
        "complete": found["status_lines"] == held["status_lines"]
        and found["battery_samples"] == held["battery_samples"],
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=4000, help="log batches queued per run")
    parser.add_argument("--chunk", type=int, default=1000, help="max_items of one drain pass")
    parser.add_argument("--runs", type=int, default=5, help="measured runs (after one warm-up)")
    parser.add_argument(
        "--log-rate", type=float, default=350.0, help="simulated log batches per second"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="steady mode: batches queued per second while the worker loop runs (0: off)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="steady mode: duration")
    parser.add_argument("--idle", type=float, default=0.2, help="steady mode: worker --idle")
    parser.add_argument(
        "--min-batch",
        type=int,
        default=None,
        help="steady mode: worker --min-batch (1: no pause while entries come); default: its own",
    )
    parser.add_argument("--secret", default="demo-enroll-secret")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", default="", help="pyinstrument report (.html or .txt)")
    args = parser.parse_args(argv)
    setup_django()
    devices = enroll(min(args.devices, 20_000), args.secret)
    clock = SimClock(1.0 / args.log_rate)
    one_run(devices, args, args.seed, clock)  # warm-up
    results = []
    for run in range(max(args.runs, 1)):
        if args.rate:
            result = steady_run(devices, args, args.seed + 1 + run, clock)
            print(json.dumps(result), flush=True)
            results.append(result)
            continue
        profiler = None
        if args.profile and run == 0:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.002)
        result = one_run(devices, args, args.seed + 1 + run, clock, profiler)
        print(json.dumps(result), flush=True)
        results.append(result)
        if profiler:
            text = args.profile.endswith(".txt")
            output = profiler.output_text(show_all=False) if text else profiler.output_html()
            Path(args.profile).write_text(output)
    summary = {
        "summary": {
            "devices": len(devices),
            "batches": args.batches,
            "chunk": args.chunk,
            "rate": args.rate or None,
            "runs": len(results),
            "all_complete": all(r["complete"] for r in results),
            **{
                f"median_{key}": statistics.median(r[key] for r in results)
                for key in (
                    "cpu_ms_per_batch",
                    "pg_cpu_ms_per_batch",
                    "wall_ms_per_batch",
                    "wall_minus_cpu_ms_per_batch",
                    "drainer_cpu_share",
                )
                if key in results[0]
            },
        }
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
