"""`make demo`'s embedded identity provider: started as the demo starts it, it signs the demo
parent in (email vouched for: linked at once)."""

import subprocess
import time

import pytest
import requests

from backend.citizen.models import CitizenLink
from backend.demo import demo_identity_provider
from tests.citizen.conftest import configure, provider_round_trip
from tests.factories import ParentFactory

pytestmark = pytest.mark.django_db


def test_demo_identity_provider_signs_the_demo_parent_in(client, settings):
    env: dict[str, str] = {}
    processes = demo_identity_provider(env, stack=False)
    assert set(processes) == {"oidc"}
    assert env["OIDC_ISSUER"].startswith("http://127.0.0.1:")
    idp = subprocess.Popen(
        processes["oidc"].split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{env['OIDC_ISSUER']}/.well-known/openid-configuration", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the demo identity provider did not start"
                time.sleep(0.3)
        configure(settings, env["OIDC_ISSUER"])
        parent = ParentFactory(email="parent@example.org")

        response = client.get(provider_round_trip(client, sub="parent-demo"))

        assert response.status_code == 302
        assert CitizenLink.objects.get(sub="parent-demo").user == parent
    finally:
        idp.terminate()
        idp.wait(10)


def test_no_demo_provider_when_an_issuer_is_configured_or_in_stack_mode():
    assert demo_identity_provider({"OIDC_ISSUER": "https://idp.example.org"}, stack=False) == {}
    assert demo_identity_provider({}, stack=True) == {}
