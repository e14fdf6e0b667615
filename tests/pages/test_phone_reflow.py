"""Observed at 360 px (WCAG 1.4.10 reflow): the meal calendar cut Thursday and Friday off, the
activities hid "Inscrire", payment history and household were wider than the phone, the public menu
hid its allergen column, and tables scrolled in regions the keyboard could not reach."""

import pytest
from django.core.management import call_command

from backend.core.demo_accounts import DEMO_PASSWORD  # noqa: F401 - the demo's accounts
from family.models import Child

from .crawl import PHONE, axe_violations, login, overflow

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def inside_viewport(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5


def test_parent_pages_fit_a_360px_phone(live_server, browser):
    call_command("seed_demo", "--no-progress", verbosity=0)
    child = Child.objects.filter(household__guardians__user__email="parent@example.org").first()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(90_000)
    login(page, live_server.url, "parent@example.org")
    widths = {}
    for path in [
        f"/cantine/enfant/{child.pk}/",
        "/famille/activites/",
        "/paiements/historique/",
        "/paiements/",
        "/famille/foyer/",
        f"/cantine/menus/{child.school.code}/",
    ]:
        page.goto(f"{live_server.url}{path}")
        widths[path] = overflow(page)
        scroll_problems = [v for v in axe_violations(page) if "scrollable-region" in v]
        assert scroll_problems == [], path
        if path.startswith("/cantine/enfant/"):
            # every school day, Friday included, is on screen: no cell wider than the phone
            fridays = page.locator("td[data-day]").all()
            assert fridays and all(
                (b := c.bounding_box()) and b["x"] + b["width"] <= 360.5 for c in fridays
            )
        if path == "/famille/activites/":
            assert inside_viewport(page, "main table button")
        if path.startswith("/cantine/menus/"):
            assert inside_viewport(page, ".allergen-line")
    context.close()
    assert widths == dict.fromkeys(widths, 0)
