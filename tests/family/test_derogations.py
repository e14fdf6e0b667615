"""Derogation workflow: documents per reason, the catchment school's opinion, the city's
separate decision with a commission date, a queue filter and the decision letter (PDF)."""

import pytest
from django.test import Client
from django.urls import reverse

from backend.core.models import Notification
from family import selectors, services
from family.models import DerogationReview, SchoolApplication
from tests.factories import AdminFactory
from tests.family.factories import pdf_io


@pytest.fixture
def derogation(world):
    world.household.address_line = "4 rue de la Paix"  # catchment: school A
    world.household.save()
    application = services.application_create(
        actor=world.parent,
        child=world.child,
        school_year=world.next_year,
        school=world.school_b,
        grade="CM1",
        derogation_reason="sibling",
        derogation_details="Sa sœur est à l'école B",
    )
    services.application_submit(actor=world.parent, application=application)
    assert application.catchment_school == world.school_a
    world.application = application
    world.admin = AdminFactory()
    return world


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_reason_needs_its_own_document(derogation):
    groups = selectors.application_required_groups(application=derogation.application)
    assert ["sibling_certificate"] in [g["kinds"] for g in groups]
    missing = selectors.applications_with_missing_documents(
        SchoolApplication.objects.filter(pk=derogation.application.pk)
    )
    assert missing.exists()


def test_opinion_then_decision_then_letter(derogation):
    app = derogation.application
    admin = client_for(derogation.admin)
    parent = client_for(derogation.parent)
    letter = reverse("family:derogation-letter", args=[app.pk])
    assert parent.get(letter).status_code == 404  # nothing decided yet
    # the city cannot decide before the catchment school's opinion
    admin.post(reverse("family:derogation-decide", args=[app.pk]), {"granted": "1"})
    assert DerogationReview.objects.filter(application=app, decision="pending").count() <= 1
    assert not DerogationReview.objects.filter(application=app).exclude(decision="pending")
    # the requested school's staff is not the catchment school: no opinion from them
    r = client_for(derogation.staff_b).post(
        reverse("family:derogation-opinion", args=[app.pk]), {"favourable": "1"}
    )
    assert r.status_code == 404
    # the catchment school's staff (school A) see it in their queue and give their opinion
    staff = client_for(derogation.staff)
    page = staff.get(reverse("family:application-detail", args=[app.pk])).content.decode()
    assert "Donner l'avis" in page
    staff.post(
        reverse("family:derogation-opinion", args=[app.pk]),
        {"favourable": "1", "comment": "Fratrie confirmée"},
    )
    assert DerogationReview.objects.get(application=app).opinion == "favourable"
    queue = selectors.work_queue(
        applications=SchoolApplication.objects.all(), derogation="decision"
    )
    assert list(queue) == [app]
    assert not selectors.work_queue(
        applications=SchoolApplication.objects.all(), derogation="opinion"
    )
    # granting needs the sibling certificate accepted
    with pytest.raises(Exception, match="non vérifiée"):
        services.derogation_decide(actor=derogation.admin, application=app, granted=True)
    document = services.document_upload(
        actor=derogation.parent,
        household=derogation.household,
        kind="sibling_certificate",
        uploaded_file=pdf_io("certificat.pdf"),
        application=app,
    )
    services.document_check(actor=derogation.staff_b, document=document, accepted=True)
    r = admin.post(
        reverse("family:derogation-decide", args=[app.pk]),
        {"granted": "1", "commission_date": "2027-03-15"},
    )
    assert r.status_code == 302
    review = DerogationReview.objects.get(application=app)
    assert review.decision == "granted"
    assert str(review.commission_date) == "2027-03-15"
    assert Notification.objects.filter(
        user=derogation.parent, subject__contains="Dérogation"
    ).exists()
    response = parent.get(letter)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    # another family cannot download it
    assert client_for(derogation.parent2).get(letter).status_code == 404


def test_registration_cannot_be_accepted_before_the_derogation_is_granted(derogation):
    app = derogation.application
    services.application_start_review(actor=derogation.staff_b, application=app)
    with pytest.raises(Exception, match="dérogation doit d'abord être accordée"):
        services.application_decide(actor=derogation.staff_b, application=app, decision="accept")
    services.derogation_opinion(
        actor=derogation.staff, application=app, favourable=False, comment="École pleine"
    )
    with pytest.raises(Exception, match="motif"):
        services.derogation_decide(actor=derogation.admin, application=app, granted=False)
    services.derogation_decide(
        actor=derogation.admin, application=app, granted=False, reason="Pas de place"
    )
    with pytest.raises(Exception, match="déjà décidée"):
        services.derogation_decide(actor=derogation.admin, application=app, granted=True)
    # staff of a school are not the city: they cannot decide a derogation
    with pytest.raises(Exception, match="ville"):
        services.derogation_decide(actor=derogation.staff_b, application=app, granted=True)


def test_the_derogation_forms_share_no_id_with_the_registration_forms(derogation):
    """The city administrator sees the derogation's opinion and decision forms and the
    registration's decision form on one page: every label must name its own field (WCAG 1.3.1),
    so no two elements share an id."""
    import re
    from collections import Counter

    page = (
        client_for(derogation.admin)
        .get(reverse("family:application-detail", args=[derogation.application.pk]))
        .content.decode()
    )
    assert "Décision de la ville" in page
    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert [i for i, n in ids.items() if n > 1] == []
    for target in re.findall(r'<label[^>]*\sfor="([^"]+)"', page):
        assert ids[target] == 1, target
