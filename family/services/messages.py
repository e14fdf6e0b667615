"""Messages between families and their school, and appointment requests at the school office.

Every write here runs in one transaction, locks the thread (or the slot) it changes, writes an
audit row with ids only (never the text of a message) and notifies the other side: the
notification rows are written in the transaction and their emails are queued through the outbox,
so they leave only once it commits. Notifications are stored as keys + parameters (rendered in the
reader's language) in the "messages" category, so each person's preferences apply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.access import is_city_admin, is_parent, is_school_staff
from backend.core.exceptions import ApplicationError
from backend.core.services import notification_send
from backend.core.text import render_text

from ..message_models import (
    APPOINTMENT_TRANSITIONS,
    THREAD_TRANSITIONS,
    AppointmentRequest,
    Message,
    MessageThread,
    OfficeSlot,
)
from ..models import Guardian, Household, School, SchoolApplication
from .common import audit
from .documents import read_upload

if TYPE_CHECKING:
    from typing import IO

    from django.core.files.uploadedfile import UploadedFile

    from backend.accounts.models import User

MAX_BODY = 5000
CATEGORY = "messages"


# --- who is on which side ----------------------------------------------------------------------


def household_school_ids(household: Household) -> set[int]:
    """The schools a household may write to: those its children attend or apply to."""
    ids = set(household.children.filter(school__isnull=False).values_list("school_id", flat=True))
    ids |= set(household.applications.values_list("school_id", flat=True))
    return ids


def _is_guardian(actor: User, household_id: int) -> bool:
    return (
        is_parent(actor) and Guardian.objects.filter(user=actor, household_id=household_id).exists()
    )


def _works_at(actor: User, school_id: int) -> bool:
    if is_city_admin(actor):
        return True
    return is_school_staff(actor) and actor.staff_schools.filter(pk=school_id).exists()


def _side(actor: User, thread: MessageThread) -> str:
    """ "family" or "school"; anybody else may not write in this thread."""
    if _is_guardian(actor, thread.household_id):
        return "family"
    if _works_at(actor, thread.school_id):
        return "school"
    raise ApplicationError(_("Vous ne participez pas à cette conversation."))


def _require_school_side(actor: User, thread: MessageThread) -> None:
    if not _works_at(actor, thread.school_id):
        raise ApplicationError(_("Seule l'école de cette conversation peut faire cela."))


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("Écrivez votre message."))
    if len(body) > MAX_BODY:
        raise ApplicationError(
            _("Le message est trop long (%(max)s caractères au plus).") % {"max": MAX_BODY}
        )
    return body


def _token(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise ApplicationError(_("Jeton d'envoi invalide : rechargez la page.")) from None


def thread_url(thread: MessageThread) -> str:
    return reverse("family:message-thread", args=[thread.pk])


# --- notifications -------------------------------------------------------------------------------


def _school_recipients(thread: MessageThread) -> list[User]:
    """The staff member following the thread, else every active staff member of the school."""
    staff = thread.school.staff.filter(is_active=True)
    if thread.assigned_to_id and staff.filter(pk=thread.assigned_to_id).exists():
        return list(staff.filter(pk=thread.assigned_to_id))
    return list(staff)


def _family_recipients(thread: MessageThread) -> list[User]:
    return [
        g.user
        for g in Guardian.objects.filter(household_id=thread.household_id).select_related("user")
    ]


def _notify(
    *, thread: MessageThread, to_school: bool, actor: User, subject_key: str, body_key: str
) -> int:
    params = {"subject": thread.subject, "school": thread.school.name}
    people = _school_recipients(thread) if to_school else _family_recipients(thread)
    count = 0
    for person in people:
        if person.pk == actor.pk:
            continue
        notification_send(
            user=person,
            subject=render_text(subject_key, params),
            body=render_text(body_key, params),
            url=thread_url(thread),
            category=CATEGORY,
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
        count += 1
    return count


# --- threads and messages ------------------------------------------------------------------------


def _attach(message: Message, uploaded_file: UploadedFile | IO[bytes] | None) -> str | None:
    """Store the attachment checked exactly like a family document (size, sniffed type); the
    stored name is random, the download name comes from the type. Returns the stored name."""
    if uploaded_file is None:
        return None
    data, content_type = read_upload(uploaded_file)
    message.attachment_content_type = content_type
    message.attachment_size = len(data)
    message.attachment_sha256 = hashlib.sha256(data).hexdigest()
    message.attachment.save("upload", ContentFile(data), save=False)
    return message.attachment.name


def _write_message(
    *,
    actor: User,
    thread: MessageThread,
    side: str,
    body: str,
    token: uuid.UUID | None,
    attachment: UploadedFile | IO[bytes] | None,
) -> Message:
    message = Message(
        thread=thread,
        author=actor,
        from_school=side == "school",
        body=body,
        client_token=token,
    )
    stored = _attach(message, attachment)
    try:
        message.save()
    except Exception:
        if stored:
            message.attachment.storage.delete(stored)
        raise
    now = message.created_at
    thread.last_message_at = now
    if side == "school":
        thread.last_school_message_at = now
        thread.school_read_at = now
        thread.status = MessageThread.Status.WAITING_FAMILY
    else:
        thread.last_family_message_at = now
        thread.family_read_at = now
        thread.status = MessageThread.Status.OPEN
    thread.save(
        update_fields=[
            "last_message_at",
            "last_school_message_at",
            "last_family_message_at",
            "school_read_at",
            "family_read_at",
            "status",
            "updated_at",
        ]
    )
    audit(
        action="family.message.post",
        actor=actor,
        target=message,
        household_id=thread.household_id,
        data={"thread": thread.pk, "side": side, "attachment": bool(stored)},
        family_side=side == "family",
    )
    if side == "school":
        _notify(
            thread=thread,
            to_school=False,
            actor=actor,
            subject_key=gettext_noop("Nouveau message de %(school)s : %(subject)s"),
            body_key=gettext_noop(
                "L'école vous a répondu dans la conversation « %(subject)s ». "
                "Lisez le message sur le portail."
            ),
        )
    else:
        _notify(
            thread=thread,
            to_school=True,
            actor=actor,
            subject_key=gettext_noop("Nouveau message d'une famille : %(subject)s"),
            body_key=gettext_noop(
                "Une famille a écrit dans la conversation « %(subject)s ». "
                "Lisez le message sur le portail."
            ),
        )
    return message


def thread_start(
    *,
    actor: User,
    school: School,
    subject: str,
    body: str,
    application: SchoolApplication | None = None,
    attachment: UploadedFile | IO[bytes] | None = None,
    client_token: Any = None,
) -> MessageThread:
    """A parent writes to a school their children attend or apply to (a new thread)."""
    if not is_parent(actor):
        raise ApplicationError(_("Seuls les responsables d'un foyer commencent une conversation."))
    guardian = Guardian.objects.filter(user=actor).select_related("household").first()
    if guardian is None:
        raise ApplicationError(_("Créez d'abord votre foyer."))
    household = guardian.household
    subject = (subject or "").strip()[:200]
    if not subject:
        raise ApplicationError(_("Indiquez l'objet de votre message."))
    body = _clean_body(body)
    token = _token(client_token)
    if school.pk not in household_school_ids(household):
        raise ApplicationError(
            _("Vous pouvez écrire aux écoles que vos enfants fréquentent ou demandent.")
        )
    if application is not None and (
        application.household_id != household.pk or application.school_id != school.pk
    ):
        raise ApplicationError(_("Cette demande d'inscription ne concerne pas cette école."))
    if token is not None:
        existing = MessageThread.objects.filter(started_by=actor, client_token=token).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            thread = MessageThread.objects.create(
                household=household,
                school=school,
                application=application,
                subject=subject,
                started_by=actor,
                client_token=token,
            )
            audit(
                action="family.message_thread.start",
                actor=actor,
                target=thread,
                household_id=household.pk,
                data={"school": school.pk, "application": application.pk if application else None},
            )
            _write_message(
                actor=actor,
                thread=thread,
                side="family",
                body=body,
                token=token,
                attachment=attachment,
            )
    except IntegrityError:
        # The same form sent twice at the same moment: the first one won.
        existing = MessageThread.objects.filter(started_by=actor, client_token=token).first()
        if token is None or existing is None:
            raise
        return existing
    return thread


def message_post(
    *,
    actor: User,
    thread: MessageThread,
    body: str,
    attachment: UploadedFile | IO[bytes] | None = None,
    client_token: Any = None,
) -> Message:
    """A reply, from the family or from the school. The same ``client_token`` sent twice (a
    double click, a retried request) stores one message and answers it both times."""
    body = _clean_body(body)
    token = _token(client_token)
    with transaction.atomic():
        thread = (
            MessageThread.objects.select_for_update(of=("self",))
            .select_related("school", "household")
            .get(pk=thread.pk)
        )
        side = _side(actor, thread)
        if token is not None:
            # Under the thread lock: a concurrent copy has committed or not started.
            existing = Message.objects.filter(author=actor, client_token=token).first()
            if existing is not None:
                if existing.thread_id != thread.pk:
                    raise ApplicationError(_("Jeton d'envoi invalide : rechargez la page."))
                return existing
        if thread.is_closed:
            raise ApplicationError(
                _("Cette conversation est close.")
                + " "
                + (
                    _("Rouvrez-la pour écrire.")
                    if side == "school"
                    else _("Commencez une nouvelle conversation si besoin.")
                )
            )
        return _write_message(
            actor=actor, thread=thread, side=side, body=body, token=token, attachment=attachment
        )


def thread_mark_read(*, actor: User, thread: MessageThread) -> None:
    """The reader's side has seen everything written so far (no audit row: a read, not a change)."""
    now = timezone.now()
    if _is_guardian(actor, thread.household_id):
        MessageThread.objects.filter(pk=thread.pk).update(family_read_at=now)
    elif _works_at(actor, thread.school_id):
        MessageThread.objects.filter(pk=thread.pk).update(school_read_at=now)


def thread_assign(*, actor: User, thread: MessageThread, assignee: User | None) -> MessageThread:
    """Staff give the thread to a staff member of that school (or to nobody)."""
    with transaction.atomic():
        thread = MessageThread.objects.select_for_update().get(pk=thread.pk)
        _require_school_side(actor, thread)
        if assignee is not None and not (
            is_school_staff(assignee)
            and assignee.staff_schools.filter(pk=thread.school_id).exists()
        ):
            raise ApplicationError(_("Choisissez un membre du personnel de cette école."))
        thread.assigned_to = assignee
        thread.save(update_fields=["assigned_to", "updated_at"])
        audit(
            action="family.message_thread.assign",
            actor=actor,
            target=thread,
            household_id=thread.household_id,
            data={"assigned_to": assignee.pk if assignee else None},
            family_side=False,
        )
    return thread


def _thread_transition(*, actor: User, thread: MessageThread, action: str) -> MessageThread:
    sources, target = THREAD_TRANSITIONS[action]
    with transaction.atomic():
        thread = MessageThread.objects.select_for_update().get(pk=thread.pk)
        _require_school_side(actor, thread)
        if thread.status not in sources:
            raise ApplicationError(
                _("Cette conversation est déjà close.")
                if action == "close"
                else _("Cette conversation est déjà ouverte.")
            )
        previous = thread.status
        thread.status = target
        thread.closed_at = timezone.now() if action == "close" else None
        thread.save(update_fields=["status", "closed_at", "updated_at"])
        audit(
            action=f"family.message_thread.{action}",
            actor=actor,
            target=thread,
            household_id=thread.household_id,
            data={"from": previous, "to": target},
            family_side=False,
        )
    return thread


def thread_close(*, actor: User, thread: MessageThread) -> MessageThread:
    return _thread_transition(actor=actor, thread=thread, action="close")


def thread_reopen(*, actor: User, thread: MessageThread) -> MessageThread:
    return _thread_transition(actor=actor, thread=thread, action="reopen")


# --- appointments ----------------------------------------------------------------------------


def office_slot_create(
    *,
    actor: User,
    school: School,
    date: dt.date,
    start_time: dt.time,
    duration_minutes: int = 20,
    capacity: int = 1,
) -> OfficeSlot:
    """Staff publish a time at the office of one of their schools."""
    if not _works_at(actor, school.pk):
        raise ApplicationError(_("Vous ne travaillez pas dans cette école."))
    if not 5 <= duration_minutes <= 240:
        raise ApplicationError(_("La durée va de 5 à 240 minutes."))
    if not 1 <= capacity <= 50:
        raise ApplicationError(_("Le nombre de familles reçues va de 1 à 50."))
    slot = OfficeSlot(
        school=school,
        date=date,
        start_time=start_time,
        duration_minutes=duration_minutes,
        capacity=capacity,
        created_by=actor,
    )
    if slot.starts_at <= timezone.now():
        raise ApplicationError(_("Le créneau doit être dans le futur."))
    with transaction.atomic():
        slot.save()
        audit(
            action="family.office_slot.create",
            actor=actor,
            target=slot,
            household_id=None,
            data={"school": school.pk},
            family_side=False,
        )
    return slot


def slot_free_places(slot: OfficeSlot) -> int:
    taken = slot.requests.filter(state__in=AppointmentRequest.ACTIVE).count()
    return max(slot.capacity - taken, 0)


def appointment_request(
    *, actor: User, thread: MessageThread, slot: OfficeSlot
) -> AppointmentRequest:
    """A parent asks for a slot of the thread's school. The slot row is locked, so two parents
    clicking at once never get more requests than its capacity."""
    with transaction.atomic():
        thread = (
            MessageThread.objects.select_for_update(of=("self",))
            .select_related("school")
            .get(pk=thread.pk)
        )
        if not _is_guardian(actor, thread.household_id):
            raise ApplicationError(_("Seule la famille demande un rendez-vous."))
        if thread.is_closed:
            raise ApplicationError(_("Cette conversation est close."))
        slot = OfficeSlot.objects.select_for_update().get(pk=slot.pk)
        if slot.school_id != thread.school_id:
            raise ApplicationError(_("Ce créneau n'est pas celui de cette école."))
        if slot.starts_at <= timezone.now():
            raise ApplicationError(_("Ce créneau est passé : choisissez-en un autre."))
        if thread.appointments.filter(state__in=AppointmentRequest.ACTIVE).exists():
            raise ApplicationError(
                _("Un rendez-vous est déjà demandé dans cette conversation : annulez-le d'abord.")
            )
        if slot_free_places(slot) <= 0:
            raise ApplicationError(_("Ce créneau vient d'être pris : choisissez-en un autre."))
        appointment = AppointmentRequest.objects.create(
            slot=slot, thread=thread, requested_by=actor
        )
        audit(
            action="family.appointment.request",
            actor=actor,
            target=appointment,
            household_id=thread.household_id,
            data={"thread": thread.pk, "slot": slot.pk},
        )
        _notify(
            thread=thread,
            to_school=True,
            actor=actor,
            subject_key=gettext_noop("Demande de rendez-vous : %(subject)s"),
            body_key=gettext_noop(
                "Une famille demande un rendez-vous dans la conversation « %(subject)s »."
            ),
        )
    return appointment


def _appointment_transition(
    *, actor: User, appointment: AppointmentRequest, action: str, reason: str = ""
) -> AppointmentRequest:
    sources, target = APPOINTMENT_TRANSITIONS[action]
    with transaction.atomic():
        appointment = (
            AppointmentRequest.objects.select_for_update(of=("self",))
            .select_related("thread__school", "slot")
            .get(pk=appointment.pk)
        )
        thread = appointment.thread
        if action == "cancel":
            if not _is_guardian(actor, thread.household_id):
                raise ApplicationError(_("Seule la famille annule sa demande de rendez-vous."))
        else:
            _require_school_side(actor, thread)
        if appointment.state not in sources:
            raise ApplicationError(_("Ce rendez-vous a déjà été traité."))
        if action == "cancel" and appointment.slot.starts_at <= timezone.now():
            raise ApplicationError(_("Ce rendez-vous est passé."))
        previous = appointment.state
        appointment.state = target
        appointment.reason = (reason or "").strip()[:300]
        appointment.decided_by = actor
        appointment.decided_at = timezone.now()
        appointment.save(
            update_fields=["state", "reason", "decided_by", "decided_at", "updated_at"]
        )
        audit(
            action=f"family.appointment.{action}",
            actor=actor,
            target=appointment,
            household_id=thread.household_id,
            data={"thread": thread.pk, "slot": appointment.slot_id, "from": previous},
            family_side=action == "cancel",
        )
        if action == "cancel":
            keys = (
                gettext_noop("Rendez-vous annulé par la famille : %(subject)s"),
                gettext_noop("La famille a annulé son rendez-vous (conversation « %(subject)s »)."),
            )
        elif action == "confirm":
            keys = (
                gettext_noop("Rendez-vous confirmé par %(school)s"),
                gettext_noop("Votre rendez-vous est confirmé (conversation « %(subject)s »)."),
            )
        else:
            keys = (
                gettext_noop("Rendez-vous refusé par %(school)s"),
                gettext_noop(
                    "Votre demande de rendez-vous n'a pas pu être acceptée "
                    "(conversation « %(subject)s »). Choisissez un autre créneau."
                ),
            )
        _notify(
            thread=thread,
            to_school=action == "cancel",
            actor=actor,
            subject_key=keys[0],
            body_key=keys[1],
        )
    return appointment


def appointment_confirm(*, actor: User, appointment: AppointmentRequest) -> AppointmentRequest:
    return _appointment_transition(actor=actor, appointment=appointment, action="confirm")


def appointment_decline(
    *, actor: User, appointment: AppointmentRequest, reason: str = ""
) -> AppointmentRequest:
    return _appointment_transition(
        actor=actor, appointment=appointment, action="decline", reason=reason
    )


def appointment_cancel(*, actor: User, appointment: AppointmentRequest) -> AppointmentRequest:
    return _appointment_transition(actor=actor, appointment=appointment, action="cancel")
