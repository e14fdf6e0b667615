"""The demo as a person sees it: every demo account signs in through Chromium, lands on its home
page, and every page reachable from its navigation passes axe-core's WCAG 2.1 A/AA rules."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from backend.core.demo_accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conftest import browser_login

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
HOMES = {"parent": "/parent/", "staff": "/ecole/", "admin": "/ville/", "technician": "/technicien/"}


def axe_violations(page) -> list[str]:
    results = Axe().run(page, options=WCAG)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_demo_accounts_sign_in_and_every_page_they_reach_is_accessible(live_server, browser):
    call_command("seed_demo", "--no-progress", verbosity=0)
    problems: dict[str, list[str]] = {}
    for email, role, *_ in DEMO_ACCOUNTS:
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        browser_login(page, live_server, email, DEMO_PASSWORD)
        assert page.url == f"{live_server.url}{HOMES[role]}", email
        assert page.locator("html").get_attribute("lang") == "fr"
        links = page.eval_on_selector_all(
            ".main-nav a", "els => els.map(e => e.getAttribute('href'))"
        )
        for path in [HOMES[role], *links]:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status < 400, f"{email} {path}: {response.status}"
            found = axe_violations(page)
            if found:
                problems[f"{email} {path}"] = found
        context.close()
    assert problems == {}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_language_switcher_turns_the_page_english_and_back(live_server, browser):
    call_command("seed_demo", "--no-progress", verbosity=0)
    page = browser.new_page()
    browser_login(page, live_server, "parent@example.org", DEMO_PASSWORD)
    assert page.locator("h1").inner_text() == "Mon espace famille"
    page.select_option("#lang-select", "en")
    page.click(".lang-switch button")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "My family space"
    page.select_option("#lang-select", "fr")
    page.click(".lang-switch button")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Mon espace famille"
    page.close()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_public_pages_are_accessible(live_server, browser):
    page = browser.new_page()
    problems = {}
    for path in ["/", "/connexion/", "/mot-de-passe/oubli/"]:
        page.goto(f"{live_server.url}{path}")
        found = axe_violations(page)
        if found:
            problems[path] = found
    page.close()
    assert problems == {}
