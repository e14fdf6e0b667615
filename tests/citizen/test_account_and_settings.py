"""Without OIDC_ISSUER nothing changes; the citizen-account page; logout; the staff provider."""

import time

import pytest

from backend.accounts.models import Role, User
from backend.citizen.models import CitizenLink, StaffGroupRole
from backend.core.models import AuditEvent
from tests.citizen.conftest import configure, sign_in
from tests.factories import PASSWORD, AdminFactory, ParentFactory, SchoolFactory, StaffFactory

pytestmark = pytest.mark.django_db


# --- OIDC_ISSUER unset ------------------------------------------------------------------------


def test_unset_issuer_changes_nothing(client, settings):
    settings.OIDC_ISSUER = ""
    settings.OIDC_STAFF_ISSUER = ""
    parent = ParentFactory()

    login_page = client.get("/connexion/").content.decode()
    assert "compte citoyen" not in login_page
    assert "citizen-sign-in" not in login_page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/agents/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=a&state=b").status_code == 400

    assert (
        client.post("/connexion/", {"username": parent.email, "password": PASSWORD}).status_code
        == 302
    )
    response = client.post("/deconnexion/")
    assert (response.status_code, response["Location"]) == (302, "/connexion/")
    assert "_auth_user_id" not in client.session


def test_login_page_offers_the_citizen_account_first_when_configured(client, settings):
    configure(settings, "https://idp.example.org")

    page = client.get("/connexion/?next=/cantine/").content.decode()

    assert "Se connecter avec mon compte citoyen" in page
    assert 'href="/oidc/authenticate/?next=/cantine/"' in page
    assert page.index("Se connecter avec mon compte citoyen") < page.index('name="password"')
    assert "annuaire" not in page


def test_next_is_kept_but_never_leaves_the_site(client, fake_provider):
    from tests.citizen.conftest import provider_round_trip

    fake_provider.claims = {"sub": "n1", "email": "n1@example.org", "email_verified": True}
    callback = provider_round_trip(client, start="/oidc/authenticate/?next=/cantine/")
    assert client.get(callback)["Location"] == "/cantine/"
    client.logout()
    callback = provider_round_trip(
        client, start="/oidc/authenticate/?next=https://evil.example.org/"
    )
    assert client.get(callback)["Location"] == "/"


# --- the citizen-account page -------------------------------------------------------------------


def test_account_page_shows_and_removes_the_link(client, fake_provider):
    parent = ParentFactory(email="linked@example.org")
    link = CitizenLink.objects.create(user=parent, issuer=fake_provider.issuer, sub="s-1")
    client.force_login(parent)

    page = client.get("/compte/compte-citoyen/").content.decode()
    assert fake_provider.issuer in page
    response = client.post("/compte/compte-citoyen/", {"remove": link.pk})

    assert response.status_code == 302
    assert not CitizenLink.objects.exists()
    assert AuditEvent.objects.filter(action="citizen.link_removed", actor=parent).count() == 1


def test_someone_elses_link_cannot_be_removed(client, fake_provider):
    other = CitizenLink.objects.create(user=ParentFactory(), issuer="https://x", sub="other")
    client.force_login(ParentFactory())

    response = client.post("/compte/compte-citoyen/", {"remove": other.pk}, follow=True)

    assert "Ce lien n&#x27;existe pas." in response.content.decode()
    assert CitizenLink.objects.filter(pk=other.pk).exists()


def test_an_account_made_by_the_provider_sets_a_password_before_unlinking(client, fake_provider):
    fake_provider.claims = {"sub": "np", "email": "np@example.org", "email_verified": True}
    sign_in(client)
    link = CitizenLink.objects.get(sub="np")

    refused = client.post("/compte/compte-citoyen/", {"remove": link.pk}, follow=True)
    assert "Choisissez d&#x27;abord un mot de passe Minot" in refused.content.decode()
    assert CitizenLink.objects.filter(pk=link.pk).exists()

    new_password = "un mot de passe solide 42"
    client.post(
        "/compte/compte-citoyen/", {"new_password1": new_password, "new_password2": new_password}
    )
    assert User.objects.get(email="np@example.org").check_password(new_password)
    assert "_auth_user_id" in client.session
    client.post("/compte/compte-citoyen/", {"remove": link.pk})
    assert not CitizenLink.objects.exists()


def test_account_page_needs_a_signed_in_user(client):
    response = client.get("/compte/compte-citoyen/")
    assert response.status_code == 302 and response["Location"].startswith("/connexion/")


def test_an_account_already_linked_to_another_identity_is_not_linked_twice(client, fake_provider):
    parent = ParentFactory(email="twice@example.org")
    CitizenLink.objects.create(user=parent, issuer=fake_provider.issuer, sub="first")
    fake_provider.claims = {"sub": "second", "email": "twice@example.org", "email_verified": True}

    response = sign_in(client)

    assert response.status_code == 409
    assert list(CitizenLink.objects.values_list("sub", flat=True)) == ["first"]


def test_a_link_is_unique_per_identity_in_the_database(fake_provider):
    from django.db import IntegrityError, transaction

    CitizenLink.objects.create(user=ParentFactory(), issuer="https://idp", sub="same")
    with pytest.raises(IntegrityError), transaction.atomic():
        CitizenLink.objects.create(user=ParentFactory(), issuer="https://idp", sub="same")


def test_password_confirmation_expires(client, fake_provider):
    ParentFactory(email="slow@example.org")
    fake_provider.claims = {"sub": "slow", "email": "slow@example.org"}
    assert sign_in(client)["Location"] == "/oidc/confirmer/"
    session = client.session
    session["citizen_pending"]["at"] = time.time() - 3600
    session.save()

    response = client.post("/oidc/confirmer/", {"password": PASSWORD})

    assert response.status_code == 400
    assert "Confirmation expirée" in response.content.decode()
    assert not CitizenLink.objects.exists()


def test_inactive_account_is_refused(client, fake_provider):
    parent = ParentFactory(email="off@example.org", is_active=False)
    CitizenLink.objects.create(user=parent, issuer=fake_provider.issuer, sub="off")
    fake_provider.claims = {"sub": "off", "email": "off@example.org"}

    response = sign_in(client)

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


# --- logout -----------------------------------------------------------------------------------


def test_logout_without_end_session_endpoint_is_a_local_logout(client, fake_provider):
    fake_provider.with_end_session = False
    fake_provider.claims = {"sub": "lo", "email": "lo@example.org", "email_verified": True}
    sign_in(client)

    response = client.post("/deconnexion/")

    assert (response.status_code, response["Location"]) == (302, "/connexion/")
    assert "_auth_user_id" not in client.session


def test_password_sign_in_logs_out_locally_only(client, fake_provider):
    parent = ParentFactory()
    client.post("/connexion/", {"username": parent.email, "password": PASSWORD})

    response = client.post("/deconnexion/")

    assert response["Location"] == "/connexion/"


# --- the staff directory provider -----------------------------------------------------------------


@pytest.fixture
def staff_provider(settings, fake_provider):
    settings.OIDC_ISSUER = ""
    settings.OIDC_STAFF_ISSUER = fake_provider.issuer
    settings.OIDC_STAFF_CLIENT_ID = "minot-tests"
    settings.OIDC_STAFF_CLIENT_SECRET = "secret"
    return fake_provider


def staff_sign_in(client):
    from tests.citizen.conftest import provider_round_trip

    return client.get(provider_round_trip(client, start="/oidc/agents/authenticate/"))


def test_staff_groups_give_role_and_schools(client, staff_provider):
    school_a, school_b = SchoolFactory(), SchoolFactory()
    row = StaffGroupRole.objects.create(group="ecole-a", role=Role.STAFF, priority=1)
    row.schools.add(school_a)
    StaffGroupRole.objects.create(group="tech", role=Role.TECHNICIAN, priority=5)
    staff_provider.claims = {
        "sub": "agent-1",
        "email": "agent1@ville.example",
        "groups": ["ecole-a", "tech", "unknown"],
    }

    response = staff_sign_in(client)

    assert response.status_code == 302
    user = User.objects.get(email="agent1@ville.example")
    assert user.role == Role.STAFF
    assert list(user.staff_schools.all()) == [school_a]
    assert school_b not in user.staff_schools.all()
    assert client.get("/").url == "/ecole/"


def test_staff_leaving_the_group_loses_the_schools(client, staff_provider):
    school = SchoolFactory()
    row = StaffGroupRole.objects.create(group="ecole-a", role=Role.STAFF)
    row.schools.add(school)
    StaffGroupRole.objects.create(group="tech", role=Role.TECHNICIAN)
    staff_provider.claims = {"sub": "agent-2", "email": "a2@ville.example", "groups": "ecole-a"}
    staff_sign_in(client)
    client.logout()
    staff_provider.claims["groups"] = "tech"

    staff_sign_in(client)

    user = User.objects.get(email="a2@ville.example")
    assert user.role == Role.TECHNICIAN
    assert not user.staff_schools.exists()


def test_staff_without_a_mapped_group_is_refused(client, staff_provider):
    staff_provider.claims = {"sub": "agent-3", "email": "a3@ville.example", "groups": ["other"]}

    response = staff_sign_in(client)

    assert response.status_code == 403
    assert "Aucun accès prévu dans Minot" in response.content.decode()
    assert not User.objects.filter(email="a3@ville.example").exists()


@pytest.mark.parametrize("factory", [ParentFactory, AdminFactory])
def test_staff_provider_never_signs_in_a_parent_or_an_admin(client, staff_provider, factory):
    account = factory(email="mixed@ville.example")
    role = account.role
    StaffGroupRole.objects.create(group="ecole-a", role=Role.STAFF)
    staff_provider.claims = {
        "sub": "agent-4",
        "email": "mixed@ville.example",
        "email_verified": True,
        "groups": ["ecole-a"],
    }

    response = staff_sign_in(client)

    assert response.status_code == 403
    account.refresh_from_db()
    assert account.role == role
    assert not CitizenLink.objects.exists()


def test_existing_staff_account_is_linked_when_the_directory_verifies_the_email(
    client, staff_provider
):
    agent = StaffFactory(email="known@ville.example")
    StaffGroupRole.objects.create(group="ecole-a", role=Role.STAFF)
    staff_provider.claims = {
        "sub": "agent-5",
        "email": "known@ville.example",
        "email_verified": True,
        "groups": ["ecole-a"],
    }

    assert staff_sign_in(client).status_code == 302

    assert CitizenLink.objects.get(sub="agent-5").user == agent


@pytest.mark.parametrize(
    ("setting", "value", "claims", "allowed"),
    [
        ("OIDC_STAFF_ACR_VALUES", "eidas2", {"acr": "eidas1"}, False),
        ("OIDC_STAFF_ACR_VALUES", "eidas2", {}, False),
        ("OIDC_STAFF_ACR_VALUES", "eidas2 eidas3", {"acr": "eidas2"}, True),
        ("OIDC_STAFF_REQUIRED_AMR", ["mfa", "otp"], {"amr": ["pwd"]}, False),
        ("OIDC_STAFF_REQUIRED_AMR", ["mfa", "otp"], {"amr": ["pwd", "otp"]}, True),
    ],
)
def test_staff_second_factor_is_checked_when_configured(
    client, settings, staff_provider, setting, value, claims, allowed
):
    setattr(settings, setting, value)
    StaffGroupRole.objects.create(group="ecole-a", role=Role.STAFF)
    staff_provider.claims = {"sub": "agent-6", "email": "a6@ville.example", "groups": ["ecole-a"]}
    staff_provider.claims.update(claims)

    response = staff_sign_in(client)

    assert (response.status_code == 302) is allowed
    assert User.objects.filter(email="a6@ville.example").exists() is allowed
    if not allowed:
        assert "Niveau d&#x27;authentification insuffisant" in response.content.decode()


def test_acr_values_are_requested_from_the_provider(client, settings, staff_provider):
    settings.OIDC_STAFF_ACR_VALUES = "eidas2"

    response = client.get("/oidc/agents/authenticate/")

    assert "acr_values=eidas2" in response["Location"]


def test_checks_name_a_missing_client_and_a_plain_http_issuer(settings):
    from backend.citizen.checks import client_configured, issuer_https

    settings.OIDC_ISSUER = "http://idp.example.org"
    settings.OIDC_CLIENT_ID = ""
    assert [c.id for c in client_configured(None)] == ["citizen.E001"]
    assert [c.id for c in issuer_https(None)] == ["citizen.W001"]
    settings.OIDC_ISSUER = ""
    assert client_configured(None) == [] and issuer_https(None) == []
