"""Helpers shared by the family services: who acted, audit rows, notifications to guardians."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from backend.core.access import is_city_admin, is_school_staff
from backend.core.models import ActorKind
from backend.core.services import audit_record, notification_send

from ..models import Guardian, Household

if TYPE_CHECKING:
    from backend.accounts.models import User

    from ..models import Child


def family_actor_kind(actor: User | None) -> str:
    """A family-side action done by staff at the counter is recorded as staff-for-family."""
    if actor is not None and (is_school_staff(actor) or is_city_admin(actor)):
        return ActorKind.STAFF_FOR_FAMILY
    return ActorKind.PERSON


def audit(
    *,
    action: str,
    actor: User | None,
    target: models.Model | None,
    household_id: int | None,
    data: dict[str, Any] | None = None,
    family_side: bool = True,
) -> None:
    kind = family_actor_kind(actor) if family_side else ActorKind.PERSON
    if actor is None:
        kind = ActorKind.SYSTEM
    audit_record(
        action=action,
        actor=actor,
        actor_kind=kind,
        actor_label="" if actor is None else f"user:{actor.pk}",  # ids only, no personal data
        target=target,
        household_id=household_id,
        data=data or {},
    )


def notify_guardians(
    *,
    household: Household,
    subject: str = "",
    body: str = "",
    url: str = "",
    child: Child | None = None,
    email: bool = True,
    subject_key: str = "",
    body_key: str = "",
    params: dict | None = None,
    exclude_user: User | None = None,
    category: str = "registrations",
) -> int:
    """Notify the household's guardians; for a child, only those who receive its notifications.

    Prefer ``subject_key``/``body_key`` + ``params`` (French source marked ``gettext_noop``): each
    reader gets their own language; ``notification_send`` fills ``subject`` from the key."""
    if child is not None:
        guardians = Guardian.objects.filter(
            guardianships__child=child, guardianships__receives_notifications=True
        ).select_related("user")
        if not guardians.exists():
            guardians = Guardian.objects.filter(household=household).select_related("user")
    else:
        guardians = Guardian.objects.filter(household=household).select_related("user")
    if exclude_user is not None:
        guardians = guardians.exclude(user=exclude_user)
    count = 0
    for guardian in guardians.distinct():
        notification_send(
            user=guardian.user,
            subject=subject,
            body=body,
            url=url,
            email=email,
            category=category,
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
        count += 1
    return count
