"""Messages between a family and a school, and appointment requests at the school office.

Imported at the end of ``family/models.py`` (same app, same migrations); kept apart so that the
household models stay readable.

- ``MessageThread``: one conversation between a household and one school, optionally about one
  of the household's applications. Its status says whose turn it is (``open``: the school has to
  answer; ``waiting_family``: the family has to answer; ``closed``). Read state is kept per side
  (``family_read_at``, ``school_read_at``).
- ``Message``: text, author, side, time, at most one attachment checked like every family
  document (``family.services.documents.read_upload``). ``client_token`` makes a double submit
  store one message.
- ``OfficeSlot`` / ``AppointmentRequest``: staff publish slots; a parent requests one for a
  thread; a slot never holds more active requests than its capacity (the slot row is locked).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.models import TimeStampedModel

from .models import Household, School, SchoolApplication


class MessageThread(TimeStampedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("En attente de l'école")
        WAITING_FAMILY = "waiting_family", _("En attente de la famille")
        CLOSED = "closed", _("Close")

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="message_threads"
    )
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="message_threads")
    application = models.ForeignKey(
        SchoolApplication,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="message_threads",
        verbose_name=_("demande d'inscription"),
    )
    subject = models.CharField(_("objet"), max_length=200)
    status = models.CharField(
        _("état"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("suivie par"),
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_token = models.UUIDField(null=True, blank=True, editable=False)
    last_message_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_family_message_at = models.DateTimeField(null=True, blank=True)
    last_school_message_at = models.DateTimeField(null=True, blank=True)
    family_read_at = models.DateTimeField(null=True, blank=True)
    school_read_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["started_by", "client_token"],
                condition=Q(client_token__isnull=False),
                name="message_thread_token_once",
            )
        ]
        indexes = [models.Index(fields=["school", "status"], name="message_thread_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.household_id}/{self.school_id})"

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def unread_for_family(self) -> bool:
        last = self.last_school_message_at
        return last is not None and (self.family_read_at is None or self.family_read_at < last)

    @property
    def unread_for_school(self) -> bool:
        last = self.last_family_message_at
        return last is not None and (self.school_read_at is None or self.school_read_at < last)


def message_attachment_upload_to(instance: Message, filename: str) -> str:
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        instance.attachment_content_type, "bin"
    )
    return f"messages/{instance.thread.household_id}/{uuid.uuid4().hex}.{ext}"


class Message(models.Model):
    thread = models.ForeignKey(MessageThread, on_delete=models.CASCADE, related_name="messages")
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_school = models.BooleanField(_("écrit par l'école"), default=False)
    body = models.TextField(_("message"), max_length=5000)
    client_token = models.UUIDField(null=True, blank=True, editable=False)
    attachment = models.FileField(
        _("pièce jointe"), upload_to=message_attachment_upload_to, max_length=255, blank=True
    )
    attachment_content_type = models.CharField(max_length=40, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    attachment_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_token"],
                condition=Q(client_token__isnull=False),
                name="message_token_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.thread_id} · {self.created_at:%Y-%m-%d %H:%M}"


class OfficeSlot(models.Model):
    """A time at the school office when staff receive families (capacity 1 by default)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="office_slots")
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("heure de début"))
    duration_minutes = models.PositiveSmallIntegerField(_("durée (minutes)"), default=20)
    capacity = models.PositiveSmallIntegerField(_("nombre de familles reçues"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["date", "start_time", "id"]
        verbose_name = _("créneau de rendez-vous")
        verbose_name_plural = _("créneaux de rendez-vous")
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="office_slot_capacity"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=240),
                name="office_slot_duration",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id} {self.date} {self.start_time:%H:%M}"

    @property
    def starts_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.date, self.start_time))

    @property
    def end_time(self) -> dt.time:
        return (self.starts_at + dt.timedelta(minutes=self.duration_minutes)).time()


class AppointmentRequest(TimeStampedModel):
    class State(models.TextChoices):
        REQUESTED = "requested", _("Demandé")
        CONFIRMED = "confirmed", _("Confirmé")
        DECLINED = "declined", _("Refusé")
        CANCELLED = "cancelled", _("Annulé par la famille")

    ACTIVE = (State.REQUESTED, State.CONFIRMED)

    slot = models.ForeignKey(OfficeSlot, on_delete=models.CASCADE, related_name="requests")
    thread = models.ForeignKey(MessageThread, on_delete=models.CASCADE, related_name="appointments")
    state = models.CharField(
        _("état"), max_length=10, choices=State.choices, default=State.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("motif"), max_length=300, blank=True)

    class Meta:
        ordering = ["slot__date", "slot__start_time", "id"]
        verbose_name = _("demande de rendez-vous")
        verbose_name_plural = _("demandes de rendez-vous")
        constraints = [
            # One live request per thread and slot (the slot lock handles the capacity).
            models.UniqueConstraint(
                fields=["slot", "thread"],
                condition=Q(state__in=["requested", "confirmed"]),
                name="appointment_once_per_thread",
            )
        ]

    def __str__(self) -> str:
        return f"{self.slot} · {self.thread_id} · {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE


_T = MessageThread.Status
# action → (source states, target state); pages offer only what this table allows.
THREAD_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "close": (frozenset({_T.OPEN, _T.WAITING_FAMILY}), _T.CLOSED),
    "reopen": (frozenset({_T.CLOSED}), _T.OPEN),
}

_A = AppointmentRequest.State
APPOINTMENT_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({_A.REQUESTED}), _A.CONFIRMED),
    "decline": (frozenset({_A.REQUESTED}), _A.DECLINED),
    "cancel": (frozenset({_A.REQUESTED, _A.CONFIRMED}), _A.CANCELLED),
}
APPOINTMENT_STAFF_ACTIONS = ("confirm", "decline")
# The API's "action" choices (named in the OpenAPI schema through ENUM_NAME_OVERRIDES).
THREAD_ACTIONS = ["close", "reopen"]
APPOINTMENT_ACTIONS = ["confirm", "decline", "cancel"]
APPOINTMENT_FAMILY_ACTIONS = ("cancel",)


def allowed(table: dict[str, tuple[frozenset[str], str]], state: str, actions: tuple[str, ...]):
    """The actions of ``actions`` that the table allows from ``state``."""
    return [a for a in actions if state in table[a][0]]
