from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import AuditEvent, Notification

if TYPE_CHECKING:
    from backend.accounts.models import User


def notification_list(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


def notification_exists(*, user: User, notification_id: int) -> bool:
    return Notification.objects.filter(user=user, pk=notification_id).exists()


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


# Reads of a family's records by staff (the access log a guardian and the city's DPO see).
RECORD_READ_ACTIONS = ("family.child.read", "family.household.read", "family.document.read")


def record_reads(
    *,
    household_id: int | None = None,
    actor_email: str = "",
    action: str = "",
    since=None,
    until=None,
) -> QuerySet[AuditEvent]:
    """Audit rows of staff reading children's records and documents, newest first."""
    qs = AuditEvent.objects.filter(action__in=RECORD_READ_ACTIONS).select_related("actor")
    if household_id is not None:
        qs = qs.filter(household_id=household_id)
    if actor_email:
        qs = qs.filter(actor__email__icontains=actor_email.strip())
    if action in RECORD_READ_ACTIONS:
        qs = qs.filter(action=action)
    if since is not None:
        qs = qs.filter(created_at__date__gte=since)
    if until is not None:
        qs = qs.filter(created_at__date__lte=until)
    return qs.order_by("-created_at", "-id")
