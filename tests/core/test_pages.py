import pytest
from django.core import mail

from backend.core.management.commands.seed_demo import DEMO_PASSWORD, ensure_demo_accounts
from tests.factories import ParentFactory

pytestmark = pytest.mark.django_db

ROLE_HOMES = {
    "parent@example.org": "/parent/",
    "parent2@example.org": "/parent/",
    "staff@example.org": "/ecole/",
    "admin@example.org": "/ville/",
    "technician@example.org": "/technicien/",
}


@pytest.mark.parametrize(("email", "home"), ROLE_HOMES.items())
def test_each_demo_account_lands_on_its_role_home(client, email, home):
    ensure_demo_accounts()
    response = client.post(
        "/connexion/", {"username": email, "password": DEMO_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == home
    assert response.status_code == 200
    assert b'<html lang="fr">' in response.content


@pytest.mark.parametrize(("email", "home"), ROLE_HOMES.items())
def test_other_roles_homes_do_not_exist_for_a_user(client, email, home):
    users = {u.email: u for u in ensure_demo_accounts()}
    client.force_login(users[email])
    for other in set(ROLE_HOMES.values()) - {home}:
        assert client.get(other).status_code == 404


def test_wrong_password_shows_a_message_and_stays_anonymous(client):
    user = ParentFactory()
    response = client.post("/connexion/", {"username": user.email, "password": "nope"})
    assert response.status_code == 200
    assert "Adresse e-mail ou mot de passe incorrect." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_language_switch_to_english(client):
    client.force_login(ParentFactory())
    assert "Aller au contenu" in client.get("/parent/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/parent/"}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Skip to content" in html
    assert "Sign out" in html


def test_landing_page_is_public_and_accessible_basics(client):
    html = client.get("/").content.decode()
    assert 'class="skip-link" href="#main"' in html
    assert '<main id="main"' in html
    assert 'for="lang-select"' in html


def test_password_reset_sends_a_link(client):
    user = ParentFactory(email="forgetful@example.test")
    response = client.post("/mot-de-passe/oubli/", {"email": user.email}, follow=True)
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["forgetful@example.test"]
    assert "/mot-de-passe/nouveau/" in mail.outbox[0].body


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/nope/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_french_by_default_even_for_an_english_browser(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="fr">' in html
    assert "Se connecter" in html


def test_city_admin_home_links_to_the_reference_data(client):
    users = {u.email: u for u in ensure_demo_accounts()}
    client.force_login(users["admin@example.org"])
    html = client.get("/ville/").content.decode()
    assert 'href="/admin/"' in html
    client.force_login(users["staff@example.org"])
    assert 'href="/admin/"' not in client.get("/ecole/").content.decode()
