"""/api/v1/services/: the calendar with every service, patterns across services, holiday weeks,
cancellations, rolls and forecasts — and who may reach what (foreign objects answer 404)."""

import datetime as dt

import pytest
import time_machine

from canteen.models import AttendanceRoll, Booking, Service, Unit, canteen_unit_id
from tests.canteen.factories import make_assessment, make_service, make_tariff, make_year
from tests.canteen.test_services_engine import CHRISTMAS, HOLIDAYS
from tests.conftest import api_client_for
from tests.factories import SchoolFactory
from tests.world import build_world

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    """The shared world (tests/world.py) at NOW, with two children at school A, the canteen's
    year (holidays) and tariff, evening care and a holiday centre on its own site."""
    make_year(closures=[HOLIDAYS, CHRISTMAS])
    make_tariff()
    w = build_world(today=NOW.date(), children_a=2)
    site = SchoolFactory()
    lea, hugo = w.children_a
    make_assessment(w.household, bracket=3)
    evening, (soir,) = make_service(
        code="GARD-SOIR",
        kind=Service.Kind.EVENING_CARE,
        units=[("SOIR", Unit.Kind.EVENING, None, False)],
    )
    centre, (day_meal,) = make_service(
        code="ALSH-VAC",
        kind=Service.Kind.HOLIDAY_CENTRE,
        site=site,
        units=[("JOUR-REPAS", Unit.Kind.FULL_DAY, 20, True)],
        prices=(800, 700, 600),
    )
    return {
        "school": w.school_a,
        "site": site,
        "other_school": w.school_b,
        "household": w.household,
        "parent": w.parent,
        "lea": lea,
        "hugo": hugo,
        "other_parent": w.parent2,
        "ines": w.child2,
        "evening": evening,
        "soir": soir,
        "centre": centre,
        "day_meal": day_meal,
        "staff": w.staff,
    }


def test_pattern_across_services_then_calendar_shows_each_service(world):
    client = api_client_for(world["parent"])
    meal = Unit.objects.get(pk=canteen_unit_id())  # recreated if a transactional test flushed it
    with time_machine.travel(NOW, tick=False):
        res = client.post(
            "/api/v1/services/bookings/",
            {
                "children": [world["lea"].id],
                "units": [meal.id, world["soir"].id],
                "start": "2026-12-01",
                "end": "2026-12-31",
                "weekdays": [0, 3],
            },
            format="json",
        )
        assert res.status_code == 201, res.content
        assert len(res.json()["booked"]) == 10
        cal = client.get(
            f"/api/v1/services/children/{world['lea'].id}/calendar/", {"month": "2026-12"}
        )
    assert cal.status_code == 200
    day = next(d for d in cal.json()["days"] if d["day"] == "2026-12-07")
    assert day["canteen"]["state"] == "booked"
    assert day["canteen"]["price"]["amount_cents"] == 265
    (evening,) = [c for c in day["services"] if c["service"] == "GARD-SOIR"]
    assert evening["state"] == "booked"
    assert evening["can_cancel"] is True
    assert evening["price"]["explanation"].startswith("Soir · tranche 3, 1er enfant")
    holiday = next(d for d in cal.json()["days"] if d["day"] == "2026-12-22")
    (centre,) = [c for c in holiday["services"] if c["service"] == "ALSH-VAC"]
    assert centre["state"] == "not_booked"
    assert centre["seats_left"] == {str(world["day_meal"].id): 20}


def test_holiday_week_and_cancel(world):
    client = api_client_for(world["parent"])
    with time_machine.travel(NOW, tick=False):
        res = client.post(
            "/api/v1/services/holiday-week/",
            {"child": world["hugo"].id, "unit": world["day_meal"].id, "week": "2026-12-23"},
            format="json",
        )
        assert res.status_code == 201
        assert [b["day"] for b in res.json()["booked"]] == [
            "2026-12-21",
            "2026-12-22",
            "2026-12-23",
            "2026-12-24",
        ]
        assert res.json()["skipped"][0]["day"] == "2026-12-25"
        res = client.post(
            "/api/v1/services/bookings/cancel/",
            {"child": world["hugo"].id, "service": world["centre"].id, "days": ["2026-12-24"]},
            format="json",
        )
    assert res.status_code == 200
    assert res.json()["cancelled"] == [{"child": world["hugo"].id, "day": "2026-12-24"}]
    assert Booking.objects.filter(child=world["hugo"], status="booked").count() == 3


def test_foreign_child_or_unknown_unit_is_404_and_writes_nothing(world):
    client = api_client_for(world["other_parent"])
    with time_machine.travel(NOW, tick=False):
        res = client.post(
            "/api/v1/services/bookings/",
            {"children": [world["lea"].id], "units": [world["soir"].id], "days": ["2026-12-07"]},
            format="json",
        )
        assert res.status_code == 404
        res = client.post(
            "/api/v1/services/bookings/",
            {"children": [world["ines"].id], "units": [999999], "days": ["2026-12-07"]},
            format="json",
        )
        assert res.status_code == 404
        assert (
            client.get(f"/api/v1/services/children/{world['lea'].id}/calendar/").status_code == 404
        )
    assert not Booking.objects.exists()


def test_bad_input_is_a_400_in_french(world):
    client = api_client_for(world["parent"])
    res = client.post(
        "/api/v1/services/bookings/",
        {"children": [world["lea"].id], "units": [world["soir"].id]},
        format="json",
    )
    assert res.status_code == 400
    assert "message" in res.json()


def test_staff_takes_the_evening_care_roll_a_parent_cannot(world):
    parent, staff = api_client_for(world["parent"]), api_client_for(world["staff"])
    day = dt.date(2026, 12, 7)
    with time_machine.travel(NOW, tick=False):
        parent.post(
            "/api/v1/services/bookings/",
            {"children": [world["lea"].id], "units": [world["soir"].id], "days": [str(day)]},
            format="json",
        )
    payload = {
        "service": world["evening"].id,
        "school": world["school"].id,
        "day": str(day),
        "records": [{"child": world["lea"].id, "status": "present"}],
    }
    with time_machine.travel(dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC), tick=False):
        # a parent is not staff: the endpoint does not exist for them
        assert parent.post("/api/v1/services/roll/", payload, format="json").status_code == 404
        assert not AttendanceRoll.objects.filter(service=world["evening"]).exists()
        sheet = staff.get(
            "/api/v1/services/roll/",
            {"service": world["evening"].id, "school": world["school"].id, "day": str(day)},
        )
        assert [r["child"] for r in sheet.json()["children"]] == [world["lea"].id]
        res = staff.post("/api/v1/services/roll/", payload, format="json")
    assert res.status_code == 201
    assert res.json()["taken"] is True
    forecast = staff.get("/api/v1/services/forecast/", {"start": str(day), "end": str(day)})
    assert forecast.status_code == 200
    (row,) = forecast.json()
    assert row["service"] == "GARD-SOIR"
    assert row["children"] == 1
    assert row["staff"] == 1


def test_pages_parent_books_a_plan_and_staff_takes_the_roll(world, client):
    meal = Unit.objects.get(pk=canteen_unit_id())  # recreated if a transactional test flushed it
    lea = world["lea"]
    client.force_login(world["parent"])
    url = f"/cantine/services/enfant/{lea.id}/2026/12/"
    with time_machine.travel(NOW, tick=False):
        page = client.get(url)
        assert page.status_code == 200
        assert "Garde-Soir" in page.content.decode() or "GARD-SOIR" in page.content.decode()
        res = client.post(
            url,
            {
                "action": "plan",
                "p-units": [meal.id, world["soir"].id],
                "p-weekdays": [0, 3],
                "p-start": "2026-12-01",
                "p-end": "2026-12-31",
            },
        )
        assert res.status_code == 302
    assert Booking.objects.filter(child=lea, status="booked").count() == 10
    client.force_login(world["staff"])
    assert client.get("/cantine/personnel/services/").status_code == 200
    roll_url = f"/cantine/personnel/services/{world['evening'].id}/appel/{world['school'].id}/"
    with time_machine.travel(dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC), tick=False):
        assert client.get(roll_url + "?jour=2026-12-07").status_code == 200
        res = client.post(roll_url, {"jour": "2026-12-07", f"child-{lea.id}": "present"})
    assert res.status_code == 302
    assert AttendanceRoll.objects.filter(service=world["evening"], day="2026-12-07").exists()
    # a parent does not reach the staff pages
    client.force_login(world["parent"])
    assert client.get(roll_url).status_code == 404
