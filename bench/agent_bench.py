"""Device agent benchmark: resident memory, CPU per collection+report, bytes per report.

The agent runs as a real ``minot-agent`` process (no Django in it) against a small stdlib
osquery-remote-API server in this process that serves the fleet server's own config
(``fleet.services.config.config_build``, intervals scaled down so the loop turns quickly) and
records every request body. Memory and CPU come from ``resource.getrusage(RUSAGE_CHILDREN)``.

    .venv/bin/python bench/agent_bench.py              # small: 10 s of loop
    .venv/bin/python bench/agent_bench.py --seconds 60 # full
    .venv/bin/python bench/agent_bench.py --json       # machine-readable

Targets (docs/agent.md): RSS < 30 MB, < 1 s CPU per collection and report, < 4 KB gzip per
periodic report.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def server_config(interval: float) -> tuple[dict, dict]:
    sys.path.insert(0, ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.test")
    import django

    django.setup()
    from fleet.services.config import config_build

    config = config_build(school_id=None)
    base = min(spec["interval"] for spec in config["schedule"].values())
    periodic = {name for name, spec in config["schedule"].items() if spec["interval"] == base}
    for spec in config["schedule"].values():
        spec["interval"] = interval * spec["interval"] / base
    config["options"].update(distributed_interval=interval, logger_tls_period=interval)
    return config, {"base_interval_s": base, "periodic_queries": sorted(periodic)}


class Recorder(http.server.BaseHTTPRequestHandler):
    config: dict = {}
    log_posts: list = []  # (compressed bytes, body)
    requests: dict = {}

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.loads(gzip.decompress(raw) if self.headers.get("Content-Encoding") else raw)
        path = self.path.rsplit("/api/osquery", 1)[-1]
        Recorder.requests[path] = Recorder.requests.get(path, 0) + 1
        if path == "/enroll":
            answer = {"node_key": secrets.token_hex(16)}
        elif path == "/config":
            answer = Recorder.config
        elif path == "/log":
            Recorder.log_posts.append((len(raw), body))
            answer = {}
        elif path == "/distributed/read":
            answer = {"queries": {}, "discovery": {}}
        else:
            answer = {}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def watch(process: subprocess.Popen, seconds: float | None) -> float:
    """Peak resident memory (VmHWM, MB) of the agent process itself. (getrusage's ru_maxrss for
    children would count the fork of this Django-loaded parent before exec.)"""
    peak = 0
    deadline = None if seconds is None else time.monotonic() + seconds
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        if deadline is not None and time.monotonic() >= deadline:
            process.send_signal(signal.SIGTERM)
            deadline = None
        time.sleep(0.02)
    if process.returncode != 0:
        raise SystemExit(f"agent exited with {process.returncode}")
    return round(peak / 1024, 1)


def gzip_size(lines: list) -> int:
    body = {"node_key": "x" * 32, "log_type": "result", "data": lines}
    return len(gzip.compress(json.dumps(body, separators=(",", ":")).encode(), compresslevel=6))


def run(seconds: float, interval: float, python: str = sys.executable) -> dict:
    config, meta = server_config(interval)
    Recorder.config = config
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state = tempfile.mkdtemp(prefix="minot-agent-bench-")
    env = dict(
        os.environ,
        MINOT_SERVER=f"http://127.0.0.1:{server.server_address[1]}",
        MINOT_ENROLL_SECRET="bench-enroll-secret",
        MINOT_STATE_DIR=state,
        MINOT_OSQUERY="never",
        MINOT_MIN_INTERVAL=str(interval / 2),
        MINOT_LOG_LEVEL="warning",
    )
    agent = [python, "-m", "minot_agent", "run", "--insecure-http"]

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    once_rss = watch(subprocess.Popen([*agent, "--once"], env=env), None)
    once = resource.getrusage(resource.RUSAGE_CHILDREN)
    once_wall = time.monotonic() - started
    first_posts = len(Recorder.log_posts)

    loop_rss = watch(subprocess.Popen(agent, env=env), seconds)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.shutdown()

    loop_lines = [line for _size, body in Recorder.log_posts[first_posts:] for line in body["data"]]
    periodic_runs = [line for line in loop_lines if line.get("name") in meta["periodic_queries"]]
    cycles = max(1, len([x for x in periodic_runs if x["name"] == "minot_os"]))
    # One periodic report = the periodic queries run at one interval, sent in one batch.
    by_counter: dict = {}
    for line in periodic_runs:
        by_counter.setdefault(line["counter"], []).append(line)
    periodic_sizes = [gzip_size(lines) for lines in by_counter.values()]
    first_inventory = [x for _s, b in Recorder.log_posts[:first_posts] for x in b["data"]]
    loop_cpu = (after.ru_utime + after.ru_stime) - (once.ru_utime + once.ru_stime)
    return {
        "agent_python": subprocess.run(
            [python, "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "loop_seconds": seconds,
        "interval_s": interval,
        **meta,
        "once_max_rss_mb": once_rss,
        "loop_max_rss_mb": loop_rss,
        "once_cpu_s": round(
            (once.ru_utime + once.ru_stime) - (before.ru_utime + before.ru_stime), 3
        ),
        "once_wall_s": round(once_wall, 3),
        "loop_cycles": cycles,
        "loop_cpu_per_cycle_s": round(loop_cpu / cycles, 3),
        "periodic_report_gzip_bytes_max": max(periodic_sizes) if periodic_sizes else None,
        "full_inventory_gzip_bytes": gzip_size(
            [x for x in first_inventory if x.get("name") != "minot_apps_linux"]
        ),
        "apps_report_gzip_bytes": gzip_size(
            [x for x in first_inventory if x.get("name") == "minot_apps_linux"]
        ),
        "log_posts_compressed_bytes_max": max((s for s, _b in Recorder.log_posts), default=0),
        "requests": Recorder.requests,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the loop run")
    parser.add_argument("--interval", type=float, default=1.0, help="scaled base interval (s)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--agent-python",
        default=sys.executable,
        help="interpreter with minot-agent installed (e.g. a Python 3.9 virtualenv)",
    )
    args = parser.parse_args()
    result = run(args.seconds, args.interval, args.agent_python)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:34} {value}")
    ok = (
        max(result["once_max_rss_mb"], result["loop_max_rss_mb"]) < 30
        and result["once_cpu_s"] < 1
        and result["loop_cpu_per_cycle_s"] < 1
        and (result["periodic_report_gzip_bytes_max"] or 0) < 4096
    )
    print("targets met" if ok else "TARGETS MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
