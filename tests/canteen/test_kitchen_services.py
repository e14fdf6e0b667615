"""The kitchen's allergy/PAI list of a site names the children eating there through any service:
canteen meals at the child's school and holiday-centre lunches at the centre's site."""

import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from canteen import services
from canteen.models import Service, Unit
from canteen.selectors import kitchen_daily_list, kitchen_lists
from family.models import CarePlan
from tests.canteen.factories import make_menu, make_service, make_tariff, make_year
from tests.factories import SchoolFactory, StaffFactory, household_with_parent

pytestmark = pytest.mark.django_db
BOOKED_AT = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
HOLIDAYS = ("holiday", "Vacances de Noël", dt.date(2026, 12, 19), dt.date(2027, 1, 3), None)
DAY = dt.date(2026, 12, 22)


@pytest.fixture
def centre():
    school, site = SchoolFactory(), SchoolFactory()
    make_year(closures=[HOLIDAYS])
    make_tariff()
    _service, (with_meal, morning) = make_service(
        code="ALSH-VAC",
        kind=Service.Kind.HOLIDAY_CENTRE,
        site=site,
        units=[
            ("JOUR-REPAS", Unit.Kind.FULL_DAY, None, True),
            ("MATIN", Unit.Kind.MORNING, None, False),
        ],
    )
    _h, _u, (lunch, no_lunch, no_allergy) = household_with_parent(children=3, school=school)
    for child in (lunch, no_lunch):
        child.allergies = ["peanuts"]
        child.save()
    CarePlan.objects.create(
        child=lunch,
        valid_from=dt.date(2026, 9, 1),
        valid_until=dt.date(2027, 7, 3),
        instructions="Stylo d'adrénaline dans le sac",
    )
    with time_machine.travel(BOOKED_AT, tick=False):
        services.bookings_create(children=[lunch, no_allergy], days=[DAY], unit=with_meal)
        services.bookings_create(children=[no_lunch], days=[DAY], unit=morning)
    make_menu(DAY, dishes=[("dessert", "standard", "Cookie", {"peanuts": "contains"})])
    return school, site, lunch


def test_holiday_centre_lunch_is_on_the_site_kitchen_list(centre, django_assert_max_num_queries):
    school, site, lunch = centre
    entries = kitchen_daily_list(school=site, day=DAY)
    assert [(e.child_id, e.level, e.has_pai) for e in entries] == [(lunch.id, "contains", True)]
    assert "Stylo d'adrénaline" in entries[0].action
    # not on the list of the child's own school: the child eats at the centre
    assert kitchen_daily_list(school=school, day=DAY) == []
    with django_assert_max_num_queries(5):
        lists = kitchen_lists(school_ids=[school.id, site.id], day=DAY)
    assert list(lists) == [site.id]


def test_holiday_centre_lunch_is_in_the_pai_exports(centre, client):
    _school, site, lunch = centre
    staff = StaffFactory()
    staff.staff_schools.add(site)
    client.force_login(staff)
    url = reverse("canteen:forecast")
    text = client.get(url, {"debut": DAY.isoformat(), "format": "pai_csv"}).content.decode(
        "utf-8-sig"
    )
    assert f"{lunch.first_name} {lunch.last_name}" in text
    assert site.name in text
    xlsx = client.get(url, {"debut": DAY.isoformat(), "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["PAI et allergies"]
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == [f"{lunch.first_name} {lunch.last_name}"]
