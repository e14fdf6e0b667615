"""The one place that decides who sees fleet data: technicians only.

Every page, API endpoint and export goes through these functions. Anyone else (parents, school
staff, city admins, anonymous) gets 404, as if the object did not exist.
"""

from __future__ import annotations

from django.http import Http404

from backend.core.access import FLEET_ROLES, IsTechnician, get_or_404, is_technician, role_required

from .models import Alert, Cart, Device, LiveQuery, RepairTicket

fleet_page = role_required(*FLEET_ROLES)
FleetApiPermission = IsTechnician


def can_use_fleet(user) -> bool:
    return is_technician(user)


def _require(user) -> None:
    if not can_use_fleet(user):
        raise Http404


def devices_for_user(user):
    _require(user)
    return Device.objects.all()


def device_for_user(user, device_id) -> Device:
    _require(user)
    return get_or_404(Device.objects.select_related("school", "cart", "loaned_from"), device_id)


def schools_for_user(user):
    from family.models import School

    _require(user)
    return School.objects.filter(is_active=True)


def school_for_user(user, school_id):
    return get_or_404(schools_for_user(user), school_id)


def cart_for_user(user, cart_id) -> Cart:
    _require(user)
    return get_or_404(Cart.objects.select_related("school"), cart_id)


def alerts_for_user(user):
    _require(user)
    return Alert.objects.select_related("device", "device__school")


def alert_for_user(user, alert_id) -> Alert:
    return get_or_404(alerts_for_user(user), alert_id)


def ticket_for_user(user, ticket_id) -> RepairTicket:
    _require(user)
    return get_or_404(RepairTicket.objects.select_related("device", "school"), ticket_id)


def live_query_for_user(user, query_id) -> LiveQuery:
    _require(user)
    return get_or_404(LiveQuery.objects.all(), query_id)
