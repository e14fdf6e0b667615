"""Role checks shared by every module.

Each module has its own ``permissions.py`` with one function per object type
(``child_for_user(user, child_id)``) that raises ``Http404`` for anything outside the user's
reach: foreign objects are indistinguishable from missing ones. Those functions use the role
predicates below, so there is exactly one definition of each role.
"""

from __future__ import annotations

from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.http import Http404
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from backend.accounts.models import User


def is_parent(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role == "parent")


def is_school_staff(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role == "staff")


def is_city_admin(user: Any) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.role == "admin" or user.is_superuser)
    )


def is_technician(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role == "technician")


def is_staff_or_admin(user: Any) -> bool:
    return is_school_staff(user) or is_city_admin(user)


ROLE_CHECKS = {
    "parent": is_parent,
    "staff": is_school_staff,
    "admin": is_city_admin,
    "technician": is_technician,
    "staff_or_admin": is_staff_or_admin,
}


def role_required(*roles: str):
    """Page decorator: login first, then 404 for any other role (pages of other roles do not exist)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not any(ROLE_CHECKS[r](request.user) for r in roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def has_role(user: User, *roles: str) -> bool:
    return any(ROLE_CHECKS[r](user) for r in roles)


class RolePermission(BasePermission):
    """DRF permission: ``permission_classes = [RolePermission.for_roles("technician")]``.

    A user of another role gets 404, like a foreign object.
    """

    roles: tuple[str, ...] = ()

    @classmethod
    def for_roles(cls, *roles: str) -> type[RolePermission]:
        return type(f"RolePermission_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not has_role(request.user, *self.roles):
            raise Http404
        return True
