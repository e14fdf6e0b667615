"""Two-factor authentication: enforced for staff, admins and technicians; optional for parents."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.core.models import AuditEvent
from tests.factories import PASSWORD, AdminFactory, ParentFactory, StaffFactory, TechnicianFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enforced(settings):
    settings.MINOT_2FA_REQUIRED = True


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def login(client, email):
    response = client.post(reverse("login"), {"username": email, "password": PASSWORD})
    assert response.status_code == 302
    return response


def enrol(client, user) -> list[str]:
    """Sign in, open the setup page, type the app's code; returns the recovery codes."""
    page = client.get(reverse("account-2fa-setup"))
    assert page.status_code == 200 and b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("account-2fa-setup"), {"code": current_code(device)})
    assert response.status_code == 200
    return response.context["codes"]


@pytest.mark.parametrize("factory", [StaffFactory, AdminFactory, TechnicianFactory])
def test_staff_admins_and_technicians_must_set_up_two_factor(client, enforced, factory):
    user = factory(email="agent@example.test")
    login(client, "agent@example.test")
    # then: every page sends them to the setup page first
    for url in [reverse("home"), reverse("notifications"), "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account-2fa-setup"))
    assert client.get("/api/v1/me/").status_code == 403
    codes = enrol(client, user)
    assert len(codes) == 10
    assert client.get(reverse("notifications")).status_code == 200
    assert AuditEvent.objects.filter(action="accounts.2fa.enable", actor=user).exists()


def test_next_sign_in_asks_for_the_code_and_accepts_a_recovery_code_once(client, enforced):
    user = StaffFactory(email="agent@example.test")
    login(client, "agent@example.test")
    codes = enrol(client, user)
    client.post(reverse("logout"))
    login(client, "agent@example.test")
    response = client.get(reverse("notifications"))
    assert response["Location"].startswith(reverse("account-2fa-verify"))
    # a password-only session cannot enrol another phone either
    assert client.get(reverse("account-2fa-setup"))["Location"] == reverse("account-2fa-verify")
    assert client.get(reverse("notifications")).status_code == 302
    assert client.post(reverse("account-2fa-verify"), {"code": codes[0]}).status_code == 302
    assert client.get(reverse("notifications")).status_code == 200
    # the recovery code was used up
    other = Client()
    login(other, "agent@example.test")
    other.post(reverse("account-2fa-verify"), {"code": codes[0]})
    assert other.get(reverse("notifications")).status_code == 302


def test_api_token_needs_the_code_for_staff(api_client, enforced):
    user = StaffFactory(email="agent@example.test")
    body = {"email": "agent@example.test", "password": PASSWORD}
    response = api_client.post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 401 and response.json()["extra"]["otp_required"]
    device = TOTPDevice.objects.create(user=user, confirmed=True)
    response = api_client.post(
        "/api/v1/auth/token/", {**body, "otp": current_code(device)}, format="json"
    )
    assert response.status_code == 200 and response.json()["token"]


def test_two_factor_is_optional_for_parents_and_they_can_turn_it_off(client, enforced):
    user = ParentFactory(email="parent@example.test")
    login(client, "parent@example.test")
    assert client.get(reverse("notifications")).status_code == 200
    enrol(client, user)
    assert client.post(reverse("account-2fa-disable")).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_staff_cannot_turn_it_off(client, enforced):
    user = StaffFactory(email="agent@example.test")
    login(client, "agent@example.test")
    enrol(client, user)
    client.post(reverse("account-2fa-disable"))
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_production_requires_two_factor_by_default():
    from backend.settings import base

    assert base.MINOT_2FA_REQUIRED is True
    assert set(base.MINOT_2FA_REQUIRED_ROLES) == {"staff", "admin", "technician"}
