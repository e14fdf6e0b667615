"""Children: creation, identity, health changes through staff-validated change requests,
audited staff reads."""

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.models import AuditEvent
from family.models import CarePlan, ChangeRequest, Child, ChildGuardian, Household
from tests.conftest import api_client_for


def test_parent_adds_a_child_with_allergies(world):
    client = api_client_for(world.parent)
    r = client.post(
        reverse("family-api:children"),
        {
            "first_name": "Zoé",
            "last_name": "Martin",
            "birth_date": "2019-04-02",
            "allergies": ["milk", "eggs"],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    child = Child.objects.get(pk=r.json()["id"])
    assert child.household == world.household
    assert child.allergies == ["eggs", "milk"]
    assert ChildGuardian.objects.get(child=child).billing_payer is True


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"allergies": ["gluten", "chocolate"]}, "chocolate"),
        ({"birth_date": "2999-01-01"}, "futur"),
        ({"birth_date": "not a date"}, "Données invalides"),
    ],
)
def test_bad_child_input_is_400(world, payload, message):
    client = api_client_for(world.parent)
    base = {"first_name": "Zoé", "last_name": "Refusée", "birth_date": "2019-04-02"}
    before = Child.objects.count()
    r = client.post(reverse("family-api:children"), {**base, **payload}, format="json")
    assert r.status_code == 400
    assert message in str(r.json())
    # nothing written (the factories may name a child Zoé: count every child)
    assert Child.objects.count() == before


def test_health_change_waits_for_staff_validation(world):
    parent = api_client_for(world.parent)
    r = parent.post(
        reverse("family-api:change-requests"),
        {
            "category": "health",
            "child": world.child.pk,
            "changes": {"allergies": ["peanuts"], "diet": "vegetarian"},
        },
        format="json",
    )
    assert r.status_code == 201
    change_id = r.json()["id"]
    world.child.refresh_from_db()
    assert world.child.allergies == []
    assert world.child.diet == "standard"
    detail = parent.get(reverse("family-api:child-detail", args=[world.child.pk])).json()
    assert detail["pending_change_requests"] == [change_id]
    # the parent sees "pending validation" on the child's page
    client = Client()
    client.force_login(world.parent)
    assert (
        "En attente de validation"
        in client.get(reverse("family:child-detail", args=[world.child.pk])).content.decode()
    )
    staff = api_client_for(world.staff)
    r = staff.post(
        reverse("family-api:change-request-decide", args=[change_id]),
        {"approve": False},
        format="json",
    )
    assert r.status_code == 400  # a refusal needs a reason
    r = staff.post(
        reverse("family-api:change-request-decide", args=[change_id]),
        {"approve": True},
        format="json",
    )
    assert r.status_code == 200
    assert r.json()["state"] == "approved"
    world.child.refresh_from_db()
    assert world.child.allergies == ["peanuts"]
    assert world.child.diet == "vegetarian"
    r = staff.post(
        reverse("family-api:change-request-decide", args=[change_id]),
        {"approve": True},
        format="json",
    )
    assert r.status_code == 400


def test_address_change_and_guardian_rights_change_requests(world):
    parent = api_client_for(world.parent)
    r = parent.post(
        reverse("family-api:change-requests"),
        {
            "category": "address",
            "changes": {"address_line": "5 rue Neuve", "postal_code": "75001", "city": "Minot"},
        },
        format="json",
    )
    assert r.status_code == 201
    staff = api_client_for(world.staff)
    staff.post(
        reverse("family-api:change-request-decide", args=[r.json()["id"]]),
        {"approve": True},
        format="json",
    )
    assert Household.objects.get(pk=world.household.pk).address_line == "5 rue Neuve"
    rights = ChildGuardian.objects.get(child=world.child)
    r = parent.post(
        reverse("family-api:change-requests"),
        {
            "category": "guardians",
            "child": world.child.pk,
            "changes": {
                "custody": "alternating_weeks",
                "guardianships": [
                    {"id": rights.pk, "custody_weeks": "even", "billing_share_percent": 50}
                ],
            },
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    staff.post(
        reverse("family-api:change-request-decide", args=[r.json()["id"]]),
        {"approve": True},
        format="json",
    )
    rights.refresh_from_db()
    assert (rights.custody_weeks, rights.billing_share_percent) == ("even", 50)
    assert Child.objects.get(pk=world.child.pk).custody == "alternating_weeks"
    bad = parent.post(
        reverse("family-api:change-requests"),
        {
            "category": "guardians",
            "child": world.child.pk,
            "changes": {"guardianships": [{"id": rights.pk, "billing_share_percent": 150}]},
        },
        format="json",
    )
    assert bad.status_code == 400
    assert ChangeRequest.objects.filter(state="pending").count() == 0


def test_care_plan_through_change_request(world):
    parent = api_client_for(world.parent)
    r = parent.post(
        reverse("family-api:change-requests"),
        {
            "category": "health",
            "child": world.child.pk,
            "changes": {
                "care_plan": {
                    "valid_from": "2026-09-01",
                    "valid_until": "2027-07-01",
                    "packed_lunch": True,
                    "instructions": "Trousse",
                }
            },
        },
        format="json",
    )
    assert r.status_code == 201
    api_client_for(world.staff).post(
        reverse("family-api:change-request-decide", args=[r.json()["id"]]),
        {"approve": True},
        format="json",
    )
    plan = CarePlan.objects.get(child=world.child)
    assert plan.packed_lunch
    assert plan.instructions == "Trousse"


def test_staff_reads_of_a_child_are_audited(world):
    api_client_for(world.parent).get(reverse("family-api:child-detail", args=[world.child.pk]))
    assert not AuditEvent.objects.filter(action="family.child.read").exists()
    api_client_for(world.staff).get(reverse("family-api:child-detail", args=[world.child.pk]))
    client = Client()
    client.force_login(world.staff)
    client.get(reverse("family:child-detail", args=[world.child.pk]))
    reads = AuditEvent.objects.filter(action="family.child.read", actor=world.staff)
    assert reads.count() == 2
    assert {e.data["via"] for e in reads} == {"api", "page"}
    assert all(
        e.household_id == world.household.pk and e.target_id == str(world.child.pk) for e in reads
    )


def test_parent_cannot_set_class_but_staff_can(world):
    url = reverse("family-api:child-detail", args=[world.child.pk])
    assert (
        api_client_for(world.parent).patch(url, {"class_name": "CM2"}, format="json").status_code
        == 400
    )
    assert (
        api_client_for(world.staff)
        .patch(url, {"class_name": "CM2"}, format="json")
        .json()["class_name"]
        == "CM2"
    )
    assert (
        api_client_for(world.parent)
        .patch(url, {"first_name": "Léo"}, format="json")
        .json()["first_name"]
        == "Léo"
    )


def test_staff_reads_of_a_household_are_audited(world):
    api_client_for(world.parent).get(
        reverse("family-api:household-detail", args=[world.household.pk])
    )
    api_client_for(world.staff).get(
        reverse("family-api:household-detail", args=[world.household.pk])
    )
    client = Client()
    client.force_login(world.staff)
    client.get(reverse("family:counter-household", args=[world.household.pk]))
    reads = AuditEvent.objects.filter(action="family.household.read")
    assert [(e.actor, e.data["via"]) for e in reads.order_by("id")] == [
        (world.staff, "api"),
        (world.staff, "counter"),
    ]
