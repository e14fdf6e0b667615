"""Observed: at the counter, nothing linked a family's page to its meals or payments. The counter
page now leads to each child's meal calendar, the family's payments and documents, and "acting
for this family" stays visible on every page until the agent ends it."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_counter_page_links_meals_payments_documents_and_shows_acting_for(world):
    w = world
    client = Client()
    client.force_login(w.staff)
    page = client.get(f"/famille/guichet/foyers/{w.household.pk}/").content.decode()
    assert f"/cantine/enfant/{w.child.pk}/" in page
    assert f"/paiements/gestion/familles/{w.household.pk}/" in page
    assert 'id="docs-title"' in page
    elsewhere = client.get(f"/cantine/enfant/{w.child.pk}/").content.decode()
    assert "Vous agissez pour la famille" in elsewhere
    assert client.get(f"/cantine/enfant/{w.child.pk}/").status_code == 200
    client.post("/famille/guichet/terminer/")
    assert "Vous agissez pour la famille" not in client.get("/ecole/").content.decode()
    # another school's family stays out of reach, and no banner appears for it
    assert client.get(f"/famille/guichet/foyers/{w.household2.pk}/").status_code == 404
    assert "Vous agissez pour la famille" not in client.get("/ecole/").content.decode()
