"""The service set-up pages at 360 px (WCAG 1.4.10 reflow) with no axe violation, as the city
administrator (every form) and as school staff (read only)."""

import pytest
from django.core.management import call_command

from canteen.models import Service
from tests.pages.crawl import PHONE, axe_violations, login, overflow

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_setup_pages_fit_a_360px_phone(live_server, browser):
    call_command("seed_demo", "--no-progress", verbosity=0)
    centre = Service.objects.get(code="ALSH-VAC")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(90_000)
    login(page, live_server.url, "admin@example.org")
    found = {}
    for path in [
        "/cantine/personnel/services/reglages/",
        f"/cantine/personnel/services/reglages/{centre.pk}/",
    ]:
        page.goto(f"{live_server.url}{path}")
        page.locator("details").evaluate_all("els => els.forEach(e => e.open = true)")
        found[path] = (overflow(page), axe_violations(page))
    context.close()
    assert found == dict.fromkeys(found, (0, []))
