"""PostgreSQL cut mid-traffic: requests in flight get a clear 503 (JSON for the API, a French page
otherwise), nothing is half-written, and the application recovers without a restart."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from family.models import GuardianInvitation
from tests.factories import household_with_parent


def invite(client, household, email):
    return client.post(
        reverse("family-api:household-invite", args=[household.pk]), {"email": email}, format="json"
    )


@pytest.mark.postgres
def test_database_cut_answers_503_then_recovers_without_restart(db_through_proxy):
    proxy = db_through_proxy
    household, parent, _ = household_with_parent(children=0)
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(user=parent)
    browser = Client(raise_request_exception=False)
    browser.force_login(parent)
    assert invite(api, household, "one@example.test").status_code == 201
    # when: PostgreSQL goes away (its connections are reset, new ones refused)
    proxy.cut()
    r = invite(api, household, "two@example.test")
    page = browser.get("/parent/")
    # then: a clear 503, in JSON for the API and as a French page otherwise
    assert r.status_code == 503
    assert r.json()["message"].startswith("Le service est momentanément indisponible")
    assert r["Retry-After"] == "30"
    assert page.status_code == 503
    assert "momentanément indisponible" in page.content.decode()
    # when: it comes back, the same process serves again (no restart)
    proxy.restore()
    assert invite(api, household, "three@example.test").status_code == 201
    # then: the cut request wrote nothing, the others were stored once
    emails = sorted(GuardianInvitation.objects.values_list("email", flat=True))
    assert emails == ["one@example.test", "three@example.test"]
