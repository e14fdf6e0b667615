"""localstripe (a fake, stateful Stripe) for the whole session, and helpers to sign events."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

WEBHOOK_SECRET = "whsec_test_minot"
SECRET_KEY = "sk_test_minot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe_url():
    """Start ``localstripe --from-scratch`` on a free port; stop it at the end of the session."""
    port = _free_port()
    exe = Path(sys.executable).with_name("localstripe")
    proc = subprocess.Popen(
        [str(exe), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"{url}/v1/customers", auth=(SECRET_KEY, ""), timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def stripe_settings(settings):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_minot"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.MINOT_PAYMENTS_SERVER_CONFIRM = True
    return settings


@pytest.fixture(scope="session")
def _media_url_for_live_server():
    """base.py sets ``MEDIA_URL = None``, which breaks the live server's media handler (it parses
    None as bytes and answers 500 to every request): give it a path before the server starts."""
    from django.test.utils import override_settings

    override = override_settings(MEDIA_URL="/media/")
    override.enable()
    yield
    override.disable()


@pytest.fixture
def payments_live_server(_media_url_for_live_server, live_server):
    return live_server


@pytest.fixture
def localstripe(localstripe_url, stripe_settings):
    stripe_settings.STRIPE_API_BASE = localstripe_url
    return localstripe_url


@pytest.fixture
def localstripe_webhook(localstripe, payments_live_server):
    """Point localstripe's webhooks at our live server (sent once, 1 s after the event).

    At teardown the hook is pointed at a closed port, so a late event of this test never reaches
    the next test's data.
    """

    def register(url):
        response = requests.post(
            f"{localstripe}/_config/webhooks/minot-tests",
            data={"url": url, "secret": WEBHOOK_SECRET},
            auth=(SECRET_KEY, ""),
            timeout=5,
        )
        assert response.status_code == 200

    register(f"{payments_live_server.url}/payments/stripe/webhook/")
    yield payments_live_server
    time.sleep(1.2)  # let localstripe deliver what this test caused
    register("http://127.0.0.1:9/discard")


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: ``t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<body>")``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def event_payload(event_id: str, type_: str, obj: dict) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2017-08-15",
            "data": {"object": obj},
        }
    ).encode()
