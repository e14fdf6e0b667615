"""The month calendar's days are written out by hand (canteen.apis.calendar_day_data) for speed;
the serializer stays the contract. Any day the calendar can hold gets the same answer from both,
in both languages and whatever the time zone of the deadline."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

from django.utils import translation
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.utils.encoders import JSONEncoder

from canteen.apis import CalendarDayOutput, calendar_day_data
from canteen.models import Variant
from canteen.pricing import MEAL, PACKED_LUNCH, UNBOOKED_MEAL, PriceQuote
from canteen.safety import Level, SafetyCheck
from canteen.selectors import STATE_LABELS, CalendarDay

ZONES = [dt.UTC, zoneinfo.ZoneInfo("Europe/Paris"), zoneinfo.ZoneInfo("America/Cayenne")]
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from([gettext_lazy("Week-end"), gettext_lazy("Absence justifiée")]),
)
prices = st.builds(
    PriceQuote,
    amount_cents=st.integers(0, 10_000),
    currency=st.just("EUR"),
    explanation=texts,
    kind=st.sampled_from([MEAL, PACKED_LUNCH, UNBOOKED_MEAL]),
    base_cents=st.integers(0, 10_000),
    surcharge_cents=st.integers(0, 500),
    bracket=st.one_of(st.none(), st.integers(1, 8)),
    sibling_rank=st.integers(1, 4),
    resident=st.booleans(),
    tariff_id=st.integers(1, 9),
)
safeties = st.builds(
    SafetyCheck,
    level=st.sampled_from(
        [Level.NO_ALLERGY, Level.PACKED_LUNCH, Level.SAFE, Level.UNKNOWN, Level.CONTAINS]
    ),
    message=texts,
)
deadlines = st.one_of(
    st.none(),
    st.builds(
        lambda naive, zone: naive.replace(tzinfo=zone),
        st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2028, 12, 31)),
        st.sampled_from(ZONES),
    ),
)
days = st.builds(
    CalendarDay,
    day=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)),
    state=st.sampled_from(list(STATE_LABELS)),
    label=texts,
    closed_reason=st.one_of(st.none(), texts),
    deadline=deadlines,
    deadline_text=texts,
    can_book=st.booleans(),
    can_cancel=st.booleans(),
    locked=st.booleans(),
    attendance=st.one_of(st.none(), st.sampled_from(["present", "absent_justified"])),
    variant=st.sampled_from(list(Variant.values)),
    price=st.one_of(st.none(), prices),
    safety=st.one_of(st.none(), safeties),
    notes=st.lists(texts, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(day=days, language=st.sampled_from(["fr", "en"]))
def test_hand_written_day_answers_as_the_serializer(day, language):
    with translation.override(language):
        expected = CalendarDayOutput(day).data
        written = calendar_day_data(day)
    # Same keys in the same order, and the same JSON once rendered.
    assert list(written) == list(expected)
    assert json.dumps(written, cls=JSONEncoder) == json.dumps(expected, cls=JSONEncoder)
