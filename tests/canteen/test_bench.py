"""The canteen benchmark at its small default size (the full size is run by hand, see docs)."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_canteen_bench_small_runs_and_meets_the_targets():
    from bench import canteen_bench

    lines = []
    canteen_bench.build(children=300, schools=3, log=lines.append)
    results = canteen_bench.measure(repeat=2, log=lines.append)
    assert results["children"] == 300
    assert results["calendar_queries"] <= 16
    assert results["forecast_meals"] == 300
    assert results["forecast_schools"] == 3
    assert results["term_booking_rows"] == 3 * 40
    assert results["billable_month_meals"] > 0
    # generous bounds on the small size: a regression to per-row queries shows up here
    assert results["calendar_selector_ms"]["median"] < 500
    assert results["term_booking_ms"]["median"] < 1500
