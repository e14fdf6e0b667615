"""The one place that decides who reaches which canteen object. Foreign objects answer 404.

Parents reach their own children; school staff reach the children, rolls, menus and forecasts of
their schools; city administrators reach everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404

from backend.core.access import (
    get_or_404,
    is_city_admin,
    is_parent,
    is_staff_or_admin,
    staff_school_ids,
)
from family.models import Child, School
from family.permissions import children_for_user

from .models import Service

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from backend.accounts.models import User


def visible_children(user: User | AnonymousUser) -> QuerySet[Child]:
    if not (is_parent(user) or is_staff_or_admin(user)):
        return Child.objects.none()
    return children_for_user(user)


def child_for_user(user: User | AnonymousUser, child_id: Any) -> Child:
    """A child whose meals ``user`` may see and book (parents: theirs; staff: their schools')."""
    return get_or_404(visible_children(user).select_related("household", "school"), child_id)


def school_ids_for_staff(user: User | AnonymousUser) -> list[int] | None:
    """Schools whose rolls, menus and forecasts ``user`` may handle; ``None`` means all."""
    if not is_staff_or_admin(user):
        raise Http404
    return staff_school_ids(user)


def staff_schools(user: User | AnonymousUser) -> QuerySet[School]:
    ids = school_ids_for_staff(user)
    qs = School.objects.filter(is_active=True)
    return qs if ids is None else qs.filter(id__in=ids)


def school_for_staff(user: User | AnonymousUser, school_id: Any) -> School:
    return get_or_404(staff_schools(user), school_id)


def can_edit_citywide_menus(user: User | AnonymousUser) -> bool:
    return is_city_admin(user)


def setup_services(user: User | AnonymousUser) -> QuerySet[Service]:
    """Services whose set-up ``user`` may see: every one for administrators; for school staff
    those held at or open to one of their schools (read only); anybody else: 404."""
    ids = school_ids_for_staff(user)
    qs = Service.objects.all()
    if ids is None:
        return qs
    reached = Q(site_id__in=ids) | Q(site__isnull=True, schools__isnull=True)
    reached |= Q(site__isnull=True, schools__in=ids)
    return qs.filter(pk__in=Service.objects.filter(reached).values("pk"))


def setup_service_for(user: User | AnonymousUser, service_id: Any) -> Service:
    return get_or_404(setup_services(user).select_related("site"), service_id)


def can_edit_setup(user: User | AnonymousUser) -> bool:
    """Only city administrators change a service's set-up; staff read it."""
    return is_city_admin(user)
