from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ActorKind(models.TextChoices):
    PERSON = "person", _("Personne")
    STAFF_FOR_FAMILY = "staff_for_family", _("Agent pour le compte d'une famille")
    SYSTEM = "system", _("Système")
    DEVICE = "device", _("Appareil")


class AuditEvent(models.Model):
    """Who did what to which object, when. Append-only: rows are never updated."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(
        max_length=20, choices=ActorKind.choices, default=ActorKind.PERSON
    )
    # Free label for non-person actors (a device serial, a task name).
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, blank=True, db_index=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    household_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("journal d'audit")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_kind} {self.action} {self.target_type}:{self.target_id}"


class Notification(models.Model):
    """An in-app message; emailed once by a Celery task when ``send_email`` is set."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    send_email = models.BooleanField(default=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Rendered in the reader's language (backend/core/text.py); subject/body stay as written
    # for rows from before and for emails already sent.
    category = models.CharField(max_length=20, default="general", db_index=True)
    subject_key = models.CharField(max_length=300, blank=True)
    body_key = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return self.subject

    @property
    def subject_text(self) -> str:
        from .text import render_text

        return (
            render_text(self.subject_key, self.params)
            if self.subject_key
            else gettext(self.subject)
        )

    @property
    def body_text(self) -> str:
        from .text import render_text

        return render_text(self.body_key, self.params) if self.body_key else gettext(self.body)


class NotificationCategory(models.TextChoices):
    REGISTRATIONS = "registrations", _("Inscriptions et dossiers")
    CANTEEN = "canteen", _("Cantine et activités")
    PAYMENTS = "payments", _("Factures et paiements")
    MESSAGES = "messages", _("Messages de l'école")
    GENERAL = "general", _("Compte et sécurité")


class NotificationPreference(models.Model):
    """Per person and category: in the app, by email, or both. No row = both (the default).
    "Compte et sécurité" cannot be switched off."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    category = models.CharField(max_length=20, choices=NotificationCategory.choices)
    in_app = models.BooleanField(_("dans l'application"), default=True)
    email = models.BooleanField(_("par e-mail"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="notification_pref_once")
        ]
        verbose_name = _("préférence de notification")
        verbose_name_plural = _("préférences de notification")

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}"


class OutboxMessage(models.Model):
    """A Celery task to publish, written in the same transaction as the change that calls for it.

    ``manage.py outbox_relay`` publishes due rows to the broker, backing off while it is down;
    the task marks ``done_at`` when it has run, so a redelivered copy does nothing.
    """

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(published_at__isnull=True),
                name="outbox_due_idx",
            )
        ]
        verbose_name = _("tâche en attente d'envoi")
        verbose_name_plural = _("tâches en attente d'envoi (outbox)")

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class OutgoingEmail(models.Model):
    """An email to send, stored in the sender's transaction and retried while SMTP is down.

    ``key`` makes a task that runs twice send its emails once: inside a task it is the task id
    plus the email's rank in that run.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente")
        SENT = "sent", _("Envoyé")
        FAILED = "failed", _("Abandonné")

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    key = models.CharField(max_length=120, unique=True)
    subject = models.CharField(max_length=998)
    body = models.TextField(blank=True)
    from_email = models.CharField(max_length=320)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outgoing_email_due_idx",
            )
        ]
        verbose_name = _("email sortant")
        verbose_name_plural = _("emails sortants")

    def __str__(self) -> str:
        return self.subject
