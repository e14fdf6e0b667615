"""Deadline rules: J-n working days at a cut-off, skipping weekends and holidays (property tests)."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canteen.deadlines import Rule, SchoolCalendar, deadline_day, deadline_for, deadline_rules
from canteen.models import DeadlineRule

DAY = dt.timedelta(days=1)
BASE = dt.date(2026, 9, 1)

kinds = st.sampled_from(["holiday", "public_holiday", "day_off", "no_service"])
closure_lists = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 20), kinds), max_size=12)
rules = st.builds(
    Rule,
    days_before=st.integers(0, 10),
    cutoff_time=st.times(),
    skip_weekends=st.booleans(),
    skip_public_holidays=st.booleans(),
    skip_school_holidays=st.booleans(),
)


def calendar_from(closures) -> SchoolCalendar:
    days: dict = {}
    for offset, length, kind in closures:
        for i in range(length + 1):
            days.setdefault(BASE + dt.timedelta(days=offset + i), []).append((kind, kind))
    return SchoolCalendar(
        closures=days,
        years=[(BASE, BASE + dt.timedelta(days=320))],
        loaded_from=BASE - dt.timedelta(days=400),
        loaded_until=BASE + dt.timedelta(days=400),
    )


@settings(max_examples=300, deadline=None)
@given(closures=closure_lists, rule=rules, offset=st.integers(0, 320))
def test_deadline_is_n_working_days_before(closures, rule, offset):
    calendar = calendar_from(closures)
    day = BASE + dt.timedelta(days=offset)
    limit = deadline_day(day, rule, calendar)
    if rule.days_before == 0:
        assert limit == day
        return
    assert limit < day
    assert calendar.is_working_day(limit, rule)
    working = sum(
        1
        for i in range((day - limit).days)
        if calendar.is_working_day(limit + dt.timedelta(days=i), rule)
    )
    assert working == rule.days_before


@settings(max_examples=200, deadline=None)
@given(closures=closure_lists, rule=rules, a=st.integers(0, 320), b=st.integers(0, 320))
def test_deadline_is_monotonic(closures, rule, a, b):
    calendar = calendar_from(closures)
    d1, d2 = sorted([BASE + dt.timedelta(days=a), BASE + dt.timedelta(days=b)])
    assert deadline_for(d1, rule, calendar) <= deadline_for(d2, rule, calendar)


@settings(max_examples=200, deadline=None)
@given(closures=closure_lists, offset=st.integers(0, 320), n=st.integers(1, 6))
def test_skipping_more_kinds_never_moves_the_deadline_later(closures, offset, n):
    calendar = calendar_from(closures)
    day = BASE + dt.timedelta(days=offset)
    loose = Rule(days_before=n, skip_weekends=False, skip_public_holidays=False)
    strict = Rule(
        days_before=n, skip_weekends=True, skip_public_holidays=True, skip_school_holidays=True
    )
    assert deadline_day(day, strict, calendar) <= deadline_day(day, loose, calendar)


def test_examples_j2_monday_thursday_and_public_holiday():
    calendar = calendar_from([(70, 0, "public_holiday")])  # 2026-11-10 (Tuesday)
    rule = Rule(days_before=2, cutoff_time=dt.time(10, 0))
    # Thursday 2026-09-10 -> Tuesday 2026-09-08 10:00
    assert deadline_day(dt.date(2026, 9, 10), rule, calendar) == dt.date(2026, 9, 8)
    # Monday 2026-09-14 -> Thursday 2026-09-10 (weekend skipped)
    assert deadline_day(dt.date(2026, 9, 14), rule, calendar) == dt.date(2026, 9, 10)
    # Thursday 2026-11-12 -> Monday 2026-11-09 (public holiday on Tuesday skipped)
    assert deadline_day(dt.date(2026, 11, 12), rule, calendar) == dt.date(2026, 11, 9)
    # deadline is an aware datetime at the cut-off in the city's time zone
    limit = deadline_for(dt.date(2026, 9, 10), rule, calendar)
    assert limit.isoformat() == "2026-09-08T10:00:00+02:00"


@pytest.mark.django_db
def test_rules_come_from_the_database_and_lookback_extends():
    from tests.canteen.factories import make_year

    DeadlineRule.objects.update_or_create(
        action="cancel", defaults={"days_before": 5, "cutoff_time": dt.time(18, 0)}
    )
    rules = deadline_rules()
    assert rules.book.days_before == 2
    assert rules.cancel.days_before == 5
    assert rules.cancel.cutoff_time == dt.time(18, 0)
    # a 60-working-day rule reaches before the loaded window: the calendar loads more closures
    make_year(
        closures=[
            ("public_holiday", "Armistice", dt.date(2026, 11, 11), dt.date(2026, 11, 11), None)
        ]
    )
    calendar = SchoolCalendar.load(
        school=None, start=dt.date(2027, 1, 20), end=dt.date(2027, 1, 31)
    )
    far = Rule(days_before=60, skip_public_holidays=True)
    limit = deadline_day(dt.date(2027, 1, 25), far, calendar)
    assert calendar.loaded_from <= limit
    working = sum(
        1
        for i in range((dt.date(2027, 1, 25) - limit).days)
        if calendar.is_working_day(limit + i * DAY, far)
    )
    assert working == 60
