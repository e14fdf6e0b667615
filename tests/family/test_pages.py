"""Parent and staff pages through Django's test client: forms, messages, counter, bulk actions."""

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backend.core.models import ActorKind, AuditEvent
from family.models import Child, SchoolApplication
from tests.family.factories import pdf


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_parent_applies_uploads_and_submits_through_pages(world):
    client = login(world.parent)
    r = client.post(
        reverse("family:applications"),
        {"child": world.child.pk, "school_year": world.next_year.pk, "school": world.school_a.pk},
    )
    application = SchoolApplication.objects.get()
    assert r.status_code == 302
    assert r["Location"] == reverse("family:application-detail", args=[application.pk])
    r = client.post(
        reverse("family:application-upload", args=[application.pk]),
        {
            "kind": "proof_of_address",
            "issued_on": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
            "file": pdf(),
        },
        follow=True,
    )
    assert "Document envoyé" in r.content.decode()
    r = client.post(
        reverse("family:application-upload", args=[application.pk]),
        {"kind": "vaccinations", "file": pdf(content=b"GIF89a not allowed")},
        follow=True,
    )
    assert "seuls les PDF, JPEG et PNG" in r.content.decode()
    r = client.post(reverse("family:application-submit", args=[application.pk]), follow=True)
    assert "Demande envoyée" in r.content.decode()
    assert SchoolApplication.objects.get().state == "submitted"
    r = client.post(reverse("family:application-submit", args=[application.pk]), follow=True)
    assert "Action impossible" in r.content.decode()


def test_staff_queue_filters_and_bulk_review(world):
    from family import services

    app = services.application_create(
        actor=world.parent, child=world.child, school_year=world.next_year, school=world.school_a
    )
    services.application_submit(actor=world.parent, application=app)
    client = login(world.staff)
    html = client.get(reverse("family:queue")).content.decode()
    assert app.tracking_code_display in html
    assert "manquants" in html
    html = client.get(reverse("family:queue"), {"state": "accepted"}).content.decode()
    assert app.tracking_code_display not in html
    html = client.get(
        reverse("family:queue"), {"search": app.tracking_code_display}
    ).content.decode()
    assert app.tracking_code_display in html
    r = client.post(
        reverse("family:queue-bulk"), {"ids": [app.pk], "action": "review"}, follow=True
    )
    assert "1 dossier(s) traité(s)" in r.content.decode()
    assert SchoolApplication.objects.get().state == "under_review"
    r = client.post(
        reverse("family:queue-bulk"), {"ids": [app.pk], "action": "accept"}, follow=True
    )
    assert "documents manquants" in r.content.decode()
    assert SchoolApplication.objects.get().state == "under_review"


def test_counter_acts_for_the_family_and_is_audited(world):
    client = login(world.staff)
    html = client.get(reverse("family:counter"), {"q": world.child.last_name}).content.decode()
    assert reverse("family:counter-household", args=[world.household.pk]) in html
    r = client.post(
        reverse("family:counter-child-add", args=[world.household.pk]),
        {
            "first_name": "Nina",
            "last_name": "Test",
            "birth_date": "2020-02-02",
            "diet": "standard",
            "custody": "joint",
        },
    )
    assert r.status_code == 302
    nina = Child.objects.get(first_name="Nina")
    assert nina.household == world.household
    event = AuditEvent.objects.get(action="family.child.create")
    assert event.actor_kind == ActorKind.STAFF_FOR_FAMILY
    assert event.household_id == world.household.pk
    # staff of another school cannot reach this family at the counter
    assert (
        login(world.staff_b)
        .get(reverse("family:counter-household", args=[world.household.pk]))
        .status_code
        == 404
    )
    assert (
        login(world.staff_b)
        .post(
            reverse("family:counter-child-add", args=[world.household.pk]),
            {
                "first_name": "X",
                "last_name": "Y",
                "birth_date": "2020-02-02",
                "diet": "standard",
                "custody": "joint",
            },
        )
        .status_code
        == 404
    )
    assert Child.objects.filter(first_name="X").count() == 0


def test_change_requests_page_approves(world):
    from family import services

    change = services.change_request_create(
        actor=world.parent,
        household=world.household,
        child=world.child,
        category="health",
        changes={"diet": "no_pork"},
    )
    client = login(world.staff)
    assert "no_pork" in client.get(reverse("family:change-requests")).content.decode()
    client.post(reverse("family:change-request-decide", args=[change.pk]), {"decision": "reject"})
    change.refresh_from_db()
    assert change.state == "pending"  # no reason: refused with a message
    client.post(reverse("family:change-request-decide", args=[change.pk]), {"decision": "approve"})
    assert Child.objects.get(pk=world.child.pk).diet == "no_pork"
