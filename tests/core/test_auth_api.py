import pytest

from backend.accounts.models import ApiToken
from tests.factories import PASSWORD, ParentFactory

pytestmark = pytest.mark.django_db


def test_token_login_returns_a_token_that_authenticates(api_client):
    # given
    user = ParentFactory(email="camille@example.test")
    # when
    response = api_client.post(
        "/api/v1/auth/token/",
        {"email": "Camille@Example.test", "password": PASSWORD},
        format="json",
    )
    # then
    assert response.status_code == 200
    token = response.json()["token"]
    stored = ApiToken.objects.get(user=user)
    assert token.startswith(stored.token_key) and token != stored.digest
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "camille@example.test"
    assert me.json()["role"] == "parent"


def test_wrong_password_is_401_with_a_message_and_no_token(api_client):
    user = ParentFactory()
    response = api_client.post(
        "/api/v1/auth/token/", {"email": user.email, "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json() == {"message": "Adresse e-mail ou mot de passe incorrect.", "extra": {}}
    assert not ApiToken.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "not-an-email", "password": "x"},
        {"email": "a@b.c"},
        {"email": ["a"], "password": {"x": 1}},
    ],
)
def test_malformed_login_is_400_with_field_details(api_client, body):
    response = api_client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    payload = response.json()
    assert payload["message"].startswith("Données invalides")
    assert payload["extra"]["fields"]


def test_garbage_json_is_400_not_500(api_client):
    response = api_client.post(
        "/api/v1/auth/token/", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "message" in response.json()


def test_api_requires_authentication(api_client):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["message"]


def test_bad_token_is_rejected(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token deadbeef")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401


def test_login_throttling_is_per_account_and_address(api_client, settings):
    # given: one account hammered with wrong passwords from one school address
    settings.AXES_FAILURE_LIMIT = 3
    victim = ParentFactory()
    colleague = ParentFactory()
    school_ip = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(3):
        api_client.post(
            "/api/v1/auth/token/",
            {"email": victim.email, "password": "nope"},
            format="json",
            **school_ip,
        )
    # when: the right password is then tried for that account from that address
    locked = api_client.post(
        "/api/v1/auth/token/",
        {"email": victim.email, "password": PASSWORD},
        format="json",
        **school_ip,
    )
    # then: that pair is throttled, with a message...
    assert locked.status_code == 429
    assert "Trop de tentatives" in locked.json()["message"]
    # ...but a colleague behind the same address still logs in,
    ok = api_client.post(
        "/api/v1/auth/token/",
        {"email": colleague.email, "password": PASSWORD},
        format="json",
        **school_ip,
    )
    assert ok.status_code == 200
    # and the account itself still works from another address.
    other = api_client.post(
        "/api/v1/auth/token/",
        {"email": victim.email, "password": PASSWORD},
        format="json",
        REMOTE_ADDR="198.51.100.4",
    )
    assert other.status_code == 200
