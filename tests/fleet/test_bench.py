"""The load generator runs (small size) against a live server with no errors."""

import importlib.util
from pathlib import Path

import pytest

from .factories import school_with_secret

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fleet_load.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("fleet_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fleet_load_small(live_server, settings):
    school_with_secret("bench-secret-000001")
    bench = load_bench()
    result = bench.main(
        [
            "--url",
            live_server.url,
            "--secret",
            "bench-secret-000001",
            "--devices",
            "10",
            "--concurrency",
            "4",
            "--duration",
            "2",
            "--warmup",
            "0",
        ]
    )
    assert result["devices"] == 10
    assert result["requests"] > 0
    assert result["errors"] == 0, result["codes"]
    baseline = bench.main(
        [
            "--url",
            live_server.url,
            "--baseline",
            "--concurrency",
            "2",
            "--duration",
            "1",
            "--warmup",
            "0",
        ]
    )
    assert baseline["errors"] == 0
