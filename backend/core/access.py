"""The one access layer of Minot: who may reach what, written once and used by every app.

Rules (each app's ``permissions.py`` builds its querysets on these and nothing else):

- **Roles.** A user has exactly one role (``parent``, ``staff``, ``admin``, ``technician``);
  an inactive or anonymous user has none. The predicates below are the only definition of each
  role; nothing else looks at ``user.role``.
- **Households reached** (:func:`households_reached_by`): a parent reaches the household they are
  a guardian of; school staff reach every household with a child at one of their schools *or* an
  application to one of their schools (a family applying to a school becomes that school's
  business before the child is enrolled); city administrators reach every household; anyone else
  reaches none. Every app (family, canteen, payments, messages) filters by this one queryset.
- **Out of reach is missing.** A signed-in user asking for an object they cannot reach gets
  ``Http404``, exactly as for an id that does not exist (:func:`get_or_404`): the answer never
  tells that the object exists. Pages and APIs of another role are 404 too.
- **Technicians** reach the fleet only, never family data; families and staff never reach the
  fleet.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from backend.accounts.models import User
    from family.models import Household

_M = TypeVar("_M", bound=Model)

MAX_PK = 2**62


# --- roles ----------------------------------------------------------------------------------


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_parent(user: Any) -> bool:
    return _active(user) and user.role == "parent"


def is_school_staff(user: Any) -> bool:
    return _active(user) and user.role == "staff"


def is_city_admin(user: Any) -> bool:
    return _active(user) and (user.role == "admin" or bool(user.is_superuser))


def is_technician(user: Any) -> bool:
    return _active(user) and user.role == "technician"


def is_staff_or_admin(user: Any) -> bool:
    """School staff or city administrators: the people who work on families' files."""
    return is_school_staff(user) or is_city_admin(user)


ROLE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "parent": is_parent,
    "staff": is_school_staff,
    "admin": is_city_admin,
    "technician": is_technician,
    "staff_or_admin": is_staff_or_admin,
}

# Role groups used by pages and APIs (one name per audience).
FAMILY_ROLES = ("parent", "staff_or_admin")
STAFF_ROLES = ("staff_or_admin",)
PARENT_ROLES = ("parent",)
FLEET_ROLES = ("technician",)
ADMIN_ROLES = ("admin",)


def has_role(user: Any, *roles: str) -> bool:
    return any(ROLE_CHECKS[r](user) for r in roles)


def require_role(user: Any, *roles: str) -> None:
    """404 unless the user has one of the roles (a page of another role does not exist)."""
    if not has_role(user, *roles):
        raise Http404


# --- single objects --------------------------------------------------------------------------


def clean_pk(value: Any) -> int:
    """An id from a URL or a body: anything but a sane positive integer is simply not found."""
    if isinstance(value, bool):
        raise Http404
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < number < MAX_PK:
        raise Http404
    return number


def get_or_404(queryset: QuerySet[_M], pk: Any) -> _M:
    """The object with this id *within the queryset the user may reach*, or ``Http404``."""
    try:
        return queryset.get(pk=clean_pk(pk))
    except (ObjectDoesNotExist, ValidationError):
        raise Http404 from None


# --- households ------------------------------------------------------------------------------


def staff_school_ids(user: Any) -> list[int] | None:
    """Schools a user works in; ``None`` means every school (city administrators), ``[]`` none."""
    if is_city_admin(user):
        return None
    if is_school_staff(user):
        return list(user.staff_schools.values_list("id", flat=True))
    return []


def _family_model(name: str) -> Any:
    """Family models by name, through ``settings.MINOT_FAMILY_APP`` (as ``AUTH_USER_MODEL`` does
    for users): core knows *that* households exist, never imports the family app."""
    return apps.get_model(settings.MINOT_FAMILY_APP, name)


def households_reached_by(user: Any) -> QuerySet[Household]:
    """Every household the user may see and act for (the rule is in the module docstring)."""
    household = _family_model("Household")
    if is_parent(user):
        return household.objects.filter(guardians__user=user)
    ids = staff_school_ids(user)
    if ids is None:
        return household.objects.all()
    if not ids:
        return household.objects.none()
    child = _family_model("Child")
    application = _family_model("SchoolApplication")
    return household.objects.filter(
        Q(id__in=child.objects.filter(school_id__in=ids).values("household_id"))
        | Q(id__in=application.objects.filter(school_id__in=ids).values("household_id"))
    )


# --- pages and APIs --------------------------------------------------------------------------


def role_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Page decorator: login first, then 404 for any other role."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @login_required
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            require_role(request.user, *roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RolePermission(BasePermission):
    """DRF permission: anonymous → 401/403 by DRF's rules; another role → 404, like a foreign
    object. Use the ready-made classes below rather than ``for_roles`` in each app."""

    roles: tuple[str, ...] = ()

    @classmethod
    def for_roles(cls, *roles: str) -> type[RolePermission]:
        return type(f"RolePermission_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        require_role(request.user, *self.roles)
        return True


IsParent = RolePermission.for_roles(*PARENT_ROLES)
IsFamilyMember = RolePermission.for_roles(*FAMILY_ROLES)  # parents, staff and admins
IsStaff = RolePermission.for_roles(*STAFF_ROLES)  # staff and admins
IsTechnician = RolePermission.for_roles(*FLEET_ROLES)
IsCityAdmin = RolePermission.for_roles(*ADMIN_ROLES)


def audience(user: User) -> str:
    """The role group a user belongs to, for navigation and homes."""
    for name in ("parent", "staff", "admin", "technician"):
        if ROLE_CHECKS[name](user):
            return name
    return "none"
