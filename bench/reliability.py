"""Fault-injection bench: cut Redis, PostgreSQL, SMTP and the Stripe stand-in during traffic and
print the results table of docs/reliability.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minot_bench \\
    RELIABILITY_REDIS_URL=redis://127.0.0.1:6379/9 \\
    .venv/bin/python -m bench.reliability --cut-seconds 60 --requests 60

It runs tests/reliability/test_fault_traffic.py (the short version runs in CI) with a longer cut
and more requests; each test asserts "no 500, every accepted action stored once, every side
effect once after recovery" and records its numbers.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cut-seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    results = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    env = dict(
        os.environ,
        RELIABILITY_CUT_SECONDS=str(args.cut_seconds),
        RELIABILITY_REQUESTS=str(args.requests),
        RELIABILITY_RESULTS=str(results),
    )
    start = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/reliability/test_fault_traffic.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rs",
        ],
        cwd=ROOT,
        env=env,
    )
    elapsed = time.monotonic() - start
    print(
        f"\n{args.requests} actions per fault, cut {args.cut_seconds:g} s, {elapsed:.0f} s in all"
    )
    print("| fault | answers during the run | stored | side effects once | 500s |")
    print("|---|---|---|---|---|")
    for line in results.read_text().splitlines():
        row = json.loads(line)
        statuses = row["statuses"]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
        errors = sum(v for k, v in statuses.items() if str(k).startswith("5") and k != "503")
        print(
            f"| {row['fault']} | {answers} | {row['stored']}/{row['expected']} | "
            f"{row['side_effects']}/{row['expected']} | {errors} |"
        )
    results.unlink()
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
