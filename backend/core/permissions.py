"""Kept so that older imports keep working: the access layer is :mod:`backend.core.access`."""

from backend.core.access import (  # noqa: F401
    ROLE_CHECKS,
    RolePermission,
    has_role,
    is_city_admin,
    is_parent,
    is_school_staff,
    is_staff_or_admin,
    is_technician,
    role_required,
)
