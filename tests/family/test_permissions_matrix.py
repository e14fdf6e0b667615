"""Roles × objects: who reaches which family object, through the API and the pages.

Owner (parent), the school's staff and city admins reach the parent's objects; another
household's parent (parent2), staff of another school and technicians get 404. Denied writes
change nothing."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from family import services
from family.models import (
    ActivityRegistration,
    ChangeRequest,
    Child,
    Document,
    EmergencyContact,
    GuardianInvitation,
    IncomeAssessment,
    SchoolApplication,
)
from tests.conftest import api_client_for
from tests.factories import AdminFactory
from tests.family.factories import ActivityFactory, pdf_io


@pytest.fixture
def objects(world):
    parent = world.parent
    application = services.application_create(
        actor=parent, child=world.child, school_year=world.next_year, school=world.school_a
    )
    services.application_submit(actor=parent, application=application)
    document = services.document_upload(
        actor=parent,
        household=world.household,
        kind="vaccinations",
        uploaded_file=pdf_io(),
        application=application,
    )
    change = services.change_request_create(
        actor=parent,
        household=world.household,
        child=world.child,
        category="health",
        changes={"diet": "vegetarian"},
    )
    activity = ActivityFactory(school=world.school_a)
    registration = services.activity_register(actor=parent, activity=activity, child=world.child)
    today = timezone.localdate()
    income = services.income_assessment_declare(
        actor=parent,
        household=world.household,
        quotient=800,
        source="caf",
        valid_from=today,
        valid_until=today + dt.timedelta(days=300),
        uploaded_file=pdf_io(),
    )
    contact = services.emergency_contact_create(
        actor=parent, household=world.household, name="Mamie", phone="0600000000"
    )
    invitation = services.guardian_invite(
        actor=parent, household=world.household, email="other@example.test"
    )
    return {
        "household": world.household,
        "child": world.child,
        "application": application,
        "document": document,
        "change": change,
        "activity": activity,
        "registration": registration,
        "income": income,
        "contact": contact,
        "invitation": invitation,
    }


def users(world):
    return {
        "parent": world.parent,
        "parent2": world.parent2,
        "staff": world.staff,
        "staff_b": world.staff_b,
        "technician": world.technician,
        "admin": AdminFactory(),
    }


READERS = {"parent", "staff", "admin"}

API_READS = [
    ("family-api:household-detail", "household"),
    ("family-api:child-detail", "child"),
    ("family-api:registration-detail", "application"),
    ("family-api:document-download", "document"),
    ("family-api:activity-detail", "activity"),
]


@pytest.mark.parametrize(("name", "key"), API_READS)
@pytest.mark.parametrize("role", ["parent", "parent2", "staff", "staff_b", "technician", "admin"])
def test_api_object_reads(world, objects, role, name, key):
    user = users(world)[role]
    response = api_client_for(user).get(reverse(name, args=[objects[key].pk]))
    expected = 200 if role in READERS else 404
    if key == "activity" and role == "parent2":
        expected = 404
    assert response.status_code == expected, (role, name, response.status_code)


@pytest.mark.parametrize("role", ["parent", "parent2", "staff", "staff_b", "technician", "admin"])
def test_api_collections_are_scoped(world, objects, role):
    user = users(world)[role]
    client = api_client_for(user)
    for name in (
        "family-api:household",
        "family-api:children",
        "family-api:registrations",
        "family-api:activities",
    ):
        response = client.get(reverse(name))
        if role == "technician":
            assert response.status_code == 404
            continue
        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        mine = {
            "family-api:household": objects["household"].pk,
            "family-api:children": objects["child"].pk,
            "family-api:registrations": objects["application"].pk,
            "family-api:activities": objects["activity"].pk,
        }[name]
        assert (mine in ids) == (role in READERS), (role, name)


def test_anonymous_gets_401(world, objects, api_client):
    for name in (
        "family-api:household",
        "family-api:children",
        "family-api:registrations",
        "family-api:activities",
    ):
        assert api_client.get(reverse(name)).status_code == 401


def snapshot(objects):
    app = SchoolApplication.objects.get(pk=objects["application"].pk)
    return (
        app.state,
        app.events.count(),
        Document.objects.get(pk=objects["document"].pk).status,
        ChangeRequest.objects.get(pk=objects["change"].pk).state,
        ActivityRegistration.objects.get(pk=objects["registration"].pk).state,
        IncomeAssessment.objects.get(pk=objects["income"].pk).status,
        EmergencyContact.objects.filter(pk=objects["contact"].pk).exists(),
        GuardianInvitation.objects.get(pk=objects["invitation"].pk).state,
        Child.objects.get(pk=objects["child"].pk).first_name,
        Document.objects.count(),
    )


def denied_writes(objects):
    app, doc = objects["application"].pk, objects["document"].pk
    return [
        (
            "post",
            reverse("family-api:registration-decide", args=[app]),
            {"decision": "refuse", "reason": "x"},
        ),
        ("post", reverse("family-api:registration-withdraw", args=[app]), {}),
        ("post", reverse("family-api:registration-review", args=[app]), {}),
        (
            "post",
            reverse("family-api:registration-request-documents", args=[app]),
            {"kinds": ["other"]},
        ),
        (
            "post",
            reverse("family-api:document-check", args=[doc]),
            {"accepted": False, "reason": "x"},
        ),
        (
            "post",
            reverse("family-api:change-request-decide", args=[objects["change"].pk]),
            {"approve": True},
        ),
        (
            "post",
            reverse("family-api:activity-registration-cancel", args=[objects["registration"].pk]),
            {},
        ),
        (
            "post",
            reverse("family-api:income-decide", args=[objects["income"].pk]),
            {"validate": True},
        ),
        ("delete", reverse("family-api:contact-delete", args=[objects["contact"].pk]), None),
        ("post", reverse("family-api:invitation-revoke", args=[objects["invitation"].pk]), {}),
        (
            "patch",
            reverse("family-api:child-detail", args=[objects["child"].pk]),
            {"first_name": "Hacked"},
        ),
        (
            "post",
            reverse("family-api:household-invite", args=[objects["household"].pk]),
            {"email": "x@example.test"},
        ),
        (
            "post",
            reverse("family-api:household-contacts", args=[objects["household"].pk]),
            {"name": "X", "phone": "01"},
        ),
        (
            "post",
            reverse("family-api:activity-capacity", args=[objects["activity"].pk]),
            {"capacity": 99},
        ),
    ]


@pytest.mark.parametrize("role", ["parent2", "staff_b", "technician"])
def test_api_denied_writes_change_nothing(world, objects, role):
    client = api_client_for(users(world)[role])
    before = snapshot(objects)
    invitations = GuardianInvitation.objects.count()
    contacts = EmergencyContact.objects.count()
    for method, url, data in denied_writes(objects):
        response = getattr(client, method)(url, data, format="json")
        assert response.status_code == 404, (role, url, response.status_code)
    # a foreign child in a write body is 404 too
    r = client.post(
        reverse("family-api:registrations"),
        {
            "child": objects["child"].pk,
            "school_year": world.next_year.pk,
            "school": world.school_a.pk,
        },
        format="json",
    )
    assert r.status_code == 404
    assert snapshot(objects) == before
    assert GuardianInvitation.objects.count() == invitations
    assert EmergencyContact.objects.count() == contacts


def test_parent_cannot_do_staff_actions(world, objects):
    client = api_client_for(world.parent)
    before = snapshot(objects)
    for name, key, data in [
        ("family-api:registration-decide", "application", {"decision": "accept"}),
        ("family-api:registration-review", "application", {}),
        ("family-api:document-check", "document", {"accepted": True}),
        ("family-api:change-request-decide", "change", {"approve": True}),
        ("family-api:income-decide", "income", {"validate": True}),
        ("family-api:activity-capacity", "activity", {"capacity": 50}),
    ]:
        assert (
            client.post(reverse(name, args=[objects[key].pk]), data, format="json").status_code
            == 404
        )
    assert snapshot(objects) == before


PAGES = [
    ("family:child-detail", "child"),
    ("family:application-detail", "application"),
    ("family:document-download", "document"),
]


def page_client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "key"), PAGES)
@pytest.mark.parametrize("role", ["parent", "parent2", "staff", "staff_b", "technician", "admin"])
def test_page_object_reads(world, objects, role, name, key):
    response = page_client(users(world)[role]).get(reverse(name, args=[objects[key].pk]))
    assert response.status_code == (200 if role in READERS else 404), (role, name)


@pytest.mark.parametrize("role", ["parent2", "staff_b", "technician"])
def test_page_denied_writes_change_nothing(world, objects, role):
    client = page_client(users(world)[role])
    before = snapshot(objects)
    app, doc = objects["application"].pk, objects["document"].pk
    posts = [
        (reverse("family:application-decide", args=[app]), {"decision": "refuse", "reason": "x"}),
        (reverse("family:application-withdraw", args=[app]), {}),
        (reverse("family:application-submit", args=[app]), {}),
        (reverse("family:document-check", args=[doc]), {"decision": "reject", "reason": "x"}),
        (
            reverse("family:change-request-decide", args=[objects["change"].pk]),
            {"decision": "approve"},
        ),
        (reverse("family:activity-cancel", args=[objects["registration"].pk]), {}),
        (reverse("family:income-decide", args=[objects["income"].pk]), {"decision": "validate"}),
        (
            reverse("family:child-identity", args=[objects["child"].pk]),
            {"first_name": "X", "last_name": "Y", "birth_date": "2018-01-01"},
        ),
        (reverse("family:child-health", args=[objects["child"].pk]), {"diet": "standard"}),
        (reverse("family:counter-household", args=[objects["household"].pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, (role, url)
    assert snapshot(objects) == before


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "parent",
            {
                "household": 200,
                "applications": 200,
                "activities": 200,
                "queue": 404,
                "change-requests": 404,
                "counter": 404,
            },
        ),
        (
            "staff",
            {
                "household": 404,
                "applications": 404,
                "activities": 200,
                "queue": 200,
                "change-requests": 200,
                "counter": 200,
            },
        ),
        (
            "technician",
            {
                "household": 404,
                "applications": 404,
                "activities": 404,
                "queue": 404,
                "change-requests": 404,
                "counter": 404,
            },
        ),
    ],
)
def test_role_pages(world, objects, role, expected):
    client = page_client(users(world)[role])
    for name, status in expected.items():
        assert client.get(reverse(f"family:{name}")).status_code == status, (role, name)


def test_staff_counter_page_scoped(world, objects):
    url = reverse("family:counter-household", args=[world.household.pk])
    assert page_client(world.staff).get(url).status_code == 200
    assert page_client(world.staff_b).get(url).status_code == 404
    assert page_client(world.parent).get(url).status_code == 404
