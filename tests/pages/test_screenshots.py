"""``make screenshots``: each role's home at 360 px, full page, into docs/screenshots/ (the demo
data, headless Chromium). Skipped unless MINOT_SCREENSHOTS names the output folder."""

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from backend.core.demo_accounts import DEMO_ACCOUNTS

from .crawl import HOMES, PHONE, login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_role_homes_at_360px(live_server, browser):
    target = os.environ.get("MINOT_SCREENSHOTS")
    if not target:
        pytest.skip("set MINOT_SCREENSHOTS=docs/screenshots (make screenshots)")
    out = Path(target)
    out.mkdir(parents=True, exist_ok=True)
    call_command("seed_demo", "--no-progress", verbosity=0)
    first_of_role = {}
    for email, role, *_ in DEMO_ACCOUNTS:
        first_of_role.setdefault(role, email)
    for role, email in first_of_role.items():
        context = browser.new_context(viewport=PHONE, locale="fr-FR")
        page = context.new_page()
        page.set_default_timeout(90_000)
        login(page, live_server.url, email)
        page.goto(f"{live_server.url}{HOMES[role]}")
        page.screenshot(path=str(out / f"{role}-home-360.png"), full_page=True)
        context.close()
    assert sorted(p.name for p in out.glob("*-home-360.png")) == sorted(
        f"{role}-home-360.png" for role in HOMES
    )
