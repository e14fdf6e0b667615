"""The access log and the data export end to end on the demo data: staff opens a child's record
through the page, then the parent sees that reading — who and which child — on their access-log
page and in their data export."""

import datetime as dt
import io
import json
import zipfile

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backend.core.demo_accounts import DEMO_PASSWORD
from family.models import Child

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 16, 9, 30, tzinfo=dt.UTC)


def signed_in(email: str) -> Client:
    client = Client()
    response = client.post("/connexion/", {"username": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, email
    return client


def test_a_staff_reading_on_the_demo_data_reaches_the_parents_log_and_export():
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--no-progress", verbosity=0)
        lea = Child.objects.get(first_name="Léa", last_name="Martin")
        staff = signed_in("staff@example.org")
        assert staff.get(reverse("family:child-detail", args=[lea.pk])).status_code == 200

        parent = signed_in("parent@example.org")
        response = parent.get(reverse("family:privacy-access"))
        assert response.status_code == 200
        rows = [r for r in response.content.decode().split("<tr>") if "Sophie Durand" in r]
        assert len(rows) == 1, "one reading by staff@example.org (Sophie Durand) listed"
        assert "Dossier d&#x27;un enfant : Léa" in rows[0]

        response = parent.get(reverse("family:data-export"))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        data = json.loads(archive.read("donnees.json"))
        reads = [e for e in data["core.auditevent"] if e["action"] == "family.child.read"]
        assert [(e["actor"], e["target"]) for e in reads] == [
            ("Sophie Durand", f"family.child:{lea.pk}")
        ]
        # another family's parent sees none of it
        other = signed_in("parent2@example.org")
        assert "Sophie Durand" not in other.get(reverse("family:privacy-access")).content.decode()
