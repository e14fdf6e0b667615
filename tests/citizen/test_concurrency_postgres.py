"""The same identity signing in from several tabs at once opens one account, never two.

Real threads, each with its own database connection, against PostgreSQL."""

import threading

import pytest
from django.db import close_old_connections, connection

from backend.accounts.models import User
from backend.citizen.models import CitizenLink
from backend.citizen.services import citizen_sign_in
from tests.factories import ParentFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ISSUER = "https://idp.example.org"


def run_in_threads(fn, n):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    close_old_connections()
    return results, errors


def test_simultaneous_first_sign_ins_create_one_account():
    claims = {"sub": "race-1", "email": "race@example.org", "email_verified": True}

    results, errors = run_in_threads(lambda: citizen_sign_in(issuer=ISSUER, claims=claims), 6)

    assert errors == []
    assert User.objects.filter(email="race@example.org").count() == 1
    assert CitizenLink.objects.filter(issuer=ISSUER, sub="race-1").count() == 1
    assert {r.user.pk for r in results} == {User.objects.get(email="race@example.org").pk}


def test_simultaneous_links_of_an_existing_account_make_one_link():
    parent = ParentFactory(email="race2@example.org")
    claims = {"sub": "race-2", "email": "race2@example.org", "email_verified": True}

    results, errors = run_in_threads(lambda: citizen_sign_in(issuer=ISSUER, claims=claims), 6)

    assert errors == []
    assert list(CitizenLink.objects.values_list("user_id", flat=True)) == [parent.pk]
    assert {r.user.pk for r in results} == {parent.pk}
