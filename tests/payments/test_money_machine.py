"""The money state machine under random sequences (reduced budget here; see
``bench/payments_property.py`` for the large one). Environment: ``MINOT_MONEY_EXAMPLES`` and
``MINOT_MONEY_STEPS`` raise the budget."""

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from .money_machine import STATS, MoneyMachine


@pytest.mark.django_db(transaction=True)
def test_random_money_sequences_keep_the_books_balanced(localstripe):
    examples = int(os.environ.get("MINOT_MONEY_EXAMPLES", "10"))
    steps = int(os.environ.get("MINOT_MONEY_STEPS", "20"))
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            derandomize=os.environ.get("MINOT_MONEY_SEED") is None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    assert STATS["steps"] > 0
    from .money_machine import _write_progress

    _write_progress()
