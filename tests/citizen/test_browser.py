"""The citizen account as a person sees it, in Chromium, against oidc-provider-mock."""

import pytest

from backend.accounts.models import Role, User
from backend.citizen.models import CitizenLink
from backend.core.demo_accounts import DEMO_PASSWORD
from family.models import Guardian
from tests.citizen.conftest import closed_port_url, configure, set_mock_user
from tests.core.test_browser import axe_violations
from tests.factories import ParentFactory

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def click_citizen_button(page, live_server):
    page.goto(f"{live_server.url}/connexion/")
    page.click("text=Se connecter avec mon compte citoyen")
    page.wait_for_load_state()


def authorize_at_provider(page, sub: str):
    page.fill("input[name=sub]", sub)
    page.click("button:has-text('Authorize')")
    page.wait_for_load_state()


def test_new_citizen_signs_in_and_lands_on_an_empty_parent_home(
    live_server, browser, mock_provider
):
    set_mock_user(
        mock_provider,
        "e2e-new",
        {"email": "e2e-new@example.org", "email_verified": True, "given_name": "Inès"},
    )
    page = browser.new_page()
    page.goto(f"{live_server.url}/connexion/")
    assert axe_violations(page) == []

    click_citizen_button(page, live_server)
    assert page.url.startswith(f"{mock_provider}/oauth2/authorize")
    authorize_at_provider(page, "e2e-new")

    assert page.url == f"{live_server.url}/parent/"
    assert page.locator("h1").inner_text() == "Mon espace famille"
    user = User.objects.get(email="e2e-new@example.org")
    assert (user.role, user.first_name) == (Role.PARENT, "Inès")
    assert not Guardian.objects.filter(user=user).exists()  # no household yet: an empty home

    page.goto(f"{live_server.url}/compte/compte-citoyen/")
    assert mock_provider in page.content()
    assert axe_violations(page) == []
    page.close()


def test_existing_demo_parent_links_their_account(live_server, browser, mock_provider):
    parent = ParentFactory(email="parent@example.org", password=DEMO_PASSWORD)
    set_mock_user(mock_provider, "e2e-parent", {"email": "parent@example.org"})
    page = browser.new_page()

    click_citizen_button(page, live_server)
    authorize_at_provider(page, "e2e-parent")
    assert page.url == f"{live_server.url}/oidc/confirmer/"
    assert axe_violations(page) == []
    page.fill("input[name=password]", "wrong password")
    page.click("main button[type=submit]")
    assert "Mot de passe incorrect." in page.content()
    assert not CitizenLink.objects.exists()
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    assert page.url == f"{live_server.url}/parent/"
    assert "Votre compte citoyen est maintenant lié à Minot." in page.content()
    assert CitizenLink.objects.get(sub="e2e-parent").user == parent
    page.close()


def test_logout_ends_both_sessions(live_server, browser, mock_provider):
    set_mock_user(
        mock_provider, "e2e-out", {"email": "e2e-out@example.org", "email_verified": True}
    )
    page = browser.new_page()
    click_citizen_button(page, live_server)
    authorize_at_provider(page, "e2e-out")
    assert page.url == f"{live_server.url}/parent/"

    page.click("header button:has-text('Se déconnecter')")
    page.wait_for_load_state()
    assert page.url.startswith(f"{mock_provider}/oauth2/end_session?id_token_hint=")
    page.click("button:has-text('End session')")
    page.wait_for_load_state()

    # Back on Minot's login page (the provider echoes the logout request's state).
    assert page.url.split("?")[0] == f"{live_server.url}/connexion/"
    page.goto(f"{live_server.url}/parent/")
    assert page.url.startswith(f"{live_server.url}/connexion/")
    page.close()


def test_failure_paths_show_their_page(live_server, browser, mock_provider, settings):
    page = browser.new_page()
    users = User.objects.count()

    click_citizen_button(page, live_server)
    page.click("button:has-text('Deny')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Connexion annulée"
    assert axe_violations(page) == []

    page.goto(f"{live_server.url}/oidc/callback/?code=stolen&state=forged")
    assert page.locator("h1").inner_text() == "Cette connexion a expiré"

    configure(settings, closed_port_url())
    click_citizen_button(page, live_server)
    assert page.locator("h1").inner_text() == "Le service d'identité de la ville ne répond pas"
    page.click("text=Retour à la page de connexion")
    assert page.url == f"{live_server.url}/connexion/"

    assert User.objects.count() == users
    assert not CitizenLink.objects.exists()
    page.close()
