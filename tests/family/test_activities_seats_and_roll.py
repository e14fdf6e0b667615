"""Activity seats from one selector (siblings do not multiply them), the children offered, and
the activity roll that feeds billing."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from family import selectors, services
from family.models import ActivityAttendance
from tests.conftest import api_client_for
from tests.factories import SchoolFactory, household_with_parent
from tests.family.factories import ActivityFactory


@pytest.fixture
def siblings(db):
    school = SchoolFactory()
    _household, parent, kids = household_with_parent(children=2, school=school)
    _h2, other_parent, (other,) = household_with_parent(children=1, school=school)
    activity = ActivityFactory(school=school, capacity=2)
    services.activity_register(actor=other_parent, activity=activity, child=other)

    class S:
        pass

    s = S()
    s.school, s.parent, s.kids, s.activity, s.other = school, parent, kids, activity, other
    return s


def page(user):
    client = Client()
    client.force_login(user)
    return client.get(reverse("family:activities")).content.decode()


def test_seats_are_not_multiplied_by_siblings(siblings):
    from family import permissions as perms

    (activity,) = selectors.activities_with_seats(perms.activities_for_user(siblings.parent))
    assert (activity.capacity, activity.confirmed_count, activity.waiting_count) == (2, 1, 0)
    seats = api_client_for(siblings.parent).get(reverse("family-api:activities")).json()
    assert seats["results"][0]["seats"]["confirmed"] == 1


def test_waiting_list_button_only_once_full_and_registered_child_not_offered(siblings):
    first, second = siblings.kids
    html = page(siblings.parent)
    assert "S'inscrire sur liste d'attente" not in html
    assert f'<option value="{first.pk}">' in html
    assert f'<option value="{second.pk}">' in html
    services.activity_register(actor=siblings.parent, activity=siblings.activity, child=first)
    html = page(siblings.parent)
    assert "S'inscrire sur liste d'attente" in html  # 2 of 2 seats taken now
    assert f'<option value="{first.pk}">' not in html  # already registered
    assert f'<option value="{second.pk}">' in html
    offers = selectors.activity_offers(user=siblings.parent, activities=[siblings.activity])
    assert offers[siblings.activity.pk] == [second]


def test_activity_roll_feeds_billing(siblings):
    from tests.factories import StaffFactory

    first, _second = siblings.kids
    services.activity_register(actor=siblings.parent, activity=siblings.activity, child=first)
    staff = StaffFactory()
    staff.staff_schools.add(siblings.school)
    day = siblings.activity.start_date
    while day.weekday() not in siblings.activity.weekdays:
        day += dt.timedelta(days=1)
    _roll, rows = selectors.activity_roll_sheet(activity=siblings.activity, day=day)
    assert {r["child"].pk for r in rows} == {first.pk, siblings.other.pk}
    client = Client()
    client.force_login(staff)
    url = reverse("family:activity-roll", args=[siblings.activity.pk])
    r = client.post(
        url,
        {
            "day": day.isoformat(),
            f"c{first.pk}": "present",
            f"c{siblings.other.pk}": "absent_justified",
        },
    )
    assert r.status_code == 302
    assert ActivityAttendance.objects.filter(activity=siblings.activity, day=day).count() == 2
    billable = selectors.billable_activity_attendance(start=day, end=day)
    assert [(b.child_id, b.activity_id, b.day) for b in billable] == [
        (first.pk, siblings.activity.pk, day)
    ]
    # a day the activity does not run is refused, nothing written
    sunday = day + dt.timedelta(days=(6 - day.weekday()))
    client.post(url, {"day": sunday.isoformat(), f"c{first.pk}": "present"})
    assert not ActivityAttendance.objects.filter(day=sunday).exists()
    # a parent cannot take the roll
    client.force_login(siblings.parent)
    assert (
        client.post(url, {"day": day.isoformat(), f"c{first.pk}": "absent_unjustified"}).status_code
        == 404
    )
    assert ActivityAttendance.objects.get(child=first, day=day).status == "present"
