"""Where billable meals come from: a thin adapter over the canteen's selectors.

The contract (``canteen.selectors.billable_units(*, start, end, child_ids=None)``, every daily
service; ``billable_meals`` is its canteen-only subset) returns
``BillableMeal`` objects with: child_id, household_id, day, kind ("meal" | "packed_lunch" |
"unbooked_meal" | "activity"), amount_cents, currency, explanation, source ("attendance" |
"booking" | "flat_attendance" | "flat_booking"), source_id and, for lines of other services than
the canteen, service_code. Tests and the benchmark replace :func:`billable_meals` (``monkeypatch`` or
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
    # Every daily service (canteen, care, centres), each line with its service code.
    units: list[Any] = canteen_selectors.billable_units(start=start, end=end, child_ids=child_ids)
    return units


@contextlib.contextmanager
def use_meal_source(source: Callable[..., Iterable[Any]]) -> Iterator[None]:
    """Bill from ``source`` instead of the canteen (tests, benchmark)."""
    global _override
    previous, _override = _override, source
    try:
        yield
    finally:
        _override = previous
