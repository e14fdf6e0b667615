"""The demo story in Chromium: parent@example.org invites a second guardian, registers a child
with a derogation and a document; staff@example.org requests a missing document, checks the
documents, gives the catchment school's opinion on the derogation, admin@example.org
grants it and staff accepts; the parent sees the timeline move; parent2 cannot see any of it."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from backend.core.demo_accounts import DEMO_PASSWORD
from family.models import GuardianInvitation, SchoolApplication
from tests.conftest import browser_login
from tests.core.test_browser import axe_violations
from tests.family.factories import PDF_BYTES

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pdf_file(name):
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF_BYTES}


def upload(page, kind, name, issued_on=None):
    page.select_option("#id_kind", kind)
    if issued_on:
        page.fill("#id_issued_on", issued_on.isoformat())
    page.set_input_files("#id_file", pdf_file(name))
    page.click("text=Ajouter ce document")
    page.wait_for_load_state()


def test_registration_story(live_server, browser):
    call_command("seed_demo", "--no-progress", verbosity=0)
    today = timezone.localdate()

    parent_ctx = browser.new_context()
    parent = parent_ctx.new_page()
    browser_login(parent, live_server, "parent@example.org", DEMO_PASSWORD)

    # invite a second guardian
    parent.goto(f"{live_server.url}/famille/foyer/")
    parent.click("text=Inviter un autre responsable")
    parent.fill("#id_email", "co-parent@example.org")
    parent.click("text=Envoyer l'invitation")
    parent.wait_for_load_state()
    assert "Invitation envoyée à co-parent@example.org" in parent.content()
    assert GuardianInvitation.objects.filter(
        email="co-parent@example.org", state="pending"
    ).exists()

    # register Léa next year at a school outside the catchment, with a derogation
    parent.goto(f"{live_server.url}/famille/inscriptions/")
    assert "Votre école de secteur" in parent.content()
    parent.select_option("#id_child", label="Léa Martin")
    year_label = f"{today.year + (1 if today.month >= 8 else 0)}-{today.year + (2 if today.month >= 8 else 1)}"
    parent.select_option("#id_school_year", label=year_label)
    parent.select_option("#id_school", label="École élémentaire Jean Jaurès")
    parent.click("text=Créer la demande")
    parent.wait_for_load_state()
    assert "motif de la demande de dérogation" in parent.content()
    parent.select_option("#id_child", label="Léa Martin")
    parent.select_option("#id_school_year", label=year_label)
    parent.select_option("#id_school", label="École élémentaire Jean Jaurès")
    parent.select_option("#id_derogation_reason", "sibling")
    parent.fill("#id_derogation_details", "Son frère Hugo y est inscrit.")
    parent.click("text=Créer la demande")
    parent.wait_for_load_state()
    application = SchoolApplication.objects.get(child__first_name="Léa")
    assert parent.url.endswith(f"/famille/inscriptions/{application.pk}/")
    assert application.tracking_code_display in parent.content()
    upload(parent, "proof_of_address", "domicile.pdf", issued_on=today - dt.timedelta(days=7))
    assert "Document envoyé" in parent.content()
    # the derogation's reason has its own document (a certificate of the sibling's schooling)
    upload(parent, "sibling_certificate", "certificat-hugo.pdf", issued_on=today)
    parent.click("text=Envoyer la demande")
    parent.wait_for_load_state()
    assert parent.locator("#application-state").inner_text() == "Envoyée"

    # staff: find it in the queue, ask for the missing documents
    staff_ctx = browser.new_context()
    staff = staff_ctx.new_page()
    browser_login(staff, live_server, "staff@example.org", DEMO_PASSWORD)
    staff.goto(f"{live_server.url}/famille/dossiers/")
    staff.click(f"table a:has-text('{application.tracking_code_display}')")
    staff.wait_for_load_state()
    staff.check("input[name=kinds][value=birth_certificate]")
    staff.check("input[name=kinds][value=vaccinations]")
    staff.fill("#id_note", "Merci d'ajouter ces deux documents.")
    staff.click("text=Demander à la famille")
    staff.wait_for_load_state()
    assert "Documents demandés à la famille" in staff.content()

    # the parent sees the timeline move and sends the documents
    parent.reload()
    assert parent.locator("#application-state").inner_text().startswith("Incomplète")
    timeline = parent.locator("#timeline").inner_text()
    assert "Documents demandés" in timeline
    assert "Merci d'ajouter ces deux documents." in timeline
    upload(parent, "birth_certificate", "acte.pdf")
    upload(parent, "vaccinations", "vaccins.pdf")
    assert parent.locator("#application-state").inner_text() == "Envoyée"

    # staff checks the documents and gives the catchment school's opinion on the derogation
    staff.reload()
    while staff.locator("button[name=decision][value=accept]").count():
        staff.locator("button[name=decision][value=accept]").first.click()
        staff.wait_for_load_state()
    assert axe_violations(staff) == []  # the opinion form beside the registration's forms
    staff.select_option("#id_derogation_favourable", "1")
    staff.fill("#id_derogation_comment", "Le frère est déjà inscrit à Jean Jaurès.")
    staff.click("text=Donner l'avis")
    staff.wait_for_load_state()
    assert "Avis enregistré." in staff.content()

    # the city grants the derogation
    admin_ctx = browser.new_context()
    admin = admin_ctx.new_page()
    browser_login(admin, live_server, "admin@example.org", DEMO_PASSWORD)
    admin.goto(f"{live_server.url}/famille/inscriptions/{application.pk}/")
    assert axe_violations(admin) == []
    admin.select_option("#id_derogation_granted", "1")
    admin.fill("#id_derogation_commission_date", today.isoformat())
    admin.click("#derogation-title ~ form button:has-text('Enregistrer la décision')")
    admin.wait_for_load_state()
    assert "Décision enregistrée ; la famille est prévenue." in admin.content()

    # staff accepts the registration
    staff.reload()
    staff.select_option("#id_decision", "accept")
    staff.click("text=Enregistrer la décision")
    staff.wait_for_load_state()
    assert "Décision enregistrée" in staff.content()

    parent.reload()
    assert parent.locator("#application-state").inner_text() == "Acceptée"
    states = parent.locator("#timeline strong").all_inner_texts()
    assert states == [
        "Brouillon",
        "Envoyée",
        "Incomplète : en attente de la famille",
        "Envoyée",
        "Acceptée",
    ]

    # parent2 sees none of it, through pages or API
    other_ctx = browser.new_context()
    other = other_ctx.new_page()
    browser_login(other, live_server, "parent2@example.org", DEMO_PASSWORD)
    assert other.goto(f"{live_server.url}/famille/inscriptions/{application.pk}/").status == 404
    assert (
        other_ctx.request.get(f"{live_server.url}/api/v1/registrations/{application.pk}/").status
        == 404
    )
    listing = other_ctx.request.get(f"{live_server.url}/api/v1/registrations/").json()
    assert application.pk not in [row["id"] for row in listing["results"]]
    for ctx in (parent_ctx, staff_ctx, admin_ctx, other_ctx):
        ctx.close()
