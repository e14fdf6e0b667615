"""Every way a sign-in can fail gives a clear French page and creates nothing (no account, no
link, no session). The ID tokens here are shaped and signed by our own provider."""

import base64
import json
import time

import pytest
import requests
from joserfc.jwk import RSAKey

from backend.accounts.models import User
from backend.citizen.models import CitizenLink
from backend.core.models import AuditEvent
from tests.citizen.conftest import closed_port_url, configure, provider_round_trip, sign_in

pytestmark = pytest.mark.django_db

CLAIMS = {"sub": "fake-1", "email": "fake1@example.org", "email_verified": True}


def assert_nothing_created(client, response, status: int, title: str) -> None:
    assert response.status_code == status, response.content.decode()[:500]
    page = response.content.decode()
    assert title in page
    assert '<html lang="fr"' in page
    assert not User.objects.filter(email="fake1@example.org").exists()
    assert not CitizenLink.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="citizen.").exists()
    assert "_auth_user_id" not in client.session


def test_the_fake_provider_happy_path_signs_in(client, fake_provider):
    fake_provider.claims = dict(CLAIMS)

    response = sign_in(client)

    assert response.status_code == 302
    assert CitizenLink.objects.get(sub="fake-1").user.email == "fake1@example.org"


def test_provider_down_when_starting(client, settings):
    configure(settings, closed_port_url())

    response = client.get("/oidc/authenticate/")

    assert_nothing_created(
        client, response, 503, "Le service d&#x27;identité de la ville ne répond pas"
    )


def test_provider_down_at_the_token_endpoint(client, fake_provider):
    fake_provider.claims = dict(CLAIMS)
    callback = provider_round_trip(client)
    fake_provider.token_status = 503

    response = client.get(callback)

    assert_nothing_created(
        client, response, 503, "Le service d&#x27;identité de la ville ne répond pas"
    )


def test_discovery_naming_another_issuer_is_refused(client, fake_provider, settings):
    settings.OIDC_ISSUER = fake_provider.issuer.replace("127.0.0.1", "localhost")

    response = client.get("/oidc/authenticate/")

    assert_nothing_created(client, response, 503, "ne répond pas")


def test_wrong_state(client, fake_provider):
    fake_provider.claims = dict(CLAIMS)
    callback = provider_round_trip(client)

    response = client.get(callback.replace("state=", "state=x"))

    assert_nothing_created(client, response, 400, "Cette connexion a expiré")
    assert fake_provider.token_requests == 0


def test_callback_without_any_flow(client, fake_provider):
    response = client.get("/oidc/callback/?code=abc&state=def")

    assert_nothing_created(client, response, 400, "Cette connexion a expiré")


def test_person_refuses_at_the_provider(client, fake_provider):
    start = client.get("/oidc/authenticate/")
    state = start["Location"].split("state=")[1].split("&")[0]

    response = client.get(f"/oidc/callback/?error=access_denied&state={state}")

    assert_nothing_created(client, response, 400, "Connexion annulée")


def test_replayed_code(client, fake_provider):
    fake_provider.claims = dict(CLAIMS, sub="fake-replay", email="replay@example.org")
    callback = provider_round_trip(client)
    code = callback.split("code=")[1].split("&")[0]
    assert client.get(callback).status_code == 302
    client.logout()
    CitizenLink.objects.all().delete()
    User.objects.filter(email="replay@example.org").delete()
    AuditEvent.objects.all().delete()
    fresh = provider_round_trip(client)
    state = fresh.split("state=")[1].split("&")[0]

    response = client.get(f"/oidc/callback/?code={code}&state={state}")

    assert_nothing_created(client, response, 400, "Cette connexion a déjà été utilisée")


def _flip_signature(token: str) -> str:
    head, body, signature = token.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    return f"{head}.{body}.{flipped}"


def _swap_payload(token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["email"] = "attacker@example.org"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def _alg_none(token: str) -> str:
    _, body, _ = token.split(".")
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    return f"{head}.{body}."


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param({"raw": _flip_signature, "why": "BadSignatureError"}, id="signature-changed"),
        pytest.param(
            {"raw": _swap_payload, "why": "BadSignatureError"}, id="claims-changed-after-signing"
        ),
        pytest.param({"raw": _alg_none, "why": "'none' is not allowed"}, id="alg-none"),
        pytest.param({"raw": lambda t: "not-a-jwt", "why": "DecodeError"}, id="garbage"),
        pytest.param({"other_key": True, "why": "BadSignatureError"}, id="signed-by-another-key"),
        pytest.param({"claims": {"exp": int(time.time()) - 600}, "why": "expired"}, id="expired"),
        pytest.param({"claims": {"aud": "another-client"}, "why": "'aud'"}, id="wrong-audience"),
        pytest.param(
            {"claims": {"aud": "another-client", "azp": "minot-tests"}, "why": "'aud'"},
            id="wrong-audience-with-our-azp",
        ),
        pytest.param(
            {"claims": {"aud": ["another-client", "minot-tests"]}, "why": "'azp'"},
            id="several-audiences-without-azp",
        ),
        pytest.param(
            {"claims": {"iat": int(time.time()) + 3600}, "why": "future"}, id="issued-in-the-future"
        ),
        pytest.param(
            {"claims": {"iss": "https://evil.example.org"}, "why": "'iss'"}, id="wrong-issuer"
        ),
        pytest.param(
            {"claims": {"nonce": "replayed-nonce"}, "why": "Invalid claim: 'nonce'"},
            id="wrong-nonce",
        ),
        pytest.param({"drop": "nonce", "why": "Missing claim: 'nonce'"}, id="missing-nonce"),
        pytest.param({"drop": "exp", "why": "Missing claim: 'exp'"}, id="missing-exp"),
        pytest.param({"no_id_token": True, "why": "no ID token"}, id="no-id-token"),
    ],
)
def test_tampered_or_invalid_id_token(client, fake_provider, tamper, caplog):
    fake_provider.claims = dict(CLAIMS)
    if "raw" in tamper:
        fake_provider.raw = tamper["raw"]
    if tamper.get("other_key"):
        fake_provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "good"})
    if "claims" in tamper or "drop" in tamper:

        def mutate(claims, header):
            claims.update(tamper.get("claims", {}))
            claims.pop(tamper.get("drop", ""), None)

        fake_provider.mutate = mutate
    if tamper.get("no_id_token"):
        fake_provider.with_id_token = False

    response = sign_in(client)

    assert_nothing_created(client, response, 400, "Identité non vérifiée")
    # Each token is refused for its own reason (logged for the operator, not shown).
    assert tamper["why"] in caplog.text


def test_missing_email(client, fake_provider):
    fake_provider.claims = {"sub": "fake-1", "email_verified": True}

    response = sign_in(client)

    assert_nothing_created(client, response, 400, "Adresse e-mail manquante")


def test_pkce_verifier_is_sent_and_checked(client, fake_provider):
    """The fake provider refuses a code whose verifier does not match its challenge: a
    successful sign-in proves Minot sent the right one; a stolen code without it fails."""
    fake_provider.claims = dict(CLAIMS)
    callback = provider_round_trip(client)
    code = callback.split("code=")[1].split("&")[0]

    stolen = requests.post(
        f"{fake_provider.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": "guess"},
        timeout=5,
    )
    assert stolen.status_code == 400


# --- userinfo (FranceConnect v2 and ProConnect answer it as a signed JWT) -----------------------


@pytest.mark.parametrize("kind", ["json", "jwt"])
def test_profile_claims_from_the_userinfo_endpoint(client, fake_provider, kind):
    fake_provider.claims = {"sub": "fc-1"}  # FranceConnect's ID token carries no profile
    fake_provider.userinfo = kind
    fake_provider.userinfo_claims = {
        "email": "fc1@example.org",
        "given_name": "Jeanne",
        "family_name": "Durand",
    }

    assert sign_in(client).status_code == 302

    user = User.objects.get(email="fc1@example.org")
    assert (user.first_name, user.last_name) == ("Jeanne", "Durand")
    assert CitizenLink.objects.get(user=user).sub == "fc-1"


@pytest.mark.parametrize(
    ("setup", "why"),
    [
        pytest.param(
            {"userinfo_key": "other"}, "BadSignatureError", id="userinfo-signed-by-another-key"
        ),
        pytest.param({"sub": "someone-else"}, "userinfo sub", id="userinfo-about-someone-else"),
    ],
)
def test_untrustworthy_userinfo_is_refused(client, fake_provider, caplog, setup, why):
    fake_provider.claims = {"sub": "fake-1"}
    fake_provider.userinfo = "jwt"
    fake_provider.userinfo_claims = {"email": "fake1@example.org"}
    if "sub" in setup:
        fake_provider.userinfo_claims["sub"] = setup["sub"]
    if "userinfo_key" in setup:
        fake_provider.userinfo_key = RSAKey.generate_key(2048, parameters={"kid": "good"})

    response = sign_in(client)

    assert_nothing_created(client, response, 400, "Identité non vérifiée")
    assert why in caplog.text
