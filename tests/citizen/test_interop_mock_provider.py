"""The whole flow against oidc-provider-mock, a provider implementation from PyPI."""

from urllib.parse import parse_qs, urlsplit

import pytest

from backend.accounts.models import Role, User
from backend.citizen.models import CitizenLink
from backend.core.models import AuditEvent
from tests.citizen.conftest import CLIENT_ID, provider_round_trip, set_mock_user, sign_in
from tests.factories import PASSWORD, ParentFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_authenticate_redirects_to_the_provider_with_pkce_state_and_nonce(client, mock_provider):
    response = client.get("/oidc/authenticate/")

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}" == mock_provider
    query = parse_qs(url.query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "phone"}
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 20
    assert len(query["nonce"][0]) >= 20


def test_first_sign_in_creates_a_parent_account_from_the_claims(client, mock_provider):
    set_mock_user(
        mock_provider,
        "citizen-1",
        {
            "email": "Nouvelle.Citoyenne@example.org",
            "email_verified": True,
            "given_name": "Nina",
            "family_name": "Martin",
            "phone_number": "+33 6 12 34 56 78",
        },
    )

    response = sign_in(client, sub="citizen-1")

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="nouvelle.citoyenne@example.org")
    assert (user.first_name, user.last_name, user.phone) == ("Nina", "Martin", "+33 6 12 34 56 78")
    assert user.role == Role.PARENT
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.has_usable_password()
    link = CitizenLink.objects.get(user=user)
    assert (link.issuer, link.sub) == (mock_provider, "citizen-1")
    assert client.get("/").url == "/parent/"
    assert set(AuditEvent.objects.filter(actor=user).values_list("action", flat=True)) == {
        "citizen.account_created",
        "citizen.link_created",
    }


def test_the_same_sub_opens_the_same_account_even_if_the_email_changes(client, mock_provider):
    set_mock_user(mock_provider, "citizen-2", {"email": "a@example.org", "email_verified": True})
    sign_in(client, sub="citizen-2")
    client.logout()
    set_mock_user(mock_provider, "citizen-2", {"email": "b@example.org", "email_verified": True})

    response = sign_in(client, sub="citizen-2")

    assert response.status_code == 302
    assert User.objects.filter(email__in=["a@example.org", "b@example.org"]).count() == 1
    assert CitizenLink.objects.filter(sub="citizen-2").count() == 1
    assert int(client.session["_auth_user_id"]) == User.objects.get(email="a@example.org").pk


def test_existing_account_with_verified_email_is_linked(client, mock_provider):
    parent = ParentFactory(email="parent-verified@example.org")
    set_mock_user(
        mock_provider, "citizen-3", {"email": "parent-verified@example.org", "email_verified": True}
    )

    response = sign_in(client, sub="citizen-3")

    assert response.status_code == 302
    assert CitizenLink.objects.get(sub="citizen-3").user == parent
    assert User.objects.filter(email="parent-verified@example.org").count() == 1
    assert int(client.session["_auth_user_id"]) == parent.pk


def test_unverified_email_links_only_after_the_minot_password(client, mock_provider):
    parent = ParentFactory(email="parent-unverified@example.org")
    set_mock_user(mock_provider, "citizen-4", {"email": "parent-unverified@example.org"})

    response = sign_in(client, sub="citizen-4")

    assert response.status_code == 302
    assert response["Location"] == "/oidc/confirmer/"
    assert "_auth_user_id" not in client.session
    assert not CitizenLink.objects.exists()
    page = client.get("/oidc/confirmer/")
    assert "parent-unverified@example.org" in page.content.decode()

    wrong = client.post("/oidc/confirmer/", {"password": "not the password"})
    assert wrong.status_code == 200
    assert "Mot de passe incorrect." in wrong.content.decode()
    assert not CitizenLink.objects.exists()
    assert "_auth_user_id" not in client.session

    right = client.post("/oidc/confirmer/", {"password": PASSWORD})
    assert right.status_code == 302
    assert right["Location"] == "/"
    assert CitizenLink.objects.get(sub="citizen-4").user == parent
    assert int(client.session["_auth_user_id"]) == parent.pk
    assert AuditEvent.objects.get(action="citizen.link_created").data["how"] == "password"


def test_claims_never_change_a_role_nor_open_a_staff_account(client, mock_provider):
    staff = StaffFactory(email="agent@example.org")
    set_mock_user(
        mock_provider,
        "citizen-5",
        {"email": "agent@example.org", "email_verified": True, "role": "admin", "groups": ["x"]},
    )

    response = sign_in(client, sub="citizen-5")

    assert response.status_code == 403
    assert "Compte réservé aux familles" in response.content.decode()
    assert not CitizenLink.objects.exists()
    staff.refresh_from_db()
    assert staff.role == Role.STAFF
    assert "_auth_user_id" not in client.session


def test_new_account_ignores_role_claims(client, mock_provider):
    set_mock_user(
        mock_provider,
        "citizen-6",
        {"email": "c6@example.org", "role": "admin", "is_superuser": True, "groups": ["admins"]},
    )

    sign_in(client, sub="citizen-6")

    user = User.objects.get(email="c6@example.org")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.PARENT, False, False)


def test_replayed_code_with_a_fresh_state_is_refused_by_the_provider(client, mock_provider):
    set_mock_user(mock_provider, "citizen-7", {"email": "c7@example.org", "email_verified": True})
    callback = provider_round_trip(client, sub="citizen-7")
    assert client.get(callback).status_code == 302
    client.logout()
    users = User.objects.count()
    # A new flow gives this browser a fresh state; the attacker pairs it with the spent code.
    fresh = provider_round_trip(client, sub="citizen-7")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    state = parse_qs(urlsplit(fresh).query)["state"][0]

    response = client.get(f"/oidc/callback/?code={code}&state={state}")

    assert response.status_code == 400
    assert "Cette connexion a déjà été utilisée" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users


def test_replayed_callback_url_is_refused(client, mock_provider):
    set_mock_user(mock_provider, "citizen-8", {"email": "c8@example.org", "email_verified": True})
    callback = provider_round_trip(client, sub="citizen-8")
    assert client.get(callback).status_code == 302
    client.logout()

    response = client.get(callback)

    assert response.status_code == 400
    assert "Cette connexion a expiré" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_also_ends_the_provider_session(client, mock_provider):
    set_mock_user(mock_provider, "citizen-9", {"email": "c9@example.org", "email_verified": True})
    sign_in(client, sub="citizen-9")
    id_token = client.session["citizen_id_token"]

    response = client.post("/deconnexion/")

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{mock_provider}/oauth2/end_session"
    query = parse_qs(url.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/connexion/"]
    assert query["client_id"] == [CLIENT_ID]
    assert "_auth_user_id" not in client.session


def _form_action(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    directive = next(d.strip() for d in policy.split(";") if d.strip().startswith("form-action"))
    return directive.split()[1:]


def test_the_pages_let_the_logout_form_reach_the_provider_and_no_further(client, mock_provider):
    """Browsers apply a page's CSP form-action to the redirects after a form submission: without
    the provider's origin, « Se déconnecter » would stop at the redirect (seen in Chromium)."""
    set_mock_user(mock_provider, "citizen-10", {"email": "c10@example.org", "email_verified": True})
    sign_in(client, sub="citizen-10")

    assert _form_action(client.get("/parent/")) == ["'self'", mock_provider]

    client.post("/deconnexion/")
    assert _form_action(client.get("/connexion/")) == ["'self'"]
    parent = ParentFactory()
    client.post("/connexion/", {"username": parent.email, "password": PASSWORD})
    assert _form_action(client.get("/parent/")) == ["'self'"]


def test_the_logout_leaves_the_devices_api_tokens_alone(client, api_client, mock_provider):
    """The web logout ends the browser's session (and the provider's); API tokens are the devices'
    own sessions, revoked on /compte/ or by POST /api/v1/auth/logout[-all]/ (docs/security.md)."""
    parent = ParentFactory()
    token = api_client.post(
        "/api/v1/auth/token/", {"email": parent.email, "password": PASSWORD}, format="json"
    ).json()["token"]
    client.post("/connexion/", {"username": parent.email, "password": PASSWORD})

    assert client.post("/deconnexion/")["Location"] == "/connexion/"

    assert "_auth_user_id" not in client.session
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").status_code == 200
