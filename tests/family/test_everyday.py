"""Everyday family tasks: documents reused across siblings' applications, a sick child reported
after the cancellation deadline, staff import of families and schools from the pages."""

import datetime as dt

from django.utils import timezone

from family import selectors, services
from family.models import SchoolApplication
from tests.factories import ChildFactory
from tests.family.factories import pdf_io


def _application(world, child):
    return services.application_create(
        actor=world.parent, child=child, school_year=world.next_year, school=world.school_a
    )


def test_sibling_application_reuses_valid_household_documents(world):
    world.household.address_line = "4 rue de la Paix"
    world.household.save()
    first = _application(world, world.child)
    today = timezone.localdate()
    for kind, issued in [
        ("proof_of_address", today - dt.timedelta(days=10)),
        ("family_record_book", None),
    ]:
        document = services.document_upload(
            actor=world.parent,
            household=world.household,
            kind=kind,
            uploaded_file=pdf_io(f"{kind}.pdf"),
            application=first,
            issued_on=issued,
        )
        services.document_check(actor=world.staff, document=document, accepted=True)
    sister = ChildFactory(household=world.household, school=world.school_a)
    second = _application(world, sister)
    status = {r["key"]: r for r in selectors.application_document_status(application=second)}
    assert status["address"]["status"] == "accepted"
    assert status["identity"]["status"] == "accepted"
    assert all(getattr(d, "reused", False) for d in status["address"]["documents"])
    assert status["vaccinations"]["status"] == "missing"  # per child: never reused
    missing = selectors.applications_with_missing_documents(
        SchoolApplication.objects.filter(pk=second.pk)
    )
    assert missing.exists()  # vaccinations still missing
    # another household's documents are never reused
    status2 = selectors.application_document_status(
        application=services.application_create(
            actor=world.parent2,
            child=world.child2,
            school_year=world.next_year,
            school=world.school_b,
            derogation_reason="other",
            derogation_details="Garde par les grands-parents",
        )
    )
    assert {r["key"]: r["status"] for r in status2}["address"] == "missing"


def test_an_old_proof_of_address_is_not_reused(world):
    first = _application(world, world.child)
    document = services.document_upload(
        actor=world.parent,
        household=world.household,
        kind="proof_of_address",
        uploaded_file=pdf_io(),
        application=first,
        issued_on=timezone.localdate() - dt.timedelta(days=20),
    )
    services.document_check(actor=world.staff, document=document, accepted=True)
    later = timezone.localdate() + dt.timedelta(days=100)
    assert (
        selectors.reusable_household_documents(household_id=world.household.pk, today=later) == []
    )


def test_admin_imports_families_from_the_page_after_reading_the_report(world):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from family.models import Household
    from tests.factories import AdminFactory
    from tests.family.test_import import CHILDREN, FAMILIES, SCHOOLS

    def files(children=CHILDREN):
        return {
            "kind": "families",
            "action": "check",
            "families": SimpleUploadedFile("f.csv", FAMILIES.encode(), "text/csv"),
            "children": SimpleUploadedFile("c.csv", children.encode(), "text/csv"),
            "schools": SimpleUploadedFile("s.csv", SCHOOLS.encode(), "text/csv"),
        }

    staff = Client()
    staff.force_login(world.staff)
    households = Household.objects.count()
    assert staff.post(reverse("family:import"), files()).status_code == 404
    assert Household.objects.count() == households  # nothing imported
    admin = Client()
    admin.force_login(AdminFactory())
    before = Household.objects.count()
    bad = CHILDREN.replace("2019-09-09", "not-a-date")
    page = admin.post(reverse("family:import"), files(bad)).content.decode()
    assert "rien n&#x27;a été importé" in page or "rien n'a été importé" in page
    assert "Confirmer l" not in page
    page = admin.post(reverse("family:import"), files()).content.decode()
    assert "Aucun problème" in page
    assert Household.objects.count() == before
    token = admin.session["family_import_token"]
    r = admin.post(
        reverse("family:import"), {"action": "confirm", "kind": "families", "token": token}
    )
    assert r.status_code == 302
    assert Household.objects.count() == before + 2
    # the token is spent: confirming twice imports nothing more
    admin.post(reverse("family:import"), {"action": "confirm", "kind": "families", "token": token})
    assert Household.objects.count() == before + 2


def test_sick_child_after_the_deadline_is_not_billed_after_the_first_day(world, settings):
    import time_machine
    from django.test import Client
    from django.urls import reverse

    from canteen import services as canteen_services
    from canteen.selectors import billable_meals
    from family.models import IllnessReport
    from tests.canteen.factories import make_tariff, make_year
    from tests.family.factories import pdf

    settings.MINOT_ILLNESS_BILLED_DAYS = 1
    make_year()
    make_tariff()
    with time_machine.travel(dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC), tick=False):
        canteen_services.bookings_create_pattern(
            children=[world.child],
            start=dt.date(2026, 11, 2),
            end=dt.date(2026, 11, 6),
            weekdays=range(5),
            actor=world.parent,
        )
    client = Client()
    client.force_login(world.parent)
    url = reverse("family:child-illness", args=[world.child.pk])
    with time_machine.travel(dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC), tick=False):
        r = client.post(
            url,
            {"first_day": "2026-11-03", "last_day": "2026-11-05", "certificate": pdf("certif.pdf")},
        )
        assert r.status_code == 302
        # the same days twice: refused, nothing written
        client.post(url, {"first_day": "2026-11-04", "last_day": "2026-11-04"})
        # another family cannot report for this child
        other = Client()
        other.force_login(world.parent2)
        assert (
            other.post(url, {"first_day": "2026-11-06", "last_day": "2026-11-06"}).status_code
            == 404
        )
    report = IllnessReport.objects.get(child=world.child)
    assert report.document is not None
    assert report.document.kind == "medical_certificate"
    days = [
        m.day
        for m in billable_meals(
            start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 6), child_ids=[world.child.pk]
        )
    ]
    assert days == [dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 6)]
