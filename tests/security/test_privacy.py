"""Privacy features: family export, retention job, access log, public notices."""

import datetime as dt
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from backend.core.models import AuditEvent
from family.models import Document
from family.services import child_record_read, document_upload
from tests.factories import (
    AdminFactory,
    ParentFactory,
    SchoolFactory,
    StaffFactory,
    household_with_parent,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():
    school = SchoolFactory()
    household, parent, (child,) = household_with_parent(children=1, school=school)
    staff = StaffFactory(email="agent@example.test")
    staff.staff_schools.add(school)
    document_upload(
        actor=parent,
        household=household,
        kind="other",
        uploaded_file=SimpleUploadedFile("x.pdf", b"%PDF-1.4 data"),
    )
    return household, parent, child, staff


def test_a_parent_downloads_everything_about_the_household(client, family):
    household, parent, child, staff = family
    client.force_login(parent)
    response = client.get(reverse("family:data-export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("donnees.json"))
    assert data["family.child"][0]["first_name"] == child.first_name
    assert data["accounts.user"][0]["email"] == parent.email
    assert any(
        name.startswith("documents/") and name.endswith(".pdf") for name in archive.namelist()
    )
    assert "password" not in json.dumps(data)
    assert AuditEvent.objects.filter(action="family.household.export", actor=parent).exists()


def test_staff_export_for_a_family_they_serve_only(client, family):
    household, parent, child, staff = family
    client.force_login(staff)
    url = reverse("family:counter-data-export", args=[household.pk])
    assert client.get(url).status_code == 200
    event = AuditEvent.objects.get(action="family.household.export")
    assert event.actor_kind == "staff_for_family"
    client.force_login(StaffFactory())
    assert client.get(url).status_code == 404
    client.force_login(ParentFactory())
    assert client.get(url).status_code == 404


def test_staff_reads_show_in_the_access_log_for_admins_and_guardians(client, family):
    household, parent, child, staff = family
    child_record_read(actor=staff, child=child)
    client.force_login(parent)
    page = client.get(reverse("family:privacy-access")).content.decode()
    assert staff.get_full_name() in page
    client.force_login(AdminFactory())
    page = client.get(reverse("audit-access"), {"agent": "agent@"}).content.decode()
    assert "agent@example.test" in page
    page = client.get(reverse("audit-access"), {"agent": "nobody"}).content.decode()
    assert "agent@example.test" not in page
    client.force_login(staff)
    assert client.get(reverse("audit-access")).status_code == 404


def test_retention_dry_run_reports_and_the_job_deletes(family, settings):
    household, parent, child, staff = family
    old = timezone.now() - dt.timedelta(days=settings.MINOT_RETENTION_DAYS["documents"] + 1)
    Document.objects.update(created_at=old)
    AuditEvent.objects.update(created_at=timezone.now() - dt.timedelta(days=5000))
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert "documents" in out.getvalue() and "would delete: 1" in out.getvalue()
    assert Document.objects.count() == 1
    call_command("retention", stdout=io.StringIO())
    assert Document.objects.count() == 0
    assert AuditEvent.objects.filter(action="core.retention.apply").count() == 1


@pytest.mark.parametrize("name", ["privacy", "accessibility"])
def test_public_notices_are_linked_from_the_footer(client, name):
    home = client.get("/").content.decode()
    assert reverse(name) in home
    assert "Accessibilité : non conforme" in home
    assert client.get(reverse(name)).status_code == 200
