"""The family benchmark at its small size (the full size is run by hand, see docs/family.md)."""

import pytest

pytestmark = [pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_family_bench_small_runs_and_never_overbooks():
    from bench import family_portal

    lines = []
    family_portal.build(households=120, schools=3, log=lines.append)
    traffic = family_portal.measure_parent_traffic(requests=120, log=lines.append)
    assert set(traffic["statuses"]) <= {200, 201}
    assert traffic["p95_ms"] < 1000
    queue = family_portal.measure_queue(repeat=2, log=lines.append)
    assert queue["queue"]["count"] > 0
    burst = family_portal.measure_burst(threads=12, capacity=5, log=lines.append)
    assert burst["confirmed"] == 5
    assert burst["waiting"] == 7
    assert not burst["overbooked"]
