"""billable_meals (contract with payments) and the month calendar selector."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from canteen import services
from canteen.models import AttendanceRecord, Booking
from canteen.selectors import billable_meals, child_month_calendar, kitchen_daily_list
from family.models import CarePlan
from tests.canteen.factories import make_assessment, make_menu, make_tariff, make_year
from tests.factories import SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db
BOOKED_AT = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def setup():
    school = SchoolFactory()
    make_year(
        closures=[
            ("public_holiday", "Armistice", dt.date(2026, 11, 11), dt.date(2026, 11, 11), None)
        ]
    )
    make_tariff()
    household, user, kids = household_with_parent(children=2, school=school)
    kids[0].birth_date, kids[1].birth_date = dt.date(2016, 1, 1), dt.date(2018, 1, 1)
    for k in kids:
        k.save()
    make_assessment(household, bracket=3)
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_create_pattern(
            children=kids,
            start=dt.date(2026, 11, 2),
            end=dt.date(2026, 11, 6),
            weekdays=range(5),
            actor=user,
        )
    return school, household, user, kids


def test_bookings_are_billed_until_the_roll_is_taken(setup):
    _school, household, _user, (_first, _second) = setup
    meals = billable_meals(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    assert len(meals) == 10
    assert {m.source for m in meals} == {"booking"}
    assert sum(m.amount_cents for m in meals) == 5 * 265 + 5 * 245
    assert meals[0].explanation == "tranche 3, 1er enfant, résident : 2,65\u00a0€"
    assert all(m.household_id == household.id and m.currency == "EUR" for m in meals)


def test_attendance_decides_once_the_roll_is_taken(setup, django_assert_max_num_queries):
    school, _household, user, (first, second) = setup
    other_household, _u, (stranger,) = household_with_parent(children=1, school=school)
    make_assessment(other_household, bracket=1)
    with time_machine.travel(dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC), tick=False):
        services.roll_take(
            school=school,
            day=dt.date(2026, 11, 3),
            statuses={
                first.id: "absent_justified",
                second.id: "absent_unjustified",
                stranger.id: "present",
            },
            actor=user,
        )
    assert AttendanceRecord.objects.get(child=stranger).status == "present_unbooked"
    with django_assert_max_num_queries(8):
        meals = billable_meals(start=dt.date(2026, 11, 3), end=dt.date(2026, 11, 3))
    by_child = {m.child_id: m for m in meals}
    assert first.id not in by_child  # absent justified: not billed
    assert by_child[second.id].source == "attendance"
    assert by_child[second.id].amount_cents == 245
    assert by_child[stranger.id].kind == "unbooked_meal"
    assert by_child[stranger.id].amount_cents == 183 + 150


def test_child_filter_and_packed_lunch(setup):
    _school, _household, user, (first, second) = setup
    CarePlan.objects.create(
        child=second,
        valid_from=dt.date(2026, 11, 9),
        valid_until=dt.date(2027, 7, 3),
        packed_lunch=True,
    )
    with time_machine.travel(BOOKED_AT, tick=False):
        services.booking_create(child=second, day=dt.date(2026, 11, 9), actor=user)
    meals = billable_meals(
        start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 9), child_ids=[second.id]
    )
    assert [(m.kind, m.amount_cents) for m in meals] == [("packed_lunch", 64)]
    assert (
        billable_meals(start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 9), child_ids=[first.id])
        == []
    )


def test_cancelled_bookings_are_not_billed(setup):
    _school, _h, _user, (first, _second) = setup
    Booking.objects.filter(child=first, day=dt.date(2026, 11, 2)).update(status="cancelled")
    assert len(billable_meals(start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 2))) == 1


def test_roll_rules(setup):
    school, _h, user, (first, second) = setup
    from backend.core.exceptions import ApplicationError

    with time_machine.travel(dt.datetime(2026, 11, 4, 12, 0, tzinfo=dt.UTC), tick=False):
        with pytest.raises(ApplicationError, match="chaque enfant"):
            services.roll_take(
                school=school, day=dt.date(2026, 11, 4), statuses={first.id: "present"}, actor=user
            )
        with pytest.raises(ApplicationError, match="futur"):
            services.roll_take(school=school, day=dt.date(2026, 11, 5), statuses={}, actor=user)
        services.roll_take(
            school=school,
            day=dt.date(2026, 11, 4),
            statuses={first.id: "present", second.id: "present"},
            actor=user,
        )
        with pytest.raises(ApplicationError, match="déjà été pris"):
            services.roll_take(
                school=school,
                day=dt.date(2026, 11, 4),
                statuses={first.id: "absent_justified", second.id: "present"},
                actor=user,
            )
    assert AttendanceRecord.objects.filter(day=dt.date(2026, 11, 4), status="present").count() == 2


def test_month_calendar_states_prices_and_warnings(setup, django_assert_max_num_queries):
    _school, _h, user, (first, _second) = setup
    first.allergies = ["peanuts"]
    first.save()
    make_menu(
        dt.date(2026, 11, 2), dishes=[("dessert", "standard", "Cookie", {"peanuts": "contains"})]
    )
    make_menu(dt.date(2026, 11, 5))  # all free
    now = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)
    with CaptureQueriesContext(connection) as before:
        days = child_month_calendar(child=first, year=2026, month=11, now=now)
    assert len(before) <= 16
    by_day = {d.day: d for d in days}
    assert len(days) == 30
    assert by_day[dt.date(2026, 11, 1)].state == "closed"  # Sunday
    assert by_day[dt.date(2026, 11, 11)].closed_reason == "Armistice"
    assert by_day[dt.date(2026, 11, 2)].state == "booked"
    assert by_day[dt.date(2026, 11, 2)].safety.level == "contains"
    assert by_day[dt.date(2026, 11, 5)].safety.level == "safe"
    assert by_day[dt.date(2026, 11, 6)].safety.level == "unknown"  # no menu published
    assert by_day[dt.date(2026, 11, 4)].can_cancel is False  # J-2 cancel deadline passed
    assert by_day[dt.date(2026, 11, 6)].can_cancel is True
    assert (
        by_day[dt.date(2026, 11, 6)].deadline_text
        == "Annulable jusqu'au mercredi 04/11/2026 à 10:00"
    )
    assert by_day[dt.date(2026, 11, 9)].state == "not_booked"
    assert by_day[dt.date(2026, 11, 9)].can_book
    assert by_day[dt.date(2026, 11, 5)].state == "booked"
    assert (
        by_day[dt.date(2026, 11, 9)].price.explanation
        == "tranche 3, 1er enfant, résident : 2,65\u00a0€"
    )
    # a month with more bookings costs the same number of queries
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_create_pattern(
            children=[first],
            start=dt.date(2026, 11, 9),
            end=dt.date(2026, 11, 30),
            weekdays=range(5),
            actor=user,
        )
    first.refresh_from_db()
    with CaptureQueriesContext(connection) as after:
        child_month_calendar(child=first, year=2026, month=11, now=now)
    # shared data (rules, tariffs, school calendar, menus) now comes from the cache
    assert len(after) < len(before)
    cached_count = len(after)
    with CaptureQueriesContext(connection) as again:
        child_month_calendar(child=first, year=2026, month=11, now=now)
    assert len(again) == cached_count


def test_kitchen_daily_list_names_allergy_and_pai_children(setup):
    school, _h, _user, (first, _second) = setup
    first.allergies = ["peanuts", "nuts"]
    first.save()
    CarePlan.objects.create(
        child=first,
        valid_from=dt.date(2026, 9, 1),
        valid_until=dt.date(2027, 7, 3),
        instructions="Trousse en classe",
    )
    make_menu(
        dt.date(2026, 11, 2), dishes=[("dessert", "standard", "Cookie", {"peanuts": "contains"})]
    )
    entries = kitchen_daily_list(school=school, day=dt.date(2026, 11, 2))
    assert [e.child_id for e in entries] == [first.id]
    assert entries[0].has_pai
    assert entries[0].level == "contains"
    assert "Trousse en classe" in entries[0].action


def test_kitchen_lists_for_many_schools_in_constant_queries(setup, django_assert_max_num_queries):
    from canteen.selectors import kitchen_lists

    school, _h, _user, (first, _second) = setup
    other = SchoolFactory()
    _h2, _u2, (pai_only,) = household_with_parent(children=1, school=other)
    CarePlan.objects.create(
        child=pai_only,
        valid_from=dt.date(2026, 9, 1),
        valid_until=dt.date(2027, 7, 3),
        packed_lunch=True,
    )
    Booking.objects.create(child=pai_only, day=dt.date(2026, 11, 2), variant="packed_lunch")
    first.allergies = ["milk"]
    first.save()
    make_menu(dt.date(2026, 11, 2), dishes=[("dairy", "standard", "Yaourt", {"milk": "contains"})])
    with django_assert_max_num_queries(5):
        lists = kitchen_lists(school_ids=[school.id, other.id], day=dt.date(2026, 11, 2))
    assert [e.child_id for e in lists[school.id]] == [first.id]
    assert lists[school.id][0].level == "contains"
    assert [(e.child_id, e.level, e.has_pai) for e in lists[other.id]] == [
        (pai_only.id, "packed_lunch", True)
    ]


def test_calendar_shows_attendance_prices_like_billing(setup):
    school, _h, user, (first, second) = setup
    _h2, _u2, (stranger,) = household_with_parent(children=1, school=school)
    with time_machine.travel(dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC), tick=False):
        services.roll_take(
            school=school,
            day=dt.date(2026, 11, 3),
            statuses={first.id: "absent_justified", second.id: "present", stranger.id: "present"},
            actor=user,
        )
    now = dt.datetime(2026, 11, 3, 13, 0, tzinfo=dt.UTC)
    day_first = {d.day: d for d in child_month_calendar(child=first, year=2026, month=11, now=now)}
    assert day_first[dt.date(2026, 11, 3)].state == "absent"
    assert day_first[dt.date(2026, 11, 3)].price is None
    assert "non facturé" in day_first[dt.date(2026, 11, 3)].notes[0]
    day_stranger = {
        d.day: d for d in child_month_calendar(child=stranger, year=2026, month=11, now=now)
    }
    assert day_stranger[dt.date(2026, 11, 3)].price.kind == "unbooked_meal"
