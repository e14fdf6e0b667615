import pytest

from bench.payments_billing import run


@pytest.mark.slow
@pytest.mark.django_db
def test_billing_benchmark_small_size():
    results = run(children=300, meals_per_child=20)
    first, second = results["first_run"], results["second_run"]
    assert (
        first["lines_created"] == results["meals"]
    )  # one line per meal (custody: one payer per week)
    assert second["invoices_created"] == 0
    assert second["lines_created"] == 0
    assert second["seconds"] <= first["seconds"] + 1
    assert results["lines_in_db"] == first["lines_created"]
