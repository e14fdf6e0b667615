"""Reads for the message pages and API: the inbox with its filters, a thread with its messages
and appointments, the slots a family may still ask for."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from backend.core.access import is_parent

from . import permissions as perms
from .message_models import (
    APPOINTMENT_FAMILY_ACTIONS,
    APPOINTMENT_STAFF_ACTIONS,
    APPOINTMENT_TRANSITIONS,
    AppointmentRequest,
    Message,
    MessageThread,
    OfficeSlot,
    allowed,
)

if TYPE_CHECKING:
    from backend.accounts.models import User

INBOX_STATUSES = ("open", "waiting_family", "closed")
ASSIGNMENT_FILTERS = ("me", "nobody")


def inbox(
    user: User,
    *,
    status: str = "",
    assigned: str = "",
    school_id: Any = None,
    household_id: int | None = None,
) -> QuerySet[MessageThread]:
    """Threads the user reaches, newest activity first, filtered by status, assignment, school.
    Unknown filter values are ignored (a hand-edited URL shows everything, never an error)."""
    threads = perms.threads_for_user(user).select_related(
        "school", "household", "assigned_to", "application"
    )
    if status in INBOX_STATUSES:
        threads = threads.filter(status=status)
    if assigned == "me":
        threads = threads.filter(assigned_to=user)
    elif assigned == "nobody":
        threads = threads.filter(assigned_to__isnull=True)
    if school_id and str(school_id).isdigit():
        threads = threads.filter(school_id=int(school_id))
    if household_id is not None:
        threads = threads.filter(household_id=household_id)
    return threads.annotate(message_count=Count("messages")).order_by("-last_message_at", "-id")


def thread_messages(thread: MessageThread) -> QuerySet[Message]:
    return thread.messages.select_related("author").order_by("created_at", "id")


def thread_appointments(thread: MessageThread) -> QuerySet[AppointmentRequest]:
    return thread.appointments.select_related("slot").order_by(
        "slot__date", "slot__start_time", "id"
    )


def appointment_actions(user: User, appointment: AppointmentRequest) -> list[str]:
    actions = APPOINTMENT_FAMILY_ACTIONS if is_parent(user) else APPOINTMENT_STAFF_ACTIONS
    return allowed(APPOINTMENT_TRANSITIONS, appointment.state, actions)


def open_slots(school_id: int, now: dt.datetime | None = None) -> list[OfficeSlot]:
    """Future slots of a school that still have a place."""
    now = timezone.localtime(now)
    slots = (
        OfficeSlot.objects.filter(school_id=school_id, date__gte=now.date())
        .filter(~Q(date=now.date()) | Q(start_time__gt=now.time()))
        .annotate(taken=Count("requests", filter=Q(requests__state__in=AppointmentRequest.ACTIVE)))
        .order_by("date", "start_time", "id")
    )
    return [s for s in slots[:200] if s.taken < s.capacity]


def staff_slots(user: User, now: dt.datetime | None = None) -> QuerySet[OfficeSlot]:
    """The slots of the staff member's schools from today on, with their requests."""
    now = timezone.localtime(now)
    return (
        perms.office_slots_for_user(user)
        .filter(date__gte=now.date())
        .select_related("school")
        .prefetch_related(
            Prefetch(
                "requests",
                queryset=AppointmentRequest.objects.select_related("thread__household"),
            )
        )
        .order_by("date", "start_time", "id")
    )


def unread_count(user: User) -> int:
    """Threads waiting to be read by the user's side (for the navigation)."""
    threads = perms.threads_for_user(user)
    if is_parent(user):
        return threads.filter(
            Q(last_school_message_at__isnull=False)
            & (Q(family_read_at__isnull=True) | Q(family_read_at__lt=F("last_school_message_at")))
        ).count()
    return threads.filter(
        Q(last_family_message_at__isnull=False)
        & (Q(school_read_at__isnull=True) | Q(school_read_at__lt=F("last_family_message_at")))
    ).count()
