"""In Chromium at 360 px: a parent writes to the school with an attachment, staff find it in
their inbox, reply and follow it; the parent reads the answer. Every page passes axe (WCAG 2.1
A/AA) and never scrolls sideways."""

from __future__ import annotations

import pytest

from family.message_models import Message, MessageThread
from tests.conftest import browser_login
from tests.family.factories import PDF_BYTES
from tests.pages.crawl import PHONE, axe_violations, overflow

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def check_page(page, problems: list[str]) -> None:
    found = axe_violations(page)
    wider = overflow(page)
    if wider > 0:
        found.append(f"page {wider}px wider than the viewport")
    problems.extend(f"{page.url}: {p}" for p in found)


def test_parent_writes_staff_replies_at_360px_with_axe(live_server, browser, world):
    problems: list[str] = []

    parent_ctx = browser.new_context(viewport=PHONE)
    parent = parent_ctx.new_page()
    browser_login(parent, live_server, world.parent.email)
    parent.goto(f"{live_server.url}/famille/messages/")
    check_page(parent, problems)
    parent.click("main >> text=Écrire à l'école")
    parent.wait_for_load_state()
    check_page(parent, problems)
    parent.select_option("#id_school", label=world.school_a.name)
    parent.fill("#id_subject", "Sortie au musée")
    parent.fill("#id_body", "Bonjour, faut-il prévoir un pique-nique ?")
    parent.set_input_files(
        "#id_attachment",
        {"name": "autorisation.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
    )
    parent.click("text=Envoyer à l'école")
    parent.wait_for_load_state()
    assert "Votre message est envoyé à l'école." in parent.content()
    check_page(parent, problems)
    thread = MessageThread.objects.get()
    assert thread.messages.get().attachment_content_type == "application/pdf"

    staff_ctx = browser.new_context(viewport=PHONE)
    staff = staff_ctx.new_page()
    browser_login(staff, live_server, world.staff.email)
    staff.goto(f"{live_server.url}/ecole/")
    staff.click("main >> text=Messages")
    staff.wait_for_load_state()
    assert "non lu" in staff.content()
    check_page(staff, problems)
    staff.click("text=Sortie au musée")
    staff.wait_for_load_state()
    check_page(staff, problems)
    staff.fill("#id_body", "Oui, un pique-nique et une gourde.")
    staff.click("main button:has-text('Envoyer')")
    staff.wait_for_load_state()
    assert "Message envoyé." in staff.content()
    staff.select_option("#id_assignee", label=world.staff.get_full_name())
    staff.click("text=Enregistrer le suivi")
    staff.wait_for_load_state()
    check_page(staff, problems)
    thread.refresh_from_db()
    assert thread.status == "waiting_family"
    assert thread.assigned_to == world.staff
    assert Message.objects.filter(thread=thread, from_school=True).count() == 1

    parent.goto(f"{live_server.url}/famille/messages/")
    assert "non lu" in parent.content()
    parent.click("text=Sortie au musée")
    parent.wait_for_load_state()
    assert "Oui, un pique-nique et une gourde." in parent.content()
    check_page(parent, problems)
    parent_ctx.close()
    staff_ctx.close()
    assert problems == []
