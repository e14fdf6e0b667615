"""Safety rule: what a family declares about a child's health counts at once.

A pending allergy, diet or PAI declaration is on the kitchen list, the roll and the parent's
calendar, marked "déclaré par la famille, en attente de validation"; staff reject it with a
reason (the family is notified), nothing is dropped silently; a removal waits for validation."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.models import Notification
from canteen.models import Booking
from canteen.selectors import child_month_calendar, kitchen_daily_list, roll_sheet
from family.models import ChangeRequest
from tests.canteen.factories import make_menu, make_tariff, make_year
from tests.conftest import api_client_for

DAY = dt.date(2026, 11, 3)
NOW = dt.datetime(2026, 10, 20, 8, 0, tzinfo=dt.UTC)
PENDING = "déclaré par la famille, en attente de validation"


@pytest.fixture
def kitchen(world):
    make_year()
    make_tariff()
    make_menu(DAY, dishes=[("dairy", "standard", "Yaourt", {"milk": "contains"})])
    Booking.objects.create(child=world.child, day=DAY, variant="standard")
    return world


def declare(world, changes):
    r = api_client_for(world.parent).post(
        reverse("family-api:change-requests"),
        {"category": "health", "child": world.child.pk, "changes": changes},
        format="json",
    )
    assert r.status_code == 201, r.json()
    return r.json()["id"]


def decide(world, change_id, **payload):
    return api_client_for(world.staff).post(
        reverse("family-api:change-request-decide", args=[change_id]), payload, format="json"
    )


def test_declared_milk_allergy_is_on_the_kitchen_list_at_once(kitchen):
    assert kitchen_daily_list(school=kitchen.school_a, day=DAY) == []
    declare(kitchen, {"allergies": ["milk"]})
    (entry,) = kitchen_daily_list(school=kitchen.school_a, day=DAY)
    assert entry.child_id == kitchen.child.pk
    assert entry.level == "contains"
    assert PENDING in entry.pending and PENDING in entry.action
    assert "Lait" in entry.allergies[0]
    # the staff API shows it too
    r = api_client_for(kitchen.staff).get(
        reverse("canteen-api:kitchen-list"), {"school": kitchen.school_a.pk, "day": "2026-11-03"}
    )
    assert [c["child_id"] for c in r.json()["children"]] == [kitchen.child.pk]
    assert PENDING in r.json()["children"][0]["pending"]


def test_declared_allergy_is_in_the_calendar_and_the_booking_warning(kitchen):
    declare(kitchen, {"allergies": ["milk"]})
    days = {
        d.day: d for d in child_month_calendar(child=kitchen.child, year=2026, month=11, now=NOW)
    }
    assert days[DAY].safety.level == "contains" and days[DAY].safety.warn
    assert any(PENDING in note for note in days[DAY].notes)
    r = api_client_for(kitchen.parent).get(
        reverse("canteen-api:child-calendar", args=[kitchen.child.pk]), {"month": "2026-11"}
    )
    day = next(d for d in r.json()["days"] if d["day"] == "2026-11-03")
    assert day["allergen_check"]["level"] == "contains"
    assert any(PENDING in note for note in day["notes"])


def test_declared_pai_and_diet_are_on_the_roll_and_kitchen_list(kitchen):
    declare(
        kitchen,
        {
            "diet": "vegetarian",
            "care_plan": {
                "valid_from": "2026-09-01",
                "valid_until": "2027-07-04",
                "instructions": "Trousse en classe",
            },
        },
    )
    (entry,) = kitchen_daily_list(school=kitchen.school_a, day=DAY)
    assert entry.has_pai and "Trousse en classe" in entry.action and PENDING in entry.pending
    assert "Végétarien" in entry.pending
    _roll, rows = roll_sheet(school=kitchen.school_a, day=DAY)
    row = next(r for r in rows if r["child"].pk == kitchen.child.pk)
    assert PENDING in row["pending_health"] and "PAI" in row["pending_health"]


def test_a_second_declaration_does_not_drop_the_first(kitchen):
    first = declare(kitchen, {"allergies": ["milk"]})
    declare(kitchen, {"diet": "no_pork"})
    assert ChangeRequest.objects.get(pk=first).state == "pending"
    (entry,) = kitchen_daily_list(school=kitchen.school_a, day=DAY)
    assert entry.level == "contains"
    # the family cannot quietly withdraw a health declaration either
    client = Client()
    client.force_login(kitchen.parent)
    r = client.post(reverse("family:change-request-cancel", args=[first]), follow=True)
    assert "nouvelle déclaration" in r.content.decode()
    assert ChangeRequest.objects.get(pk=first).state == "pending"


def test_removing_an_allergy_waits_for_validation(kitchen):
    kitchen.child.allergies = ["milk"]
    kitchen.child.save()
    change_id = declare(kitchen, {"allergies": []})
    (entry,) = kitchen_daily_list(school=kitchen.school_a, day=DAY)
    assert entry.level == "contains"  # still protected until staff validate
    assert decide(kitchen, change_id, approve=True).status_code == 200
    assert kitchen_daily_list(school=kitchen.school_a, day=DAY) == []


def test_staff_reject_with_a_reason_and_the_family_is_told(kitchen):
    change_id = declare(kitchen, {"allergies": ["milk"]})
    r = decide(kitchen, change_id, approve=False, reason="")
    assert r.status_code == 400
    assert ChangeRequest.objects.get(pk=change_id).state == "pending"
    assert len(kitchen_daily_list(school=kitchen.school_a, day=DAY)) == 1
    r = decide(kitchen, change_id, approve=False, reason="Certificat médical illisible")
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert Notification.objects.filter(
        user=kitchen.parent, body__contains="Certificat médical illisible"
    ).exists()
    assert kitchen_daily_list(school=kitchen.school_a, day=DAY) == []


def test_parent_calendar_page_shows_the_pending_note(kitchen):
    declare(kitchen, {"allergies": ["milk"]})
    client = Client()
    client.force_login(kitchen.parent)
    page = client.get(
        reverse("canteen:calendar", args=[kitchen.child.pk, 2026, 11])
    ).content.decode()
    assert PENDING in page
