"""Stock osqueryd onboarding package and the technician's identity decisions (issue 14, item 8)."""

import io
import json
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.models import AuditEvent
from fleet.models import Alert, Device, IdentityRequest
from fleet.services.config import CLI_ONLY_OPTIONS
from tests.factories import ParentFactory, TechnicianFactory

from .factories import enroll_body, school_with_secret

pytestmark = pytest.mark.django_db


def flags(text):
    return dict(line[2:].split("=", 1) for line in text.splitlines() if line.startswith("--"))


def test_technician_downloads_flagfiles_secret_and_guide_that_stock_osqueryd_can_use(settings):
    settings.ALLOWED_HOSTS = ["minot.example.org", "testserver"]
    school = school_with_secret()
    client = Client()
    client.force_login(TechnicianFactory())
    # when
    response = client.post(
        reverse("fleet:school-secret", args=[school.pk]),
        {"action": "package"},
        HTTP_HOST="minot.example.org",
    )
    # then
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {
        "osquery-linux.flags",
        "osquery-macos.flags",
        "osquery-windows.flags",
        "enroll_secret",
        "LISEZMOI.txt",
    }
    linux = flags(archive.read("osquery-linux.flags").decode())
    assert linux["tls_hostname"] == "minot.example.org"
    assert linux["config_plugin"] == linux["logger_plugin"] == linux["distributed_plugin"] == "tls"
    assert linux["disable_distributed"] == "false" and linux["logger_tls_compress"] == "true"
    assert linux["host_identifier"] == "uuid" and int(linux["config_refresh"]) > 0
    assert linux["enroll_secret_path"] == "/etc/osquery/enroll_secret"
    for endpoint in ("enroll", "config", "logger", "distributed_tls_read", "distributed_tls_write"):
        key = endpoint if endpoint.startswith("distributed") else f"{endpoint}_tls"
        path = linux[f"{key}_endpoint"]
        assert Client().post(path, data="{}", content_type="application/json").status_code != 404
    assert "C:\\Program Files\\osquery" in archive.read("osquery-windows.flags").decode()
    guide = archive.read("LISEZMOI.txt").decode()
    assert "Linux" in guide and "Windows" in guide and "macOS" in guide
    # the secret in the package enrolls a device of this school
    secret = archive.read("enroll_secret").decode()
    answer = (
        Client()
        .post(
            "/api/osquery/enroll",
            data=json.dumps(enroll_body(secret=secret)),
            content_type="application/json",
        )
        .json()
    )
    assert "node_key" in answer and Device.objects.get().school == school
    # the config served never carries a CLI-only option
    config = (
        Client()
        .post(
            "/api/osquery/config",
            data=json.dumps({"node_key": answer["node_key"]}),
            content_type="application/json",
        )
        .json()
    )
    assert not set(config["options"]) & CLI_ONLY_OPTIONS
    assert AuditEvent.objects.filter(action="fleet.onboarding_package").count() == 1


def test_other_roles_cannot_download_the_package():
    school = school_with_secret()
    client = Client()
    client.force_login(ParentFactory())
    response = client.post(reverse("fleet:school-secret", args=[school.pk]), {"action": "package"})
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="fleet.onboarding_package").count() == 0


@pytest.mark.parametrize("action, school_after", [("approve", "b"), ("reject", "a")])
def test_technician_answers_an_identity_request_from_the_alerts_page(
    action, school_after, settings
):
    settings.FLEET_ENROLL_COOLDOWN_SECONDS = 0
    schools = {
        "a": school_with_secret("secret-school-a-01"),
        "b": school_with_secret("secret-school-b-02"),
    }
    post = lambda body: Client().post(  # noqa: E731
        "/api/osquery/enroll", data=json.dumps(body), content_type="application/json"
    )
    post(enroll_body(secret="secret-school-a-01"))
    post(enroll_body(secret="secret-school-b-02"))
    alert = Alert.objects.get(kind="identity_request")
    client = Client()
    client.force_login(TechnicianFactory())
    page = client.get(reverse("fleet:alerts")).content.decode()
    assert reverse("fleet:alert-action", args=[alert.pk, action]) in page
    # when
    client.post(reverse("fleet:alert-action", args=[alert.pk, action]))
    # then
    assert Device.objects.get().school == schools[school_after]
    assert (
        IdentityRequest.objects.get().state == {"approve": "approved", "reject": "rejected"}[action]
    )
