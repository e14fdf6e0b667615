"""Messages between families and schools: services, read state, notifications, attachments,
appointments, double submit; pages through Django's test client.

``world`` (tests/family/conftest.py): household/parent/child at school A, household2/parent2/
child2 at school B, staff (school A), staff_b (school B), a technician."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backend.core.exceptions import ApplicationError
from backend.core.models import AuditEvent, Notification, NotificationPreference
from family.message_models import AppointmentRequest, Message, MessageThread, OfficeSlot
from family.services import messages as services
from tests.factories import StaffFactory
from tests.family.factories import PDF_BYTES, pdf
from tests.world import FROZEN_NOW

pytestmark = pytest.mark.django_db

NOW = FROZEN_NOW  # the shared world's frozen clock (a Monday)


def login(user):
    client = Client()
    client.force_login(user)
    return client


def start(world, **kwargs):
    values = {
        "actor": world.parent,
        "school": world.school_a,
        "subject": "Sortie scolaire",
        "body": "Bonjour, quelle tenue pour la sortie ?",
    }
    values.update(kwargs)
    return services.thread_start(**values)


def slot(school, *, days=3, capacity=1, actor=None):
    return OfficeSlot.objects.create(
        school=school,
        date=(NOW + dt.timedelta(days=days)).date(),
        start_time=dt.time(16, 30),
        capacity=capacity,
    )


# --- services ----------------------------------------------------------------------------------


def test_parent_starts_a_thread_the_school_is_notified_after_commit(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        thread = start(world)
    assert thread.household == world.household
    assert thread.school == world.school_a
    assert thread.status == "open"
    assert [m.body for m in thread.messages.all()] == ["Bonjour, quelle tenue pour la sortie ?"]
    assert thread.unread_for_school
    assert not thread.unread_for_family
    # The school's staff are told (in the app and by email); the parent is not.
    notes = Notification.objects.filter(category="messages")
    assert [n.user for n in notes] == [world.staff]
    assert notes[0].subject_key == "Nouveau message d'une famille : %(subject)s"
    assert notes[0].params == {"subject": "Sortie scolaire", "school": world.school_a.name}
    assert [m.to for m in mail.outbox] == [[world.staff.email]]
    # The email carries a link, never the message's text.
    assert "tenue" not in mail.outbox[0].body
    audit = AuditEvent.objects.filter(action__startswith="family.message").order_by("id")
    assert [a.action for a in audit] == ["family.message_thread.start", "family.message.post"]
    assert all("tenue" not in str(a.data) for a in audit)


def test_staff_reply_sets_waiting_for_family_and_notifies_the_guardians(world):
    thread = start(world)
    message = services.message_post(actor=world.staff, thread=thread, body="Une tenue de sport.")
    thread.refresh_from_db()
    assert message.from_school
    assert thread.status == "waiting_family"
    assert thread.unread_for_family
    assert not thread.unread_for_school
    assert list(
        Notification.objects.filter(category="messages", user=world.parent).values_list(
            "subject_key", flat=True
        )
    ) == ["Nouveau message de %(school)s : %(subject)s"]
    services.thread_mark_read(actor=world.parent, thread=thread)
    thread.refresh_from_db()
    assert not thread.unread_for_family
    services.message_post(actor=world.parent, thread=thread, body="Merci !")
    thread.refresh_from_db()
    assert thread.status == "open"


def test_notification_preference_off_by_email_is_respected(world):
    NotificationPreference.objects.create(
        user=world.staff, category="messages", in_app=True, email=False
    )
    start(world)
    note = Notification.objects.get(user=world.staff, category="messages")
    assert note.send_email is False
    assert mail.outbox == []


def test_assigned_staff_member_alone_is_notified(world):
    colleague = StaffFactory()
    colleague.staff_schools.add(world.school_a)
    thread = start(world)
    services.thread_assign(actor=world.staff, thread=thread, assignee=colleague)
    Notification.objects.all().delete()
    services.message_post(actor=world.parent, thread=thread, body="Autre question")
    assert list(Notification.objects.values_list("user", flat=True)) == [colleague.pk]


def test_parent_may_write_only_to_a_school_of_their_children(world):
    with pytest.raises(ApplicationError, match="écoles que vos enfants"):
        start(world, school=world.school_b)
    assert MessageThread.objects.count() == 0


def test_thread_about_an_application_must_be_of_that_school(world):
    from family import services as family_services

    application = family_services.application_create(
        actor=world.parent, child=world.child, school_year=world.next_year, school=world.school_a
    )
    thread = start(world, application=application)
    assert thread.application == application
    other = family_services.application_create(
        actor=world.parent2,
        child=world.child2,
        school_year=world.next_year,
        school=world.school_b,
        derogation_reason="other",
        derogation_details="Près du travail",
    )
    with pytest.raises(ApplicationError, match="ne concerne pas"):
        start(world, application=other)


def test_assignee_must_work_at_the_thread_school(world):
    thread = start(world)
    with pytest.raises(ApplicationError, match="personnel de cette école"):
        services.thread_assign(actor=world.staff, thread=thread, assignee=world.staff_b)
    thread.refresh_from_db()
    assert thread.assigned_to is None


def test_close_refuses_new_messages_and_reopen_allows_them(world):
    thread = start(world)
    services.thread_close(actor=world.staff, thread=thread)
    with pytest.raises(ApplicationError, match="close"):
        services.message_post(actor=world.parent, thread=thread, body="Encore")
    with pytest.raises(ApplicationError, match="déjà close"):
        services.thread_close(actor=world.staff, thread=thread)
    services.thread_reopen(actor=world.staff, thread=thread)
    services.message_post(actor=world.parent, thread=thread, body="Encore")
    assert thread.messages.count() == 2
    assert list(
        AuditEvent.objects.filter(
            action__in=["family.message_thread.close", "family.message_thread.reopen"]
        )
        .order_by("id")
        .values_list("data", flat=True)
    ) == [{"from": "open", "to": "closed"}, {"from": "closed", "to": "open"}]


def test_parent_cannot_close_or_assign(world):
    thread = start(world)
    with pytest.raises(ApplicationError):
        services.thread_close(actor=world.parent, thread=thread)
    with pytest.raises(ApplicationError):
        services.thread_assign(actor=world.parent, thread=thread, assignee=world.staff)
    thread.refresh_from_db()
    assert thread.status == "open"
    assert thread.assigned_to is None


def test_same_client_token_twice_stores_one_message(world):
    thread = start(world)
    token = uuid.uuid4()
    first = services.message_post(actor=world.staff, thread=thread, body="Oui", client_token=token)
    second = services.message_post(actor=world.staff, thread=thread, body="Oui", client_token=token)
    assert first.pk == second.pk
    assert thread.messages.count() == 2  # the parent's first message and this one
    assert Notification.objects.filter(user=world.parent).count() == 1


def test_same_client_token_twice_starts_one_thread(world):
    token = str(uuid.uuid4())
    first = start(world, client_token=token)
    second = start(world, client_token=token)
    assert first.pk == second.pk
    assert MessageThread.objects.count() == 1
    assert Message.objects.count() == 1


def test_attachment_goes_through_the_document_checks(world):
    thread = start(world, attachment=pdf(name="../../evil.html"))
    message = thread.messages.get()
    assert message.attachment_content_type == "application/pdf"
    assert message.attachment_size == len(PDF_BYTES)
    assert "evil" not in message.attachment.name
    assert message.attachment.name.startswith(f"messages/{world.household.pk}/")
    with pytest.raises(ApplicationError, match="seuls les PDF, JPEG et PNG"):
        services.message_post(
            actor=world.parent,
            thread=thread,
            body="Et ceci",
            attachment=pdf(content=b"<html><script>alert(1)</script>"),
        )
    assert thread.messages.count() == 1


def test_attachment_over_the_size_limit_is_refused(world, settings):
    settings.UPLOAD_MAX_BYTES = 10
    with pytest.raises(ApplicationError, match="taille maximale"):
        start(world, attachment=pdf())
    assert MessageThread.objects.count() == 0


def test_empty_message_is_refused(world):
    with pytest.raises(ApplicationError, match="Écrivez votre message"):
        start(world, body="   ")
    assert MessageThread.objects.count() == 0


# --- appointments ------------------------------------------------------------------------------


def test_staff_publish_a_slot_parent_requests_staff_confirm_parent_cancels(world):
    thread = start(world)
    office = services.office_slot_create(
        actor=world.staff,
        school=world.school_a,
        date=(NOW + dt.timedelta(days=2)).date(),
        start_time=dt.time(17, 0),
    )
    assert office.capacity == 1
    assert office.duration_minutes == 20
    appointment = services.appointment_request(actor=world.parent, thread=thread, slot=office)
    assert appointment.state == "requested"
    with pytest.raises(ApplicationError, match="déjà demandé"):
        services.appointment_request(actor=world.parent, thread=thread, slot=office)
    services.appointment_confirm(actor=world.staff, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.state == "confirmed"
    with pytest.raises(ApplicationError, match="déjà été traité"):
        services.appointment_decline(actor=world.staff, appointment=appointment)
    services.appointment_cancel(actor=world.parent, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.state == "cancelled"
    assert list(
        AuditEvent.objects.filter(action__startswith="family.appointment")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["family.appointment.request", "family.appointment.confirm", "family.appointment.cancel"]


def test_a_full_slot_is_refused_to_the_next_family(world):
    from tests.factories import household_with_parent

    office = slot(world.school_a)
    thread = start(world)
    services.appointment_request(actor=world.parent, thread=thread, slot=office)
    _, other_parent, _ = household_with_parent(children=1, school=world.school_a)
    other = services.thread_start(
        actor=other_parent, school=world.school_a, subject="Rdv", body="Bonjour"
    )
    with pytest.raises(ApplicationError, match="vient d'être pris"):
        services.appointment_request(actor=other_parent, thread=other, slot=office)
    assert AppointmentRequest.objects.count() == 1


def test_declined_slot_frees_the_place(world):
    office = slot(world.school_a)
    thread = start(world)
    appointment = services.appointment_request(actor=world.parent, thread=thread, slot=office)
    services.appointment_decline(actor=world.staff, appointment=appointment, reason="Absente")
    again = services.appointment_request(actor=world.parent, thread=thread, slot=office)
    assert again.state == "requested"


def test_slot_of_another_school_or_in_the_past_is_refused(world):
    thread = start(world)
    with pytest.raises(ApplicationError, match="pas celui de cette école"):
        services.appointment_request(actor=world.parent, thread=thread, slot=slot(world.school_b))
    with pytest.raises(ApplicationError, match="passé"):
        services.appointment_request(
            actor=world.parent, thread=thread, slot=slot(world.school_a, days=-1)
        )
    with pytest.raises(ApplicationError, match="futur"):
        services.office_slot_create(
            actor=world.staff,
            school=world.school_a,
            date=(NOW - dt.timedelta(days=1)).date(),
            start_time=dt.time(9, 0),
        )
    with pytest.raises(ApplicationError, match="ne travaillez pas"):
        services.office_slot_create(
            actor=world.staff_b,
            school=world.school_a,
            date=(NOW + dt.timedelta(days=1)).date(),
            start_time=dt.time(9, 0),
        )
    assert AppointmentRequest.objects.count() == 0


# --- pages -------------------------------------------------------------------------------------


def test_parent_writes_through_the_pages_and_double_click_stores_one_thread(world):
    client = login(world.parent)
    html = client.get(reverse("family:message-start")).content.decode()
    assert 'name="client_token"' in html
    token = str(uuid.uuid4())
    data = {
        "school": world.school_a.pk,
        "subject": "Cantine",
        "body": "Mon fils mange-t-il bien ?",
        "client_token": token,
    }
    r1 = client.post(reverse("family:message-start"), data)
    r2 = client.post(reverse("family:message-start"), data)
    thread = MessageThread.objects.get()
    assert r1.status_code == r2.status_code == 302
    assert r1["Location"] == r2["Location"] == reverse("family:message-thread", args=[thread.pk])
    reply = {"body": "Et le goûter ?", "client_token": str(uuid.uuid4())}
    url = reverse("family:message-thread", args=[thread.pk])
    client.post(url, reply)
    client.post(url, reply)
    assert thread.messages.count() == 2
    html = client.get(url).content.decode()
    assert "Et le goûter ?" in html


def test_staff_inbox_filters_by_status_and_assignment(world):
    first = start(world, subject="Premier")
    second = start(world, subject="Second")
    services.message_post(actor=world.staff, thread=second, body="Réponse")
    services.thread_assign(actor=world.staff, thread=first, assignee=world.staff)
    client = login(world.staff)
    url = reverse("family:message-inbox")
    assert "Premier" in client.get(url, {"etat": "open"}).content.decode()
    assert "Second" not in client.get(url, {"etat": "open"}).content.decode()
    assert "Second" in client.get(url, {"etat": "waiting_family"}).content.decode()
    html = client.get(url, {"suivi": "me"}).content.decode()
    assert "Premier" in html
    assert "Second" not in html
    html = client.get(url, {"suivi": "nobody", "etat": "bogus"}).content.decode()
    assert "Second" in html
    assert "Premier" not in html


def test_staff_replies_assigns_closes_and_reopens_through_pages(world):
    thread = start(world)
    client = login(world.staff)
    url = reverse("family:message-thread", args=[thread.pk])
    html = client.get(url).content.decode()
    assert "Clore la conversation" in html
    client.post(url, {"body": "Réponse de l'école", "client_token": str(uuid.uuid4())})
    client.post(reverse("family:message-assign", args=[thread.pk]), {"assignee": world.staff.pk})
    client.post(reverse("family:message-status", args=[thread.pk]), {"action": "close"})
    thread.refresh_from_db()
    assert (thread.status, thread.assigned_to) == ("closed", world.staff)
    assert "Rouvrir la conversation" in client.get(url).content.decode()
    client.post(reverse("family:message-status", args=[thread.pk]), {"action": "reopen"})
    thread.refresh_from_db()
    assert thread.status == "open"


def test_appointment_through_pages(world):
    thread = start(world)
    office = slot(world.school_a)
    parent = login(world.parent)
    url = reverse("family:message-thread", args=[thread.pk])
    assert "Demander ce créneau" in parent.get(url).content.decode()
    parent.post(reverse("family:appointment-request", args=[thread.pk]), {"slot": office.pk})
    appointment = AppointmentRequest.objects.get()
    staff = login(world.staff)
    assert "Confirmer" in staff.get(url).content.decode()
    staff.post(reverse("family:appointment-action", args=[appointment.pk]), {"action": "confirm"})
    appointment.refresh_from_db()
    assert appointment.state == "confirmed"
    html = staff.get(reverse("family:office-slots")).content.decode()
    assert world.household.name in html


def test_counter_page_lists_the_family_threads(world):
    start(world, subject="Question au guichet")
    html = (
        login(world.staff)
        .get(reverse("family:counter-household", args=[world.household.pk]))
        .content.decode()
    )
    assert "Question au guichet" in html
    assert 'id="msg-title"' in html


def test_attachment_download_is_a_safe_attachment(world):
    thread = start(world, attachment=pdf(name="evil.html"))
    message = thread.messages.get()
    r = login(world.staff).get(reverse("family:message-attachment", args=[message.pk]))
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"] == f'attachment; filename="piece-jointe-{message.pk}.pdf"'
    assert b"".join(r.streaming_content) == PDF_BYTES


def test_navigation_links_to_messages(world):
    parent_home = login(world.parent).get("/parent/").content.decode()
    assert reverse("family:message-inbox") in parent_home
    staff_home = login(world.staff).get("/ecole/").content.decode()
    assert reverse("family:message-inbox") in staff_home
    assert reverse("family:office-slots") in staff_home


def test_staff_sees_unread_marker_until_read(world):
    thread = start(world)
    client = login(world.staff)
    marker = 'class="tag tag-warn">non lu<'
    assert marker in client.get(reverse("family:message-inbox")).content.decode()
    client.get(reverse("family:message-thread", args=[thread.pk]))
    assert marker not in client.get(reverse("family:message-inbox")).content.decode()
    assert timezone.now() >= NOW


def test_notification_is_rendered_in_the_reader_language(world, django_capture_on_commit_callbacks):
    world.staff.language = "en"
    world.staff.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        start(world, subject="Sortie")
    assert [m.subject for m in mail.outbox] == ["New message from a family: Sortie"]
    assert "A family wrote in the conversation “Sortie”" in mail.outbox[0].body
