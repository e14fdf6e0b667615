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
from dataclasses import dataclass
from typing import Any, Protocol

from backend.core.money import format_money
from canteen import selectors as canteen_selectors


class BillableMealLike(Protocol):
    """What the billing run reads of a billable unit (read-only: frozen dataclasses fit)."""

    @property
    def child_id(self) -> int: ...
    @property
    def household_id(self) -> int: ...
    @property
    def day(self) -> dt.date: ...
    @property
    def kind(self) -> str: ...
    @property
    def amount_cents(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def explanation(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def source_id(self) -> int: ...


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


@dataclass(frozen=True)
class BillableActivity:
    """One session of an after-school activity, billed like a meal (same fields)."""

    child_id: int
    household_id: int
    day: dt.date
    kind: str
    amount_cents: int
    currency: str
    explanation: str
    source: str
    source_id: int


ACTIVITY_SOURCE_FACTOR = 1_000_000


def activity_source_id(registration_id: int, day: dt.date) -> int:
    """A stable id per (registration, session day): the invoice line's uniqueness key
    (``source_id // ACTIVITY_SOURCE_FACTOR`` is the registration)."""
    return registration_id * ACTIVITY_SOURCE_FACTOR + day.toordinal()


def billable_activities(
    *, start: dt.date, end: dt.date, child_ids: list[int] | None = None
) -> list[BillableActivity]:
    """Sessions of confirmed activity registrations in [start, end] that have a tariff.

    A session is each day of the activity's weekdays between its dates, while the registration
    was confirmed (from its confirmation day, until the day before its cancellation). Two
    queries, whatever the number of registrations.
    """
    from family.models import ActivityRegistration

    from .models import ActivityTariff

    tariffs = {t.activity_id: t for t in ActivityTariff.objects.select_related("activity")}
    if not tariffs:
        return []
    registrations = ActivityRegistration.objects.filter(
        activity_id__in=list(tariffs),
        confirmed_at__isnull=False,
        activity__start_date__lte=end,
        activity__end_date__gte=start,
    ).select_related("child")
    if child_ids is not None:
        registrations = registrations.filter(child_id__in=child_ids)
    out = []
    for reg in registrations:
        tariff = tariffs[reg.activity_id]
        activity = tariff.activity
        if reg.confirmed_at is None:
            continue
        first = max(start, activity.start_date, reg.confirmed_at.date())
        last = min(end, activity.end_date)
        if reg.cancelled_at is not None:
            last = min(last, reg.cancelled_at.date() - dt.timedelta(days=1))
        weekdays = {int(d) for d in (activity.weekdays or [])}
        day = first
        while day <= last:
            if not weekdays or day.weekday() in weekdays:
                out.append(
                    BillableActivity(
                        child_id=reg.child_id,
                        household_id=reg.child.household_id,
                        day=day,
                        kind="activity",
                        amount_cents=tariff.amount_cents,
                        currency=tariff.currency,
                        explanation=f"{activity.name} : "
                        + format_money(tariff.amount_cents, tariff.currency),
                        source="activity",
                        source_id=activity_source_id(reg.pk, day),
                    )
                )
            day += dt.timedelta(days=1)
    return out
