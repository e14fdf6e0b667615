"""The agent benchmark runs (small size) and meets its targets (RSS < 30 MB, < 1 s CPU per
cycle, < 4 KB gzip per periodic report)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_agent_benchmark_meets_targets():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "agent_bench.py"), "--seconds", "4", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    numbers = json.loads(result.stdout)
    assert numbers["loop_max_rss_mb"] < 30
    assert numbers["once_cpu_s"] < 1
    assert numbers["periodic_report_gzip_bytes_max"] < 4096
