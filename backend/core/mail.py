"""Email that survives an SMTP outage.

``EMAIL_BACKEND`` is ``DurableEmailBackend``: ``send_mail`` anywhere stores the message in the
caller's transaction and enqueues its delivery through the outbox. Delivery goes through the real
transport (``MINOT_EMAIL_TRANSPORT``, from ``EMAIL_URL``); a failure is retried with back-off
(1 min, doubling, at most 30 min apart) for ``MINOT_EMAIL_RETRY_HOURS``, then the email is marked
failed and the admins get an in-app notification. A task that runs twice sends its emails once:
each email's key is the task id plus its rank in that run.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from . import context
from .models import OutgoingEmail

if TYPE_CHECKING:
    from django.core.mail import EmailMessage

logger = logging.getLogger("minot.mail")
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(minutes=30)


class DurableEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        count = 0
        for message in email_messages:
            if email_store(message) is not None:
                count += 1
        return count


def email_store(message: EmailMessage) -> OutgoingEmail | None:
    """Keep one message to send; None when this task run already stored it."""
    from .outbox import enqueue
    from .tasks import email_deliver_task

    key = context.next_task_key() or f"email-{uuid.uuid4().hex}"
    try:
        with transaction.atomic():
            email = OutgoingEmail.objects.create(
                key=key,
                subject=str(message.subject),
                body=str(message.body),
                from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
                to=list(message.to),
                cc=list(message.cc),
                bcc=list(message.bcc),
                reply_to=list(message.reply_to),
                headers=dict(message.extra_headers),
                alternatives=[list(a) for a in getattr(message, "alternatives", [])],
                # A safety net: the relay re-enqueues it if its first delivery never ran.
                next_attempt_at=timezone.now() + dt.timedelta(minutes=10),
            )
            enqueue(email_deliver_task, email.pk)
    except IntegrityError:
        logger.info("mail: %s already stored by an earlier run of this task", key)
        return None
    return email


def _retry_delay(attempts: int) -> dt.timedelta:
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)


def email_deliver(*, email_id: int) -> bool:
    """Send one stored email through the real transport. True once it is sent."""
    with transaction.atomic():
        email = OutgoingEmail.objects.select_for_update().filter(pk=email_id).first()
        if email is None or email.status != OutgoingEmail.Status.PENDING:
            return False
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body,
            from_email=email.from_email,
            to=email.to,
            cc=email.cc,
            bcc=email.bcc,
            reply_to=email.reply_to,
            headers=email.headers,
            alternatives=[tuple(a) for a in email.alternatives],
            connection=get_connection(settings.MINOT_EMAIL_TRANSPORT, timeout=20),
        )
        now = timezone.now()
        email.attempts += 1
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 - SMTP, DNS, TLS: all mean "try later"
            email.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            give_up = now - email.created_at >= dt.timedelta(hours=settings.MINOT_EMAIL_RETRY_HOURS)
            if give_up:
                email.status = OutgoingEmail.Status.FAILED
            email.next_attempt_at = now + _retry_delay(email.attempts)
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("mail: sending %s failed (attempt %d)", email.pk, email.attempts)
            if give_up:
                transaction.on_commit(lambda: email_report_failure(email_id=email.pk))
            return False
        email.status = OutgoingEmail.Status.SENT
        email.sent_at = now
        email.save(update_fields=["attempts", "status", "sent_at"])
    return True


def email_retry_due(*, limit: int = 100) -> int:
    """Enqueue a new delivery for each pending email whose retry time has come (the relay calls it)."""
    from .outbox import enqueue
    from .tasks import email_deliver_task

    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=OutgoingEmail.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")[:limit]
        )
        for email in due:
            # Not due again until this delivery has had its chance.
            email.next_attempt_at = now + _retry_delay(email.attempts + 1)
            enqueue(email_deliver_task, email.pk)
        OutgoingEmail.objects.bulk_update(due, ["next_attempt_at"])
    return len(due)


def email_report_failure(*, email_id: int) -> None:
    """Tell the admins, in the application (their email may be what is down)."""
    from django.db.models import Q

    from backend.accounts.models import Role, User

    from .services import notification_send
    from .text import render_text

    email = OutgoingEmail.objects.get(pk=email_id)
    logger.error("mail: gave up on email %s to %s: %s", email.pk, email.to, email.last_error)
    admins = User.objects.filter(Q(is_superuser=True) | Q(role=Role.ADMIN), is_active=True)
    subject_key = gettext_noop("Email non envoyé après %(hours)d h : %(subject)s")
    body_key = gettext_noop("Destinataires : %(to)s\nDernière erreur : %(error)s")
    params = {
        "hours": settings.MINOT_EMAIL_RETRY_HOURS,
        "subject": email.subject,
        "to": ", ".join(email.to),
        "error": email.last_error,
    }
    for admin in admins:
        notification_send(
            user=admin,
            subject=render_text(subject_key, params)[:200],
            url=f"/admin/core/outgoingemail/{email.pk}/change/",
            email=False,
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
