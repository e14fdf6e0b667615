"""The demo story in a real Chromium: a parent books a month for two children, sees the price
explanation and the allergen warning, cannot book past a deadline; staff take the roll and
download tomorrow's forecast with the PAI list; the public menu shows the week's allergens."""

import datetime as dt

import pytest
from django.utils import timezone

from canteen.models import Booking
from family.models import CarePlan, SchoolYear
from tests.canteen.factories import make_assessment, make_menu, make_tariff
from tests.conftest import browser_login
from tests.factories import PASSWORD, SchoolFactory, StaffFactory, household_with_parent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def weekday_on_or_after(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def weekday_on_or_before(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def test_demo_story(browser, live_server, tmp_path):
    today = timezone.localdate()
    SchoolYear.objects.create(
        label="bench",
        start_date=today - dt.timedelta(days=90),
        end_date=today + dt.timedelta(days=200),
    )
    make_tariff(
        valid_from=today - dt.timedelta(days=90), valid_until=today + dt.timedelta(days=200)
    )
    school = SchoolFactory()
    household, parent, (lea, hugo) = household_with_parent(
        email="story-parent@example.test", children=2, school=school
    )
    lea.first_name, lea.allergies = "Léa", ["peanuts", "nuts"]
    lea.save()
    hugo.first_name, hugo.diet = "Hugo", "vegetarian"
    hugo.save()
    CarePlan.objects.create(
        child=lea,
        valid_from=today - dt.timedelta(days=90),
        valid_until=today + dt.timedelta(days=200),
        instructions="Trousse d'urgence en classe",
    )
    make_assessment(
        household,
        bracket=3,
        valid_from=today - dt.timedelta(days=90),
        valid_until=today + dt.timedelta(days=200),
    )
    staff = StaffFactory(email="story-staff@example.test")
    staff.staff_schools.add(school)

    first_next = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    peanut_day = weekday_on_or_after(first_next + dt.timedelta(days=7))
    make_menu(
        peanut_day,
        dishes=[
            ("main", "standard", "Poulet", {}),
            ("dessert", "standard", "Cookie aux cacahuètes", {"peanuts": "contains"}),
        ],
    )
    last_next = (first_next + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)

    page = browser.new_page()
    page.set_default_timeout(90_000)  # the machine is shared: be patient with a loaded live server
    # --- the parent books next month for both children ---
    browser_login(page, live_server, parent.email, PASSWORD)
    for child in (lea, hugo):
        page.goto(
            f"{live_server.url}/cantine/enfant/{child.id}/{first_next.year}/{first_next.month}/"
        )
        page.fill("#id_p-start", first_next.isoformat())
        page.fill("#id_p-end", last_next.isoformat())
        for i in range(5):
            page.check(f"#id_p-weekdays_{i}")
        page.click("form:has(input[value=pattern]) button[type=submit]")
        page.wait_for_load_state()
        assert "repas réservés" in page.inner_text(".messages")
    assert Booking.objects.filter(child=lea, status="booked").count() >= 15
    assert Booking.objects.filter(child=hugo, status="booked").count() >= 15
    # Léa's month: the price explanation and the allergen warning on the peanut day
    page.goto(f"{live_server.url}/cantine/enfant/{lea.id}/{first_next.year}/{first_next.month}/")
    cell = page.locator(f"td[data-day='{peanut_day.isoformat()}']")
    assert "tranche 3" in cell.inner_text()
    assert cell.locator("[data-allergen=contains]").count() == 1
    assert "Arachides" in page.inner_text(".message-warning")
    # this month: yesterday-ish weekdays are past their deadline and have no "Réserver" button
    page.goto(f"{live_server.url}/cantine/enfant/{lea.id}/{today.year}/{today.month}/")
    past = page.locator("td[data-state=past_deadline]")
    if past.count():
        assert "Réservation close" in past.first.inner_text()
        assert past.first.locator("button").count() == 0
    page.context.clear_cookies()

    # --- staff take today's roll and download tomorrow's forecast with the PAI list ---
    roll_day = weekday_on_or_before(today)
    tomorrow = today + dt.timedelta(days=1)
    Booking.objects.get_or_create(child=lea, day=roll_day)
    Booking.objects.get_or_create(child=hugo, day=roll_day, defaults={"variant": "vegetarian"})
    Booking.objects.get_or_create(child=lea, day=tomorrow)
    browser_login(page, live_server, staff.email, PASSWORD)
    page.set_viewport_size({"width": 800, "height": 1100})
    page.goto(f"{live_server.url}/cantine/personnel/appel/{school.id}/?jour={roll_day.isoformat()}")
    page.check(f"input[name=child-{hugo.id}][value=absent_justified]")
    page.click("text=Valider l'appel")
    page.wait_for_load_state()
    assert "Vérifiez avant de confirmer" in page.inner_text("main")
    page.click("#confirm-action")
    page.wait_for_load_state()
    assert "Appel enregistré" in page.inner_text(".messages")
    page.goto(f"{live_server.url}/cantine/personnel/previsions/?debut={tomorrow.isoformat()}")
    assert "PAI" in page.inner_text("main") and "Léa" in page.inner_text("main")
    with page.expect_download() as info:
        page.click("text=Télécharger (CSV)")
    path = tmp_path / "forecast.csv"
    info.value.save_as(path)
    assert school.code in path.read_text(encoding="utf-8-sig")
    with page.expect_download() as info:
        page.click("text=Liste PAI et allergies (CSV)")
    pai_path = tmp_path / "pai.csv"
    info.value.save_as(pai_path)
    assert "Léa" in pai_path.read_text(encoding="utf-8-sig")
    page.context.clear_cookies()

    # --- the public menu page, no login ---
    page.goto(f"{live_server.url}/cantine/menus/{school.code}/?semaine={peanut_day.isoformat()}")
    text = page.inner_text("main")
    assert (
        "Cookie aux cacahuètes" in text and "Arachides" in text and "Information inconnue" in text
    )
    page.close()
