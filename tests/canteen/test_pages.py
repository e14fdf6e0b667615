"""Pages: parent calendar, public menu, staff roll, menu editing, forecast downloads, command."""

import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from canteen.models import AttendanceRecord, AttendanceRoll, Booking, Menu
from tests.canteen.factories import make_assessment, make_menu, make_tariff, make_year
from tests.factories import TechnicianFactory
from tests.world import build_world

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    """The shared world (tests/world.py) at NOW, with two children at school A (Léa allergic to
    peanuts), the canteen's year and tariff, and a menu with peanuts on 10 November."""
    make_year()
    make_tariff()
    w = build_world(today=NOW.date(), children_a=2)
    lea, hugo = w.children_a
    lea.allergies = ["peanuts"]
    lea.save()
    make_assessment(w.household, bracket=3)
    make_menu(
        dt.date(2026, 11, 10), dishes=[("dessert", "standard", "Cookie", {"peanuts": "contains"})]
    )
    return {
        "school": w.school_a,
        "other_school": w.school_b,
        "household": w.household,
        "parent": w.parent,
        "lea": lea,
        "hugo": hugo,
        "parent2": w.parent2,
        "ines": w.child2,
        "staff": w.staff,
    }


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_parent_books_from_the_calendar_and_sees_price_and_warning(client, world):
    client.force_login(world["parent"])
    url = reverse("canteen:calendar", args=[world["lea"].id, 2026, 11])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "tranche 3, 1er enfant, résident : 2,65" in html
    assert 'data-allergen="contains"' in html
    response = client.post(url, {"action": "book", "day": "2026-11-10"})
    assert response.status_code == 302
    assert Booking.objects.filter(
        child=world["lea"], day=dt.date(2026, 11, 10), status="booked"
    ).exists()
    html = client.get(url).content.decode()
    assert "Attention aux allergènes" in html
    assert "Cookie" in html
    # past the deadline: refused with the deadline, nothing written
    response = client.post(url, {"action": "book", "day": "2026-11-03"}, follow=True)
    assert "jusqu&#x27;au" in response.content.decode() or "jusqu'au" in response.content.decode()
    assert not Booking.objects.filter(day=dt.date(2026, 11, 3)).exists()


def test_parent_pattern_copy_and_cancel_range_forms(client, world):
    client.force_login(world["parent"])
    url = reverse("canteen:calendar", args=[world["hugo"].id, 2026, 11])
    client.post(
        url,
        {
            "action": "pattern",
            "p-start": "2026-11-02",
            "p-end": "2026-11-13",
            "p-weekdays": ["0", "4"],
        },
    )
    assert (
        Booking.objects.filter(child=world["hugo"]).count() == 3
    )  # 6, 9, 13 (2 Nov past deadline)
    client.post(
        url, {"action": "copy", "c-source_week": "2026-11-09", "c-target_week": "2026-11-16"}
    )
    assert Booking.objects.filter(child=world["hugo"]).count() == 5
    client.post(url, {"action": "cancel_range", "r-start": "2026-11-16", "r-end": "2026-11-20"})
    assert Booking.objects.filter(child=world["hugo"], status="booked").count() == 3
    assert client.post(url, {"action": "pattern", "p-start": "bad"}).status_code == 200


def test_parent_cannot_reach_a_foreign_child_or_staff_pages(client, world):
    client.force_login(world["parent"])
    url = reverse("canteen:calendar", args=[world["ines"].id, 2026, 11])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "book", "day": "2026-11-10"}).status_code == 404
    assert not Booking.objects.exists()
    assert client.get(reverse("canteen:roll", args=[world["school"].id])).status_code == 404
    assert client.get(reverse("canteen:forecast")).status_code == 404


def test_public_menu_page_needs_no_login(client, world):
    response = client.get(
        reverse("canteen:menu-week-public", args=[world["school"].code]) + "?semaine=2026-11-10"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cookie" in html
    assert "Arachides" in html
    assert "Information inconnue" in html
    assert client.get(reverse("canteen:menu-week-public", args=["NOPE"])).status_code == 404
    assert client.get(reverse("canteen:menus")).status_code == 200


def test_staff_takes_the_roll_on_their_school_only(client, world):
    Booking.objects.create(child=world["lea"], day=dt.date(2026, 11, 2))
    client.force_login(world["staff"])
    url = reverse("canteen:roll", args=[world["school"].id]) + "?jour=2026-11-02"
    page = client.get(url)
    assert page.status_code == 200
    assert "Enfants avec allergie ou PAI" in page.content.decode()
    answer = {
        "jour": "2026-11-02",
        f"child-{world['lea'].id}": "absent_unjustified",
        "unbooked": [str(world["hugo"].id)],
    }
    # closing the roll is irreversible: first a summary to confirm, nothing written yet
    summary = client.post(url, answer).content.decode()
    assert "Clore l&#x27;appel" in summary
    assert "Absent non justifié : 1" in summary
    assert AttendanceRoll.objects.count() == 0
    done = client.post(url, {**answer, "confirmed": "1"}, follow=True).content.decode()
    assert "Appel enregistré" in done, done[done.find("messages") :][:600]
    statuses = dict(AttendanceRecord.objects.values_list("child_id", "status"))
    assert statuses == {world["lea"].id: "absent_unjustified", world["hugo"].id: "present_unbooked"}
    assert "Appel pris" in client.get(url).content.decode()
    other = reverse("canteen:roll", args=[world["other_school"].id])
    assert client.post(other, {"jour": "2026-11-02"}).status_code == 404
    assert AttendanceRoll.objects.count() == 1


def test_staff_menu_editing_and_copy_week(client, world):
    client.force_login(world["staff"])
    scope = str(world["school"].id)
    url = reverse("canteen:menu-day", args=[scope, "2026-11-16"])
    assert client.get(url).status_code == 200
    data = {
        "d-TOTAL_FORMS": "1",
        "d-INITIAL_FORMS": "0",
        "d-0-course": "main",
        "d-0-variant": "standard",
        "d-0-name": "Hachis parmentier",
        "publish": "1",
    }
    data.update({f"d-0-a_{code}": "free" for code in ["gluten", "milk"]})
    data["d-0-a_milk"] = "contains"
    assert client.post(url, data).status_code == 302
    menu = Menu.objects.get(school=world["school"], day=dt.date(2026, 11, 16))
    assert menu.published
    assert menu.dishes.get().allergens == {"gluten": "free", "milk": "contains"}
    week = reverse("canteen:menu-week", args=[scope]) + "?semaine=2026-11-16"
    client.post(week, {"action": "copy", "semaine": "2026-11-16", "target": "2026-11-23"})
    copied = Menu.objects.get(school=world["school"], day=dt.date(2026, 11, 23))
    assert not copied.published
    assert copied.dishes.count() == 1
    assert client.get(reverse("canteen:menu-week", args=["ville"])).status_code == 404
    assert (
        client.get(reverse("canteen:menu-week", args=[str(world["other_school"].id)])).status_code
        == 404
    )


def test_forecast_page_and_downloads(client, world):
    Booking.objects.create(child=world["lea"], day=dt.date(2026, 11, 3))
    Booking.objects.create(child=world["hugo"], day=dt.date(2026, 11, 3), variant="vegetarian")
    Booking.objects.create(child=world["ines"], day=dt.date(2026, 11, 3))
    client.force_login(world["staff"])
    url = reverse("canteen:forecast")
    page = client.get(url, {"debut": "2026-11-03"})
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    csv = client.get(url, {"debut": "2026-11-03", "format": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert csv["Content-Disposition"].startswith("attachment")
    assert world["school"].code in text
    assert world["other_school"].code not in text
    assert text.splitlines()[1].endswith(";1;1;0;0;2")
    pai = client.get(url, {"debut": "2026-11-03", "format": "pai_csv"}).content.decode("utf-8-sig")
    assert str(world["lea"]) in pai
    assert str(world["hugo"]) not in pai
    xlsx = client.get(url, {"debut": "2026-11-03", "format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Prévisions", "PAI et allergies", "Présence"]
    rows = list(book["PAI et allergies"].values)
    assert rows[1][2] == str(world["lea"])


def test_technician_gets_404_on_canteen_pages(client, world):
    client.force_login(TechnicianFactory())
    assert client.get(reverse("canteen:home")).status_code == 404


def test_kitchen_forecast_command(world, capsys, tmp_path):
    Booking.objects.create(child=world["lea"], day=dt.date(2026, 11, 3))
    call_command("kitchen_forecast", "--start", "2026-11-03", "--format", "csv")
    out = capsys.readouterr().out
    assert world["school"].code in out
    target = tmp_path / "f.xlsx"
    call_command(
        "kitchen_forecast", "--start", "2026-11-03", "--format", "xlsx", "--output", str(target)
    )
    assert openpyxl.load_workbook(target).sheetnames == ["Prévisions", "PAI et allergies"]
    call_command("kitchen_forecast", "--start", "2026-11-03", "--pai")
    assert "PAI" in capsys.readouterr().out


def test_parent_books_a_month_for_both_children_from_home(client, world):
    client.force_login(world["parent"])
    assert client.get(reverse("canteen:home")).status_code == 200
    response = client.post(
        reverse("canteen:home"),
        {
            "f-children": [world["lea"].id, world["hugo"].id],
            "f-start": "2026-11-01",
            "f-end": "2026-11-30",
            "f-weekdays": ["0", "1", "3", "4"],
        },
        follow=True,
    )
    html = response.content.decode()
    assert "repas réservés" in html, html[html.find("<main") : html.find("<main") + 1500]
    assert (
        Booking.objects.filter(child=world["lea"]).count()
        == Booking.objects.filter(child=world["hugo"]).count()
        == 15
    )
    # a foreign child is not a valid choice: nothing written
    before = Booking.objects.count()
    client.post(
        reverse("canteen:home"),
        {
            "f-children": [world["ines"].id],
            "f-start": "2026-11-01",
            "f-end": "2026-11-30",
            "f-weekdays": ["0"],
        },
    )
    assert Booking.objects.count() == before
    assert not Booking.objects.filter(child=world["ines"]).exists()


def test_staff_reads_are_audited_parent_reads_are_not(client, world):
    from backend.core.models import AuditEvent

    client.force_login(world["parent"])
    client.get(reverse("canteen:calendar", args=[world["lea"].id, 2026, 11]))
    assert not AuditEvent.objects.filter(action="canteen.calendar.view").exists()
    client.force_login(world["staff"])
    client.get(reverse("canteen:calendar", args=[world["lea"].id, 2026, 11]))
    client.get(reverse("canteen:roll", args=[world["school"].id]))
    event = AuditEvent.objects.get(action="canteen.calendar.view")
    assert event.actor == world["staff"]
    assert event.household_id == world["lea"].household_id
    assert event.actor_kind == "staff_for_family"
    assert AuditEvent.objects.filter(action="canteen.roll.view", actor=world["staff"]).count() == 1
