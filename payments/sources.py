"""Where billable meals come from: a thin adapter over the canteen's selectors.

The contract (``canteen.selectors.billable_meals(*, start, end, child_ids=None)``) returns
``BillableMeal`` objects with: child_id, household_id, day, kind ("meal" | "packed_lunch" |
"unbooked_meal"), amount_cents, currency, explanation, source ("attendance" | "booking") and
source_id. Tests and the benchmark replace :func:`billable_meals` (``monkeypatch`` or
:func:`use_meal_source`) to feed meals directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from canteen import selectors as canteen_selectors


class BillableMealLike(Protocol):
    child_id: int
    household_id: int
    day: dt.date
    kind: str
    amount_cents: int
    currency: str
    explanation: str
    source: str
    source_id: int


_override: Callable[..., Iterable[Any]] | None = None


def billable_meals(
    *, start: dt.date, end: dt.date, child_ids: list[int] | None = None
) -> list[BillableMealLike]:
    if _override is not None:
        return list(_override(start=start, end=end, child_ids=child_ids))
    return list(canteen_selectors.billable_meals(start=start, end=end, child_ids=child_ids))


@contextlib.contextmanager
def use_meal_source(source: Callable[..., Iterable[Any]]) -> Iterator[None]:
    """Bill from ``source`` instead of the canteen (tests, benchmark)."""
    global _override
    previous, _override = _override, source
    try:
        yield
    finally:
        _override = previous
