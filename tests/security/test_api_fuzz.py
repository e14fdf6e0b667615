"""Fuzz every API operation from the OpenAPI schema, as each role: no input may crash the server.

schemathesis generates valid and invalid requests from `/api/schema/`; every response must be
below 500. Runs in-process through the WSGI app against the test database.
"""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from backend.core.demo_accounts import DEMO_ACCOUNTS
from backend.wsgi import application

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))

ROLES = ["anonymous", "parent", "staff", "technician"]


@pytest.fixture
def in_process_wsgi(settings):
    """Like Django's test client: keep the test's database connection open across requests, and
    let a crash surface as its traceback instead of the 500 page."""
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def demo_tokens(django_db_setup, django_db_blocker):
    """The demo data, seeded once for the whole module (each case still runs in a transaction
    that is rolled back), and a token per role for users with real objects around them."""
    from django.core.management import call_command

    from backend.accounts.models import User
    from backend.core.account.services import api_token_create

    emails = {role: email for email, role, *_ in DEMO_ACCOUNTS}
    with django_db_blocker.unblock():
        call_command("seed_demo", "--no-progress", verbosity=0)
        headers = {"anonymous": {}}
        for role in ROLES[1:]:
            _token, secret = api_token_create(
                user=User.objects.get(email=emails[role]), name="fuzz"
            )
            headers[role] = {"Authorization": f"Token {secret}"}
    yield headers
    with django_db_blocker.unblock():
        call_command("flush", "--no-input", verbosity=0)


@pytest.fixture
def role_headers(db, demo_tokens):
    return demo_tokens


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_request_crashes_the_server(case, role, role_headers, in_process_wsgi):
    response = case.call(app=in_process_wsgi, headers=role_headers[role])
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} as {role}: {response.status_code}\n{response.text[:2000]}"
    )
