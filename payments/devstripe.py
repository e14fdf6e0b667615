"""Run localstripe for the demo and point its webhooks at our endpoint.

``python -m payments.devstripe --port 8420 --webhook http://127.0.0.1:8000/payments/stripe/webhook/
--secret whsec_...`` (started by ``make demo`` through ``MINOT_DEMO_PROCESSES``). localstripe is a
development dependency (GPL, never shipped): without it this process only says so and idles.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import subprocess
import sys
import time

import requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--webhook", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    if importlib.util.find_spec("localstripe") is None:
        print(  # noqa: T201
            "localstripe is not installed (dev dependency): online payments are disabled in this demo."
        )
        signal.pause()
        return 0
    child = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(args.port), "--from-scratch"]
    )

    def stop(*_args):
        child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(100):
        try:
            response = requests.post(
                f"{base}/_config/webhooks/minot",
                data={"url": args.webhook, "secret": args.secret},
                auth=("sk_test_minot_demo", ""),
                timeout=2,
            )
            if response.status_code == 200:
                print(  # noqa: T201
                    f"localstripe on {base}, webhooks → {args.webhook}", flush=True
                )
                break
        except requests.ConnectionError:
            pass
        if child.poll() is not None:
            return child.returncode or 1
        time.sleep(0.2)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
