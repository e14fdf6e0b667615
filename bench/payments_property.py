"""The money state machine at a large budget (issue 11): random sequences of billing, tabs,
payments, declines, lost responses, refunds (twice at once), cancellations and re-billing,
SEPA debits, disputes, restored ids and webhooks delivered duplicated and in any order, against
localstripe — with every ``payments_audit`` invariant checked after every step and Stripe
compared with the books at the end of each sequence.

    .venv/bin/python bench/payments_property.py --examples 500 --steps 20

Writes its tally (steps, sequences, lost responses, events delivered, seconds) to
``bench/results/payments_property.json`` as it goes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: fixed)")
    parser.add_argument(
        "--progress",
        type=Path,
        default=ROOT / "bench" / "results" / "payments_property.json",
        help="where the running tally is written (one file per concurrent run)",
    )
    args = parser.parse_args()
    progress = args.progress.resolve()
    progress.parent.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        MINOT_MONEY_EXAMPLES=str(args.examples),
        MINOT_MONEY_STEPS=str(args.steps),
        MINOT_MONEY_PROGRESS=str(progress),
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/payments/test_money_machine.py",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    if args.seed is not None:
        env["MINOT_MONEY_SEED"] = str(args.seed)
        command.append(f"--hypothesis-seed={args.seed}")
    code = subprocess.call(command, cwd=ROOT, env=env)
    if progress.exists():
        tally = json.loads(progress.read_text())
        tally["exit_code"] = code
        progress.write_text(json.dumps(tally, indent=2))
        print(json.dumps(tally, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
