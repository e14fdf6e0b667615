"""Observed: "Envoyer la demande" succeeded with every required document missing and said only
"Demande envoyée"; "Envoyer" also meant upload; a rejected upload threw the parent back to the list
of applications, losing the page they were on."""

import pytest

from family import services
from family.models import SchoolApplication
from tests.conftest import browser_login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_submit_explains_what_is_missing_and_errors_stay_on_the_page(
    live_server, browser, live_world
):
    w = live_world
    application = services.application_create(
        actor=w.parent, child=w.child, school_year=w.next_year, school=w.school_a
    )
    page = browser.new_page()
    page.set_default_timeout(90_000)
    browser_login(page, live_server, w.parent.email)
    detail = f"{live_server.url}/famille/inscriptions/{application.pk}/"
    page.goto(detail)
    # upload and submit are two different words
    assert page.locator("button", has_text="Ajouter ce document").count() == 1
    assert page.locator("button", has_text="Envoyer le document").count() == 0
    # a rejected upload (not a PDF or image) stays on the application page with the reason
    page.set_input_files(
        "input[type=file]",
        files=[{"name": "x.pdf", "mimeType": "application/pdf", "buffer": b"nope"}],
    )
    page.click("button:has-text('Ajouter ce document')")
    page.wait_for_load_state()
    assert page.url == detail
    assert page.locator(".message-error").count() >= 1
    # submitting with nothing uploaded names every missing document
    page.click("button:has-text('Envoyer la demande')")
    page.wait_for_load_state()
    assert page.url == detail
    text = page.locator(".messages").inner_text()
    assert "Il manque encore" in text
    assert "Justificatif de domicile" in text
    assert "vaccinations" in text.lower()
    application.refresh_from_db()
    assert application.state == SchoolApplication.State.SUBMITTED
    page.close()
