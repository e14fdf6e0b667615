"""Run every benchmark of bench/ and write what it measured.

    .venv/bin/python -m bench.run_all            # full sizes (make bench)
    .venv/bin/python -m bench.run_all --quick    # CI sizes (make bench-quick): fails only on errors
    .venv/bin/python -m bench.run_all --only portal_load,agent

Each benchmark runs as its own process; the JSON it prints is stored with the machine it ran on
(cores, load average, Python) and the exact command in ``bench/results/<date>-<name>.json``.
Then ``docs/performance.md`` is regenerated from the latest result of each benchmark, with the
change since the previous result file of the same benchmark. Timing never fails a run: only a
benchmark that crashes, or reports server errors or broken invariants, does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
NOTES = ROOT / "docs" / "performance-notes.md"  # hand-written, included above the figures
PG = "postgres://postgres@127.0.0.1:5432/"


@dataclass(frozen=True)
class Bench:
    name: str
    what: str
    full: list[str]
    quick: list[str]
    env_full: tuple[tuple[str, str], ...] = ()
    env_quick: tuple[tuple[str, str], ...] = ()


PY = "{python}"
BENCHES = [
    Bench(
        "portal_load",
        "Portal over HTTP (gunicorn + PostgreSQL, production settings, locust): parent and staff "
        "mix at offered rates, baseline GET /healthz in the same run",
        [PY, "bench/portal_load.py"],
        [PY, "bench/portal_load.py", "--quick"],
        env_full=(("DATABASE_URL", PG + "minot_portal_bench"),),
    ),
    Bench(
        "family_portal",
        "Family API in-process: parent mix, staff queue, registration-opening burst",
        [PY, "bench/family_portal.py", "--full", "--json"],
        [PY, "bench/family_portal.py", "--json"],
        env_full=(("DATABASE_URL", PG + "minot_family_bench"),),
    ),
    Bench(
        "canteen",
        "Canteen: month calendar, kitchen forecast, term booking, billable meals",
        [PY, "bench/canteen_bench.py", "--full", "--json", "{out}"],
        [PY, "bench/canteen_bench.py", "--json", "{out}"],
        env_full=(("DATABASE_URL", PG + "minot_canteen_bench"),),
    ),
    Bench(
        "services_calendar",
        "All-services month page: 3 children × 8 daily services × 3 months, query count by "
        "number of services and by month (must not change), page and selector time",
        [PY, "bench/services_calendar_bench.py", "--repeat", "20", "--json", "{out}"],
        [PY, "bench/services_calendar_bench.py", "--repeat", "3", "--json", "{out}"],
        env_full=(("DATABASE_URL", PG + "minot_services_bench"),),
    ),
    Bench(
        "payments_billing",
        "Monthly billing run (50,000 children × 20 meals in full) and its idempotent rerun",
        [PY, "bench/payments_billing.py", "--full"],
        [PY, "bench/payments_billing.py", "--children", "300"],
        env_full=(("DATABASE_URL", PG + "minot_payments_bench"),),
    ),
    Bench(
        "payments_property",
        "Payments state machine (hypothesis) against localstripe with lost responses: about "
        "10,000 steps in full (850 sequences of up to 20), every books invariant after every step",
        [PY, "bench/payments_property.py", "--examples", "850", "--steps", "20"],
        [PY, "bench/payments_property.py", "--examples", "3", "--steps", "10"],
        env_full=(("DATABASE_URL", PG + "minot_payments_property"),),
        env_quick=(("DATABASE_URL", PG + "minot_payments_property"),),
    ),
    Bench(
        "fleet",
        "osquery endpoints over HTTP with every report stored (bench/fleet_bench.sh)",
        ["bash", "bench/fleet_bench.sh"],
        ["bash", "bench/fleet_bench.sh"],
        env_full=(("DATABASE_URL", PG + "minot_fleet"),),
        env_quick=(("DURATION", "8"), ("DEVICES", "200"), ("CONCURRENCY", "16")),
    ),
    Bench(
        "agent",
        "Device agent: resident memory, CPU and bytes per report",
        [PY, "bench/agent_bench.py", "--seconds", "60", "--json"],
        [PY, "bench/agent_bench.py", "--seconds", "5", "--json"],
    ),
]


def json_objects(text: str) -> list:
    """Every top-level JSON object printed at the start of a line."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while True:
        start = text.find("{", index)
        if start == -1:
            return found
        if start == 0 or text[start - 1] == "\n":
            try:
                obj, end = decoder.raw_decode(text, start)
            except ValueError:
                index = start + 1
                continue
            found.append(obj)
            index = end
        else:
            index = start + 1


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _ensure_database(name: str) -> None:
    """Create the benchmark's database on the local PostgreSQL if it is missing (each
    benchmark migrates it itself)."""
    found = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SELECT datname FROM pg_database"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if name not in found:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


def run(bench: Bench, *, quick: bool) -> dict:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"{stamp}-{bench.name}.raw.json"
    argv = [
        a.format(python=sys.executable, out=str(out))
        for a in (bench.quick if quick else bench.full)
    ]
    # Each benchmark in its own database at both sizes (env_full names it), never the
    # caller's DATABASE_URL: in CI that is the test suite's database, and two benchmarks that
    # share one meet each other's rows.
    env = {**os.environ, **dict(bench.env_full), **dict(bench.env_quick if quick else ())}
    if env.get("DATABASE_URL", "").startswith(PG):
        _ensure_database(env["DATABASE_URL"].rsplit("/", 1)[-1])
    info = {
        "name": bench.name,
        "what": bench.what,
        "mode": "quick" if quick else "full",
        "date": stamp,
        "machine": machine(),
        "command": " ".join(shlex.quote(a) for a in argv),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    info["seconds"] = round(time.perf_counter() - t0, 1)
    info["exit_code"] = proc.returncode
    results = json_objects(proc.stdout)
    if out.exists():
        results.append(json.loads(out.read_text()))
        out.unlink()
    info["results"] = results[-1] if len(results) == 1 else results
    if proc.returncode != 0:
        info["stderr_tail"] = proc.stderr[-3000:]
    (RESULTS / f"{stamp}-{bench.name}.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def _flat(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            label = v.get("stage", i) if isinstance(v, dict) else i
            _flat(f"{prefix}[{label}]", v, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out[prefix] = value
    return out


def latest_two(name: str) -> list[dict]:
    files = sorted(RESULTS.glob(f"*-{name}.json"))
    return [json.loads(f.read_text()) for f in files[-2:]]


def render() -> str:
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (full) or `make bench-quick` (CI sizes) from the latest file of",
        "each benchmark in `bench/results/`; do not edit by hand. Every figure comes with the",
        "machine it was measured on, the command that reproduces it, and the change since the",
        "previous result of the same benchmark. Absolute figures move with the machine's load;",
        "the portal and fleet benchmarks also measure a trivial view in the same run, and the",
        "ratio to it is the figure that counts.",
        "",
    ]
    if NOTES.exists():  # the hand-written part: what was done, what is cached, scale on paper
        lines += [f"_From `{NOTES.relative_to(ROOT)}` (edit that file):_", ""]
        lines += NOTES.read_text().rstrip().splitlines()[1:]  # its own title line dropped
        lines += ["", "# Figures of record (generated)", ""]
    for bench in BENCHES:
        runs = latest_two(bench.name)
        if not runs:
            lines += [f"## {bench.name}", "", f"{bench.what}.", "", "_Not run yet._", ""]
            continue
        last = runs[-1]
        previous = _flat("", runs[0]["results"], {}) if len(runs) == 2 else {}
        m = last["machine"]
        lines += [
            f"## {bench.name}",
            "",
            f"{bench.what}.",
            "",
            f"- run: {last['date']} ({last['mode']}), {last['seconds']} s, exit code "
            f"{last['exit_code']}",
            f"- machine: {m['cores']} cores, load average before {m['load_average_before']}, "
            f"Python {m['python']}",
            f"- command: `{last['command']}`",
            "",
            "| figure | value | previous |",
            "|---|---|---|",
        ]
        for key, value in _flat("", last["results"], {}).items():
            before = previous.get(key, "")
            lines.append(f"| `{key}` | {value} | {before} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    if not args.render_only:
        wanted = {n for n in args.only.split(",") if n}
        for bench in BENCHES:
            if wanted and bench.name not in wanted:
                continue
            sys.stderr.write(f"== {bench.name} ({'quick' if args.quick else 'full'})\n")
            info = run(bench, quick=args.quick)
            sys.stderr.write(f"   exit {info['exit_code']} in {info['seconds']} s\n")
            if info["exit_code"] != 0:
                failed.append(bench.name)
                sys.stderr.write(info.get("stderr_tail", "") + "\n")
    DOC.write_text(render())
    if failed:
        sys.stderr.write(f"failed: {', '.join(failed)}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
