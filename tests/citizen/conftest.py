"""Two OpenID providers Minot does not contain, each on a free loopback port:

- ``mock_provider``: oidc-provider-mock from PyPI (Authlib's server side under Flask), a real
  provider with discovery, JWKS, nonce, one-use codes and RP-initiated logout;
- ``fake_provider``: our own (tests/citizen/fakeprovider.py), whose ID tokens the tests tamper with.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from tests.citizen.fakeprovider import FakeProvider

CLIENT_ID = "minot-tests"
CLIENT_SECRET = "minot-tests-secret"


@pytest.fixture(scope="module")
def mock_issuer():
    with run_server_in_thread(port=0, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def configure(settings, issuer: str) -> None:
    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_TIMEOUT = 5


@pytest.fixture
def mock_provider(settings, mock_issuer):
    configure(settings, mock_issuer)
    return mock_issuer


@pytest.fixture
def fake_provider(settings):
    from backend.citizen import providers

    # Each fake provider has its own keys on a free port; a port reused from an earlier test
    # would otherwise find that test's JWKS in the process's client cache (same issuer URL).
    providers._clients.clear()
    with FakeProvider() as fake:
        configure(settings, fake.issuer)
        yield fake


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def set_mock_user(issuer: str, sub: str, claims: dict) -> None:
    response = requests.put(f"{issuer}/users/{sub}", json=claims, timeout=5)
    assert response.status_code == 204, response.text


def local(url: str) -> str:
    """The path and query of an absolute URL (the Django test client's form)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def provider_round_trip(client, *, sub: str | None = None, start: str = "/oidc/authenticate/"):
    """Start the flow in Minot, let the provider answer (the mock: the person submits ``sub``;
    the fake: it redirects at once), and return the callback URL without following it."""
    response = client.get(start)
    assert response.status_code == 302, response.content
    authorize = response["Location"]
    if sub is None:
        answer = requests.get(authorize, allow_redirects=False, timeout=5)
    else:
        answer = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return local(answer.headers["Location"])


def sign_in(client, *, sub: str | None = None):
    return client.get(provider_round_trip(client, sub=sub))
