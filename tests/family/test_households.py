"""Households, invitations (one login per guardian), leaving, contacts, income assessment."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backend.accounts.models import User
from family import selectors, services
from family.models import ChildGuardian, Guardian, GuardianInvitation, Household, IncomeAssessment
from tests.conftest import api_client_for
from tests.factories import ParentFactory
from tests.family.factories import pdf


def test_parent_creates_household_once(db):
    user = ParentFactory()
    client = api_client_for(user)
    r = client.post(
        reverse("family-api:household"),
        {"name": "Famille Test", "address_line": "3 rue X"},
        format="json",
    )
    assert r.status_code == 201
    assert r.json()["guardians"][0]["email"] == user.email
    r = client.post(
        reverse("family-api:household"),
        {"name": "Encore", "address_line": "3 rue X"},
        format="json",
    )
    assert r.status_code == 400
    assert Household.objects.count() == 1


def invite(world, email="second@example.test", **extra):
    client = api_client_for(world.parent)
    return client.post(
        reverse("family-api:household-invite", args=[world.household.pk]),
        {"email": email, **extra},
        format="json",
    )


def token_from_mail(email):
    message = next(m for m in mail.outbox if email in m.to)
    url = next(line for line in message.body.splitlines() if "/famille/invitation/" in line)
    return url.rstrip("/").rsplit("/", 1)[-1], url


def test_invitation_link_creates_an_account_with_its_own_login(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        r = invite(world, billing_payer=True, relationship="mère")
    assert r.status_code == 201
    token, _url = token_from_mail("second@example.test")
    client = Client()
    page = client.get(f"/famille/invitation/{token}/")
    assert page.status_code == 200
    assert "Créez votre compte" in page.content.decode()
    weak = client.post(
        f"/famille/invitation/{token}/",
        {"decision": "accept", "first_name": "Sam", "last_name": "Martin", "password": "12345678"},
    )
    assert weak.status_code == 200
    assert not User.objects.filter(email="second@example.test").exists()
    r = client.post(
        f"/famille/invitation/{token}/",
        {
            "decision": "accept",
            "first_name": "Sam",
            "last_name": "Martin",
            "password": "un-mot-de-passe-long",
        },
    )
    assert r.status_code == 302
    assert r["Location"] == reverse("family:household")
    user = User.objects.get(email="second@example.test")
    assert user.role == "parent"
    assert user.check_password("un-mot-de-passe-long")
    guardian = Guardian.objects.get(user=user)
    assert guardian.household == world.household
    rights = ChildGuardian.objects.get(guardian=guardian, child=world.child)
    assert rights.billing_payer
    assert rights.legal_guardian
    assert GuardianInvitation.objects.get().state == "accepted"
    assert set(selectors.household_payers(household=world.household)) == {
        world.parent.guardian,
        guardian,
    }
    # the link cannot be used twice
    assert "plus valable" in Client().get(f"/famille/invitation/{token}/").content.decode()


def test_invitation_accept_through_api_requires_matching_email(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(world, email="existing@example.test")
    token, _ = token_from_mail("existing@example.test")
    intruder = ParentFactory()
    r = api_client_for(intruder).post(
        reverse("family-api:invitation-respond"), {"token": token, "accept": True}, format="json"
    )
    assert r.status_code == 400
    assert not Guardian.objects.filter(user=intruder).exists()
    invited = ParentFactory(email="existing@example.test")
    r = api_client_for(invited).post(
        reverse("family-api:invitation-respond"), {"token": token, "accept": True}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["id"] == world.household.pk
    r = api_client_for(invited).post(
        reverse("family-api:invitation-respond"), {"token": "forged", "accept": True}, format="json"
    )
    assert r.status_code == 404


def test_expired_and_declined_invitations(world):
    invitation = services.guardian_invite(
        actor=world.parent, household=world.household, email="late@example.test"
    )
    GuardianInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    user = ParentFactory(email="late@example.test")
    with pytest.raises(Exception, match="expiré"):
        services.invitation_accept(invitation=invitation, user=user)
    assert not Guardian.objects.filter(user=user).exists()
    again = services.guardian_invite(
        actor=world.parent, household=world.household, email="late@example.test"
    )
    services.invitation_decline(invitation=again, user=user)
    assert GuardianInvitation.objects.get(pk=again.pk).state == "declined"


def test_a_new_invitation_replaces_the_pending_one(world):
    first = services.guardian_invite(
        actor=world.parent, household=world.household, email="x@example.test"
    )
    second = services.guardian_invite(
        actor=world.parent, household=world.household, email="X@example.test"
    )
    first.refresh_from_db()
    assert first.state == "revoked"
    assert second.state == "pending"


def test_last_guardian_cannot_leave(world):
    client = api_client_for(world.parent)
    r = client.post(reverse("family-api:household-leave", args=[world.household.pk]))
    assert r.status_code == 400
    assert "dernier responsable" in r.json()["message"]
    assert Guardian.objects.filter(user=world.parent).exists()


def test_guardian_leaves_when_another_legal_guardian_remains(world):
    other = ParentFactory(email="second@example.test")
    invitation = services.guardian_invite(
        actor=world.parent, household=world.household, email=other.email
    )
    services.invitation_accept(invitation=invitation, user=other)
    r = api_client_for(other).post(reverse("family-api:household-leave", args=[world.household.pk]))
    assert r.status_code == 204
    assert not Guardian.objects.filter(user=other).exists()
    assert ChildGuardian.objects.filter(child=world.child).count() == 1


def test_leaving_refused_if_a_child_would_have_no_legal_guardian(world):
    other = ParentFactory(email="second@example.test")
    invitation = services.guardian_invite(
        actor=world.parent, household=world.household, email=other.email, legal_guardian=False
    )
    services.invitation_accept(invitation=invitation, user=other)
    r = api_client_for(world.parent).post(
        reverse("family-api:household-leave", args=[world.household.pk])
    )
    assert r.status_code == 400
    assert Guardian.objects.filter(user=world.parent).exists()


def test_household_payers_falls_back_to_every_guardian(world):
    ChildGuardian.objects.filter(child=world.child).update(billing_payer=False)
    assert list(selectors.household_payers(household=world.household)) == [world.parent.guardian]


def test_emergency_contacts(world):
    client = api_client_for(world.parent)
    url = reverse("family-api:household-contacts", args=[world.household.pk])
    assert client.post(url, {"name": "Mamie", "phone": "abc"}, format="json").status_code == 400
    r = client.post(
        url, {"name": "Mamie", "phone": "06 00 00 00 00", "may_pick_up": True}, format="json"
    )
    assert r.status_code == 201
    assert r.json()["may_pick_up"] is True
    assert (
        client.delete(reverse("family-api:contact-delete", args=[r.json()["id"]])).status_code
        == 204
    )


def test_income_assessment_declared_then_validated_sets_bracket(world):
    from family.models import IncomeBracket

    for n, low, high in [(1, 0, 450), (2, 451, 700), (3, 701, 1000), (4, 1001, None)]:
        IncomeBracket.objects.create(number=n, min_quotient=low, max_quotient=high)
    today = timezone.localdate()
    client = api_client_for(world.parent)
    url = reverse("family-api:household-income", args=[world.household.pk])
    data = {
        "quotient": 650,
        "source": "caf",
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=200)).isoformat(),
    }
    r = client.post(url, data, format="multipart")
    assert r.status_code == 400
    assert "justificatif" in r.json()["message"]
    r = client.post(url, {**data, "file": pdf()}, format="multipart")
    assert r.status_code == 201
    assert r.json()["status"] == "pending"
    assert selectors.household_income_assessment(household=world.household, day=today) is None
    r = api_client_for(world.staff).post(
        reverse("family-api:income-decide", args=[r.json()["id"]]),
        {"validate": True},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["bracket"] == 2
    assessment = selectors.household_income_assessment(household=world.household, day=today)
    assert assessment.bracket == 2
    assert assessment.status == IncomeAssessment.Status.VALIDATED
    r = api_client_for(world.staff).post(
        reverse("family-api:income-decide", args=[assessment.pk]), {"validate": True}, format="json"
    )
    assert r.status_code == 400


def test_household_page_renders_for_parent_and_creation_form_without_household(world, db):
    client = Client()
    client.force_login(world.parent)
    page = client.get(reverse("family:household")).content.decode()
    assert world.child.first_name in page
    assert "Inviter un autre responsable" in page
    client.force_login(ParentFactory())
    assert "Créer mon foyer" in client.get(reverse("family:household")).content.decode()


def test_join_and_invitation_notices_are_rendered_in_each_readers_language(world):
    """Stored as keys plus parameters: the English reader reads English, the French reader
    French, whatever language the writer used."""
    from django.utils.translation import override

    from backend.core.models import Notification
    from family.services.households import invitation_email

    other = ParentFactory(email="second@example.test")
    with override("fr"):
        invitation = services.guardian_invite(
            actor=world.parent, household=world.household, email=other.email
        )
        invitation_email(invitation_id=invitation.pk)
        services.invitation_accept(invitation=invitation, user=other)

    invited = Notification.objects.get(user=other, subject_key__startswith="Invitation")
    joined = Notification.objects.get(user=world.parent, subject_key__contains="a rejoint")
    with override("en"):
        assert invited.subject_text == f"Invitation to join the {world.household.name} household"
        assert joined.subject_text == "second@example.test has joined your household"
        assert "second@example.test" in joined.body_text
        assert "rejoint" not in joined.body_text
    with override("fr"):
        assert joined.subject_text == "second@example.test a rejoint votre foyer"


def test_income_assessment_notice_reaches_an_english_reader_in_english(world):
    from django.utils.translation import override

    from backend.core.models import Notification

    Notification.objects.all().delete()
    with override("fr"):
        today = timezone.localdate()
        assessment = services.income_assessment_declare(
            actor=world.parent,
            household=world.household,
            quotient=500,
            source="caf",
            valid_from=today,
            valid_until=today + dt.timedelta(days=200),
            uploaded_file=pdf(),
        )
        services.income_assessment_reject(
            actor=world.staff, assessment=assessment, reason="Illisible"
        )
    notice = Notification.objects.filter(user=world.parent).latest("id")
    with override("en"):
        assert notice.subject_text == "Family quotient refused"
        assert notice.body_text == "Illisible"
