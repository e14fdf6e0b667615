"""The one place that decides who sees fleet data: technicians only.

Every page, API endpoint and export goes through these functions. Anyone else (parents, school
staff, city admins, anonymous) gets 404, as if the object did not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404

from backend.core.access import FLEET_ROLES, IsTechnician, get_or_404, is_technician, role_required

from .models import Alert, Cart, Device, LiveQuery, RepairTicket

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from backend.accounts.models import User
    from family.models import School

fleet_page = role_required(*FLEET_ROLES)
FleetApiPermission = IsTechnician


def can_use_fleet(user: User | AnonymousUser) -> bool:
    return is_technician(user)


def _require(user: User | AnonymousUser) -> None:
    if not can_use_fleet(user):
        raise Http404


def devices_for_user(user: User | AnonymousUser) -> QuerySet[Device]:
    _require(user)
    return Device.objects.all()


def device_for_user(user: User | AnonymousUser, device_id: Any) -> Device:
    _require(user)
    return get_or_404(Device.objects.select_related("school", "cart", "loaned_from"), device_id)


def schools_for_user(user: User | AnonymousUser) -> QuerySet[School]:
    from family.models import School

    _require(user)
    return School.objects.filter(is_active=True)


def school_for_user(user: User | AnonymousUser, school_id: Any) -> School:
    return get_or_404(schools_for_user(user), school_id)


def cart_for_user(user: User | AnonymousUser, cart_id: Any) -> Cart:
    _require(user)
    return get_or_404(Cart.objects.select_related("school"), cart_id)


def alerts_for_user(user: User | AnonymousUser) -> QuerySet[Alert]:
    _require(user)
    return Alert.objects.select_related("device", "device__school")


def alert_for_user(user: User | AnonymousUser, alert_id: Any) -> Alert:
    return get_or_404(alerts_for_user(user), alert_id)


def ticket_for_user(user: User | AnonymousUser, ticket_id: Any) -> RepairTicket:
    _require(user)
    return get_or_404(RepairTicket.objects.select_related("device", "school"), ticket_id)


def live_query_for_user(user: User | AnonymousUser, query_id: Any) -> LiveQuery:
    _require(user)
    return get_or_404(LiveQuery.objects.all(), query_id)
