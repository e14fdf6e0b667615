"""Address lookup → catchment school, and after-school activities with a waiting list."""

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.models import Notification
from family import selectors, services
from family.addresses import normalize_street, parse_address
from family.models import ActivityRegistration, CatchmentArea
from tests.conftest import api_client_for
from tests.factories import ChildFactory, SchoolFactory
from tests.family.factories import ActivityFactory


@pytest.mark.parametrize(
    ("text", "number", "street"),
    [
        ("12 rue Jules Ferry", 12, "rue jules ferry"),
        ("12 bis, Av. Jean-Jaurès", 12, "avenue jean jaures"),
        ("3ter bd  Saint-Michel", 3, "boulevard saint michel"),
        ("place de l'Église", None, "place de l eglise"),
    ],
)
def test_parse_address(text, number, street):
    parsed = parse_address(text)
    assert (parsed.number, parsed.street_key) == (number, street)


def test_catchment_by_number_range_and_side(db):
    odd, even, end = SchoolFactory(), SchoolFactory(), SchoolFactory()
    CatchmentArea.objects.create(school=odd, street_name="Avenue Jean Jaurès", parity="odd")
    CatchmentArea.objects.create(
        school=even, street_name="av. jean jaures", parity="even", number_to=99
    )
    CatchmentArea.objects.create(
        school=end, street_name="avenue Jean-Jaurès", parity="even", number_from=100
    )
    assert normalize_street("Avenue Jean Jaurès") == "avenue jean jaures"
    assert selectors.catchment_school_for_address(address_line="3 avenue Jean Jaurès") == odd
    assert selectors.catchment_school_for_address(address_line="4 av Jean Jaurès") == even
    assert selectors.catchment_school_for_address(address_line="120 avenue jean-jaures") == end
    assert selectors.catchment_school_for_address(address_line="4 rue Inconnue") is None


def test_address_lookup_api(world):
    client = api_client_for(world.parent)
    r = client.get(reverse("family-api:address-lookup"), {"address": "7 Rue de la Paix"})
    assert r.status_code == 200
    assert r.json()["school"]["id"] == world.school_a.pk
    assert client.get(reverse("family-api:address-lookup")).status_code == 400
    page = Client()
    page.force_login(world.parent)
    html = page.get(
        reverse("family:applications"), {"adresse": "7 rue de la Paix"}
    ).content.decode()
    assert "École de secteur : École A" in html


def register(user, activity, child):
    return api_client_for(user).post(
        reverse("family-api:activity-register", args=[activity.pk]),
        {"child": child.pk},
        format="json",
    )


def test_waiting_list_and_automatic_promotion(world):
    activity = ActivityFactory(school=world.school_a, capacity=1)
    other = ChildFactory(household=world.household, school=world.school_a)
    third = ChildFactory(household=world.household, school=world.school_a)
    first = register(world.parent, activity, world.child).json()
    assert first["state"] == "confirmed"
    second = register(world.parent, activity, other).json()
    assert second["state"] == "waiting"
    assert second["waiting_position"] == 1
    assert register(world.parent, activity, third).json()["waiting_position"] == 2
    r = register(world.parent, activity, world.child)
    assert r.status_code == 400
    assert "déjà inscrit" in r.json()["message"]
    notifications = Notification.objects.count()
    r = api_client_for(world.parent).post(
        reverse("family-api:activity-registration-cancel", args=[first["id"]])
    )
    assert r.status_code == 200
    assert r.json()["state"] == "cancelled"
    assert ActivityRegistration.objects.get(pk=second["id"]).state == "confirmed"
    assert ActivityRegistration.objects.get(child=third).state == "waiting"
    assert Notification.objects.count() > notifications
    assert selectors.activity_seats(activity=activity) == {
        "capacity": 1,
        "confirmed": 1,
        "waiting": 1,
        "free": 0,
    }
    # more seats promote the rest; fewer seats than confirmed is refused
    r = api_client_for(world.staff).post(
        reverse("family-api:activity-capacity", args=[activity.pk]), {"capacity": 3}, format="json"
    )
    assert r.json()["seats"] == {"capacity": 3, "confirmed": 2, "waiting": 0, "free": 1}
    r = api_client_for(world.staff).post(
        reverse("family-api:activity-capacity", args=[activity.pk]), {"capacity": 1}, format="json"
    )
    assert r.status_code == 400


def test_activity_only_for_children_of_the_school_and_open(world):
    activity = ActivityFactory(school=world.school_b)
    r = register(world.parent, activity, world.child)
    assert r.status_code == 404  # parent does not see school B's activities
    activity_a = ActivityFactory(school=world.school_a, is_open=False)
    assert register(world.parent, activity_a, world.child).status_code == 400
    assert ActivityRegistration.objects.count() == 0


def test_cancelling_a_waiting_registration_promotes_nobody(world):
    activity = ActivityFactory(school=world.school_a, capacity=1)
    other = ChildFactory(household=world.household, school=world.school_a)
    services.activity_register(actor=world.parent, activity=activity, child=world.child)
    waiting = services.activity_register(actor=world.parent, activity=activity, child=other)
    assert services.activity_registration_cancel(actor=world.parent, registration=waiting) == []
    assert ActivityRegistration.objects.filter(state="confirmed").count() == 1


def test_activities_page(world):
    ActivityFactory(school=world.school_a, name="Étude du soir")
    client = Client()
    client.force_login(world.parent)
    html = client.get(reverse("family:activities")).content.decode()
    assert "Étude du soir" in html
    client.force_login(world.staff)
    assert "Étude du soir" in client.get(reverse("family:activities")).content.decode()


def test_school_calendar_page_is_public(db):
    from django.utils import timezone

    from family.demo import seed_school_year

    seed_school_year(timezone.localdate())
    html = Client().get(reverse("family:calendar")).content.decode()
    assert "Vacances de Noël" in html
