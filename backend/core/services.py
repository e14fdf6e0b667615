"""Cross-cutting writes: the audit log and notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import override

from .models import (
    ActorKind,
    AuditEvent,
    Notification,
    NotificationCategory,
    NotificationPreference,
)

if TYPE_CHECKING:
    from backend.accounts.models import User


def audit_record(
    *,
    action: str,
    actor: User | None = None,
    actor_kind: str = ActorKind.PERSON,
    actor_label: str = "",
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    household_id: int | None = None,
    data: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one row to the audit log.

    ``actor_kind`` says who acted: a person for themselves, staff acting for a family (then
    ``household_id`` names the family), the system (a task) or a device.
    """
    if actor is not None and actor.is_anonymous:
        actor = None
    if target is not None:
        target_type = target._meta.label_lower
        target_id = target.pk
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_kind=actor_kind,
        actor_label=actor_label[:200],
        target_type=target_type,
        target_id=str(target_id),
        household_id=household_id,
        data=data or {},
        ip_address=ip_address,
    )


def notification_send(
    *,
    user: User,
    subject: str = "",
    body: str = "",
    url: str = "",
    email: bool = True,
    category: str = "general",
    subject_key: str = "",
    body_key: str = "",
    params: dict[str, Any] | None = None,
) -> Notification:
    """Create an in-app message and, after commit, email it through Celery.

    ``subject_key``/``body_key`` + ``params`` (French source strings marked ``gettext_noop``) are
    rendered in the reader's language; the person's preferences for ``category`` decide the
    channels (a category switched off in the app is stored already read)."""
    if not subject and subject_key:
        from .text import render_text

        subject = render_text(subject_key, params)
    in_app, by_email = notification_channels(user=user, category=category)
    notification = Notification.objects.create(
        user=user,
        subject=subject[:200],
        body=body,
        url=url,
        send_email=email and by_email,
        category=category,
        subject_key=subject_key[:300],
        body_key=body_key,
        params=params or {},
        read_at=None if in_app else timezone.now(),
    )
    email = email and by_email
    if email:
        from .outbox import enqueue
        from .tasks import notification_email_task

        enqueue(notification_email_task, notification.pk)
    return notification


def notification_channels(*, user: User, category: str) -> tuple[bool, bool]:
    """(in the app, by email) for this person and category; account and security always both."""
    if category == NotificationCategory.GENERAL:
        return True, True
    pref = NotificationPreference.objects.filter(user=user, category=category).first()
    return (pref.in_app, pref.email) if pref else (True, True)


def notification_preferences_set(*, user: User, choices: dict[str, tuple[bool, bool]]) -> None:
    """Save a person's channels per category (unknown categories and "general" are ignored)."""
    allowed = {c for c in NotificationCategory.values if c != NotificationCategory.GENERAL}
    with transaction.atomic():
        for category, (in_app, email) in choices.items():
            if category in allowed:
                NotificationPreference.objects.update_or_create(
                    user=user, category=category, defaults={"in_app": in_app, "email": email}
                )
        audit_record(
            action="core.notification_preferences",
            actor=user,
            target=user,
            data={k: list(v) for k, v in choices.items() if k in allowed},
        )


def notification_email(*, notification_id: int) -> bool:
    """Email a notification once. A second delivery of the task finds it sent and does nothing."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("user")
            .filter(pk=notification_id)
            .first()
        )
        if (
            notification is None
            or notification.emailed_at is not None
            or not notification.send_email
        ):
            return False
        with override(getattr(notification.user, "language", "") or settings.LANGUAGE_CODE):
            subject, body = notification.subject_text, notification.body_text
        if notification.url:
            body = f"{body}\n\n{settings.MINOT_SITE_URL}{notification.url}"
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one of the user's notifications read, or all of them when no id is given."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
