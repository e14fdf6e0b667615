"""Every page of every role, at 360 px and 1366 px: no horizontal scrolling of the page (WCAG
1.4.10 reflow) and no axe-core WCAG 2.1 A/AA violation."""

import pytest
from django.core.management import call_command

from backend.core.demo_accounts import DEMO_ACCOUNTS

from .crawl import DESKTOP, HOMES, PHONE, PUBLIC_PAGES, axe_violations, login, overflow, pages_of

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check(page, url: str, problems: dict[str, list[str]], label: str) -> None:
    page.goto(url)
    found = axe_violations(page)
    wider = overflow(page)
    if wider > 0:
        found.append(f"page {wider}px wider than the viewport")
    if found:
        problems[label] = found


def test_every_page_of_every_role_reflows_and_passes_axe_at_both_sizes(live_server, browser):
    call_command("seed_demo", "--no-progress", verbosity=0)
    problems: dict[str, list[str]] = {}
    visited = 0
    for email, role, *_ in DEMO_ACCOUNTS:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.set_default_timeout(90_000)
        login(page, live_server.url, email)
        paths = pages_of(page, live_server.url, HOMES[role])
        for size_name, size in (("360", PHONE), ("1366", DESKTOP)):
            page.set_viewport_size(size)
            for path in paths:
                check(page, f"{live_server.url}{path}", problems, f"{role} {size_name} {path}")
                visited += 1
        context.close()
    page = browser.new_page()
    for size_name, size in (("360", PHONE), ("1366", DESKTOP)):
        page.set_viewport_size(size)
        for path in PUBLIC_PAGES:
            check(page, f"{live_server.url}{path}", problems, f"public {size_name} {path}")
    page.close()
    assert visited > 40
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())
