"""Prices are those in force on the service day (issue 11, item 8).

Sibling rank, income bracket and residency price a day as they stood that day: enrolling an
elder child or moving out of the city later must not re-price past meals.
"""

import datetime as dt

import pytest
import time_machine

from canteen import services
from canteen.selectors import billable_meals
from tests.canteen.factories import make_assessment, make_tariff, make_year
from tests.factories import ChildFactory, SchoolFactory, household_with_parent

pytestmark = pytest.mark.django_db
BOOKED_AT = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def family():
    school = SchoolFactory()
    make_year()
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
    with time_machine.travel(dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC), tick=False):
        services.roll_take(
            school=school,
            day=dt.date(2026, 11, 2),
            statuses={kids[0].id: "present", kids[1].id: "present"},
            actor=user,
        )
    return school, household, kids


def _prices(kids):
    meals = billable_meals(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30))
    return {(m.child_id, m.day): m.amount_cents for m in meals}


def test_enrolling_an_elder_third_child_does_not_reprice_past_meals(family):
    school, household, (first, second) = family
    before = _prices((first, second))
    assert before[(first.id, dt.date(2026, 11, 2))] == 265  # bracket 3, 1st child
    assert before[(second.id, dt.date(2026, 11, 3))] == 245  # bracket 3, 2nd child

    # December: an elder child joins the household's school; the others become 2nd and 3rd.
    ChildFactory(household=household, school=school, birth_date=dt.date(2014, 1, 1))

    assert _prices((first, second)) == before


def test_moving_out_of_the_city_does_not_reprice_past_meals(family):
    _school, household, kids = family
    before = _prices(kids)
    household.is_resident = False
    household.save()
    assert _prices(kids) == before


def test_the_service_day_freezes_the_facts_of_that_day(family):
    """A booking made weeks ahead is priced with the facts of its service day, not of the day
    it was made: the morning task freezes them, later changes no longer count."""
    school, household, (first, second) = family
    day = dt.date(2026, 11, 5)
    # before 5 Nov an elder child joins: on 5 Nov the others are 2nd and 3rd
    ChildFactory(household=household, school=school, birth_date=dt.date(2014, 1, 1))
    assert services.bookings_freeze_prices(day=day) == 2
    # after 5 Nov the household leaves the city: 5 Nov stays a resident's day
    household.is_resident = False
    household.save()
    prices = _prices((first, second))
    assert prices[(first.id, day)] == 245  # bracket 3, 2nd child, resident
    assert prices[(second.id, day)] == 225  # bracket 3, 3rd child, resident
