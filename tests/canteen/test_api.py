"""API: menus (public), bookings (list, bulk create, cancel, copy week), calendar, price,
attendance, forecast — and who may reach what (roles × objects; denied actions change nothing)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from canteen.models import AttendanceRoll, Booking, Menu
from tests.canteen.factories import make_assessment, make_menu, make_tariff, make_year
from tests.conftest import api_client_for
from tests.factories import (
    AdminFactory,
    TechnicianFactory,
)
from tests.world import build_world

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    """The shared world (tests/world.py) at NOW, with two children at school A and the canteen's
    year and tariff."""
    make_year()
    make_tariff()
    w = build_world(today=NOW.date(), children_a=2)
    lea, hugo = w.children_a
    make_assessment(w.household, bracket=3)
    return {
        "school_a": w.school_a,
        "school_b": w.school_b,
        "parent": w.parent,
        "lea": lea,
        "hugo": hugo,
        "other_parent": w.parent2,
        "ines": w.child2,
        "staff_a": w.staff,
    }


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_public_menus_without_login_show_all_14_allergens(world, api_client):
    make_menu(dt.date(2026, 11, 5), dishes=[("main", "standard", "Poisson", {"fish": "contains"})])
    make_menu(dt.date(2026, 11, 6), published=False)
    response = api_client.get(
        reverse("canteen-api:menus"), {"start": "2026-11-02", "end": "2026-11-08"}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["day"] for r in results] == ["2026-11-05"]
    allergens = results[0]["dishes"][0]["allergens"]
    assert len(allergens) == 14
    assert allergens["fish"] == "contains"
    assert allergens["milk"] == "unknown"


def test_the_menus_every_family_reads_change_as_soon_as_staff_write(world, api_client):
    """The menus API's rows are kept once for everybody (shared cache, per process too): a
    publication, an edit and a new school menu are each seen by the very next read."""
    from canteen import services

    city = make_menu(dt.date(2026, 11, 5), published=False)
    week = {"start": "2026-11-02", "end": "2026-11-08", "school": world["school_a"].id}

    def days():
        response = api_client.get(reverse("canteen-api:menus"), week)
        assert response.status_code == 200
        return {r["day"]: [d["name"] for d in r["dishes"]] for r in response.json()["results"]}

    assert days() == {}
    services.menu_publish(menu=city)
    assert list(days()) == ["2026-11-05"]
    services.menu_save(
        school=world["school_a"],
        day=dt.date(2026, 11, 5),
        dishes=[{"course": "main", "variant": "standard", "name": "Lasagnes", "allergens": {}}],
        publish=True,
    )
    assert days() == {"2026-11-05": ["Lasagnes"]}


def test_menus_bad_input_is_400(api_client, db):
    assert api_client.get(reverse("canteen-api:menus"), {"start": "garbage"}).status_code == 400
    r = api_client.get(reverse("canteen-api:menus"), {"start": "2026-01-10", "end": "2026-01-01"})
    assert r.status_code == 400
    assert "fin" in r.json()["message"]
    assert api_client.get(reverse("canteen-api:menus"), {"school": 999999}).status_code == 404


def test_parent_bulk_books_by_pattern_and_lists(world):
    client = api_client_for(world["parent"])
    r = client.post(
        reverse("canteen-api:bookings"),
        {
            "children": [world["lea"].id, world["hugo"].id],
            "start": "2026-11-02",
            "end": "2026-11-13",
            "weekdays": [0, 1, 3, 4],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert len(r.json()["booked"]) == 12  # 5,6,9,10,12,13 × 2 children (2 and 3 past deadline)
    listed = client.get(reverse("canteen-api:bookings"), {"child": world["lea"].id}).json()
    assert listed["count"] == 6
    assert listed["results"][0]["price"] == {
        "amount_cents": 265,
        "currency": "EUR",
        "explanation": "tranche 3, 1er enfant, résident : 2,65\u00a0€",
    }


def test_parent_cannot_book_for_a_foreign_child(world):
    client = api_client_for(world["parent"])
    r = client.post(
        reverse("canteen-api:bookings"),
        {"children": [world["ines"].id], "days": ["2026-11-05"]},
        format="json",
    )
    assert r.status_code == 404
    r = client.post(
        reverse("canteen-api:bookings"),
        {"children": [world["lea"].id, world["ines"].id], "days": ["2026-11-05"]},
        format="json",
    )
    assert r.status_code == 404
    assert Booking.objects.count() == 0


def test_closed_past_deadline_and_duplicate_are_400_nothing_written(world):
    client = api_client_for(world["parent"])
    url = reverse("canteen-api:bookings")
    r = client.post(url, {"children": [world["lea"].id], "days": ["2026-11-07"]}, format="json")
    assert r.status_code == 400
    assert "Week-end" in r.json()["message"]
    r = client.post(url, {"children": [world["lea"].id], "days": ["2026-11-03"]}, format="json")
    assert r.status_code == 400
    assert "jusqu'au" in r.json()["message"]
    assert Booking.objects.count() == 0
    assert (
        client.post(
            url, {"children": [world["lea"].id], "days": ["2026-11-05"]}, format="json"
        ).status_code
        == 201
    )
    r = client.post(url, {"children": [world["lea"].id], "days": ["2026-11-05"]}, format="json")
    assert r.status_code == 400
    assert "déjà réservé" in r.json()["message"]
    assert Booking.objects.count() == 1
    r = client.post(url, {"children": [world["lea"].id]}, format="json")
    assert r.status_code == 400
    r = client.post(url, {"children": ["x"], "days": ["nope"]}, format="json")
    assert r.status_code == 400


def test_cancel_and_copy_week(world):
    client = api_client_for(world["parent"])
    lea = world["lea"]
    client.post(
        reverse("canteen-api:bookings"),
        {"children": [lea.id], "days": ["2026-11-05", "2026-11-06"]},
        format="json",
    )
    r = client.post(
        reverse("canteen-api:bookings-copy-week"),
        {"child": lea.id, "source_week": "2026-11-02", "target_week": "2026-11-09"},
        format="json",
    )
    assert r.status_code == 201
    assert len(r.json()["booked"]) == 2
    r = client.post(
        reverse("canteen-api:bookings-cancel"),
        {"child": lea.id, "days": ["2026-11-05"]},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["cancelled"] == [{"child": lea.id, "day": "2026-11-05"}]
    r = client.post(
        reverse("canteen-api:bookings-cancel"),
        {"child": lea.id, "start": "2026-11-01", "end": "2026-11-30"},
        format="json",
    )
    assert len(r.json()["cancelled"]) == 3
    # another family cannot cancel
    other = api_client_for(world["other_parent"])
    client.post(
        reverse("canteen-api:bookings"),
        {"children": [lea.id], "days": ["2026-11-05"]},
        format="json",
    )
    r = other.post(
        reverse("canteen-api:bookings-cancel"),
        {"child": lea.id, "days": ["2026-11-05"]},
        format="json",
    )
    assert r.status_code == 404
    assert Booking.objects.get(child=lea, day=dt.date(2026, 11, 5)).status == "booked"


def test_calendar_and_price(world):
    client = api_client_for(world["parent"])
    lea = world["lea"]
    r = client.get(reverse("canteen-api:child-calendar", args=[lea.id]), {"month": "2026-11"})
    assert r.status_code == 200
    days = {d["day"]: d for d in r.json()["days"]}
    assert days["2026-11-05"]["state"] == "not_booked"
    assert days["2026-11-05"]["can_book"]
    assert days["2026-11-03"]["state"] == "past_deadline"
    assert days["2026-11-07"]["state"] == "closed"
    assert "tranche 3" in days["2026-11-05"]["price"]["explanation"]
    assert (
        client.get(
            reverse("canteen-api:child-calendar", args=[lea.id]), {"month": "2026-13"}
        ).status_code
        == 400
    )
    assert (
        api_client_for(world["other_parent"])
        .get(reverse("canteen-api:child-calendar", args=[lea.id]))
        .status_code
        == 404
    )
    r = client.get(reverse("canteen-api:price"), {"child": lea.id, "day": "2026-11-05"})
    assert r.json()["explanation"].startswith("tranche 3, ")


def test_staff_sees_only_their_schools(world):
    staff = api_client_for(world["staff_a"])
    parent = api_client_for(world["parent"])
    parent.post(
        reverse("canteen-api:bookings"),
        {"children": [world["lea"].id], "days": ["2026-11-05"]},
        format="json",
    )
    api_client_for(world["other_parent"]).post(
        reverse("canteen-api:bookings"),
        {"children": [world["ines"].id], "days": ["2026-11-05"]},
        format="json",
    )
    assert staff.get(reverse("canteen-api:bookings")).json()["count"] == 1
    assert (
        staff.get(reverse("canteen-api:attendance"), {"school": world["school_b"].id}).status_code
        == 404
    )
    assert (
        staff.get(reverse("canteen-api:attendance"), {"school": world["school_a"].id}).status_code
        == 200
    )
    assert (
        staff.get(reverse("canteen-api:forecast"), {"school": world["school_b"].id}).status_code
        == 404
    )
    rows = staff.get(reverse("canteen-api:forecast"), {"start": "2026-11-05"}).json()["rows"]
    assert rows == [
        {
            "school_id": world["school_a"].id,
            "school_code": world["school_a"].code,
            "school": world["school_a"].name,
            "day": "2026-11-05",
            "variant": "standard",
            "meals": 1,
        }
    ]
    assert (
        staff.get(reverse("canteen-api:kitchen-list"), {"school": world["school_b"].id}).status_code
        == 404
    )


def test_staff_takes_roll_once_and_not_for_other_school(world):
    api_client_for(world["parent"]).post(
        reverse("canteen-api:bookings"),
        {"children": [world["lea"].id], "days": ["2026-11-05"]},
        format="json",
    )
    staff = api_client_for(world["staff_a"])
    with time_machine.travel(dt.datetime(2026, 11, 5, 11, 0, tzinfo=dt.UTC), tick=False):
        r = staff.post(
            reverse("canteen-api:attendance"),
            {"school": world["school_b"].id, "day": "2026-11-05", "records": []},
            format="json",
        )
        assert r.status_code == 404
        r = staff.post(
            reverse("canteen-api:attendance"),
            {
                "school": world["school_a"].id,
                "day": "2026-11-05",
                "records": [{"child": world["lea"].id, "status": "bogus"}],
            },
            format="json",
        )
        assert r.status_code == 400
        r = staff.post(
            reverse("canteen-api:attendance"),
            {
                "school": world["school_a"].id,
                "day": "2026-11-05",
                "records": [
                    {"child": world["ines"].id, "status": "present"},
                    {"child": world["lea"].id, "status": "present"},
                ],
            },
            format="json",
        )
        assert r.status_code == 400
        assert AttendanceRoll.objects.count() == 0
        r = staff.post(
            reverse("canteen-api:attendance"),
            {
                "school": world["school_a"].id,
                "day": "2026-11-05",
                "records": [{"child": world["lea"].id, "status": "present"}],
            },
            format="json",
        )
        assert r.status_code == 201
        sheet = staff.get(
            reverse("canteen-api:attendance"), {"school": world["school_a"].id, "day": "2026-11-05"}
        )
        assert sheet.json()["taken"] is True


@pytest.mark.parametrize("role", ["parent", "technician", "anonymous"])
def test_staff_endpoints_refuse_other_roles(world, role, api_client):
    client = {
        "parent": api_client_for(world["parent"]),
        "technician": api_client_for(TechnicianFactory()),
        "anonymous": api_client,
    }[role]
    expected = 401 if role == "anonymous" else 404  # signed in with another role: not found
    for name, params in [
        ("attendance", {"school": world["school_a"].id}),
        ("forecast", {}),
        ("kitchen-list", {"school": world["school_a"].id}),
    ]:
        assert client.get(reverse(f"canteen-api:{name}"), params).status_code == expected
    r = client.post(
        reverse("canteen-api:menu-save"), {"day": "2026-11-05", "dishes": []}, format="json"
    )
    assert r.status_code == expected
    assert Menu.objects.count() == 0


def test_technician_and_anonymous_cannot_book(world, api_client):
    for client, expected in ((api_client_for(TechnicianFactory()), 404), (api_client, 401)):
        r = client.post(
            reverse("canteen-api:bookings"),
            {"children": [world["lea"].id], "days": ["2026-11-05"]},
            format="json",
        )
        assert r.status_code == expected
    assert Booking.objects.count() == 0


def test_menu_editing_scoped(world):
    staff = api_client_for(world["staff_a"])
    body = {
        "day": "2026-11-09",
        "publish": True,
        "dishes": [
            {
                "course": "main",
                "name": "Lasagnes",
                "allergens": {"gluten": "contains", "milk": "contains"},
            }
        ],
    }
    assert (
        staff.post(reverse("canteen-api:menu-save"), body, format="json").status_code == 403
    )  # city-wide
    assert (
        staff.post(
            reverse("canteen-api:menu-save"),
            {**body, "school": world["school_b"].id},
            format="json",
        ).status_code
        == 404
    )
    assert Menu.objects.count() == 0
    assert (
        staff.post(
            reverse("canteen-api:menu-save"),
            {**body, "school": world["school_a"].id},
            format="json",
        ).status_code
        == 201
    )
    admin = api_client_for(AdminFactory())
    assert admin.post(reverse("canteen-api:menu-save"), body, format="json").status_code == 201
    r = admin.post(
        reverse("canteen-api:menus-copy-week"),
        {"source_week": "2026-11-09", "target_week": "2026-11-16"},
        format="json",
    )
    assert r.status_code == 201
    assert r.json()["days"] == ["2026-11-16"]
    bad = {
        **body,
        "dishes": [{"course": "main", "name": "X", "allergens": {"kryptonite": "contains"}}],
    }
    assert admin.post(reverse("canteen-api:menu-save"), bad, format="json").status_code == 400


@pytest.mark.parametrize(
    ("name", "method", "body"),
    [
        ("bookings", "post", {"children": [1], "days": ["0001-01-01"]}),
        (
            "bookings",
            "post",
            {"children": [1], "start": "9999-12-31", "end": "9999-12-31", "weekdays": [0]},
        ),
        (
            "bookings-copy-week",
            "post",
            {"child": 1, "source_week": "9999-12-31", "target_week": "0001-01-01"},
        ),
        ("bookings-cancel", "post", {"child": 1, "start": "0001-01-01", "end": "0001-01-02"}),
        ("menus", "get", {"start": "0001-01-01"}),
        ("price", "get", {"child": 1, "day": "9999-12-31"}),
    ],
)
def test_extreme_dates_are_400_not_500(world, name, method, body):
    # the parent's own child: the dates alone are wrong, so the answer is exactly 400
    own = world["lea"].id
    body = {
        key: ([own] if key == "children" else own if key == "child" else value)
        for key, value in body.items()
    }
    client = api_client_for(world["parent"])
    url = reverse(f"canteen-api:{name}")
    response = client.post(url, body, format="json") if method == "post" else client.get(url, body)
    assert response.status_code == 400
    assert "message" in response.json()


def test_extreme_dates_on_pages_fall_back(client, world):
    client.force_login(world["staff_a"])
    assert (
        client.get(
            reverse("canteen:menu-week-public", args=[world["school_a"].code]),
            {"semaine": "0001-01-01"},
        ).status_code
        == 200
    )
    assert (
        client.get(
            reverse("canteen:roll", args=[world["school_a"].id]), {"jour": "9999-12-31"}
        ).status_code
        == 200
    )
    assert (
        client.get(reverse("canteen:forecast"), {"debut": "9999-12-31", "jours": "x"}).status_code
        == 200
    )
