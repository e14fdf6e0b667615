"""The one place that decides who reaches which family object. Foreign objects answer 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from backend.core.permissions import is_city_admin, is_parent, is_school_staff

from .models import Child, Household, School


def staff_school_ids(user) -> list[int] | None:
    """Schools a staff member works in; ``None`` means every school (city administrators)."""
    if is_city_admin(user):
        return None
    if is_school_staff(user):
        return list(user.staff_schools.values_list("id", flat=True))
    return []


def schools_for_user(user) -> QuerySet[School]:
    ids = staff_school_ids(user)
    qs = School.objects.all()
    return qs if ids is None else qs.filter(id__in=ids)


def household_for_user(user) -> Household:
    """The parent's own household, or 404."""
    if not is_parent(user):
        raise Http404
    try:
        return Household.objects.get(guardians__user=user)
    except Household.DoesNotExist:
        raise Http404


def children_for_user(user) -> QuerySet[Child]:
    if is_parent(user):
        return Child.objects.filter(household__guardians__user=user)
    ids = staff_school_ids(user)
    if ids is None:
        return Child.objects.all()
    return Child.objects.filter(school_id__in=ids)


def child_for_user(user, child_id: int) -> Child:
    try:
        return children_for_user(user).get(pk=child_id)
    except (Child.DoesNotExist, ValueError, TypeError):
        raise Http404
