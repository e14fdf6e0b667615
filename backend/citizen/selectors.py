from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import CitizenLink

if TYPE_CHECKING:
    from backend.accounts.models import User


def links_for(*, user: User) -> QuerySet[CitizenLink]:
    """The identities linked to ``user``'s account, oldest first."""
    return CitizenLink.objects.filter(user=user).order_by("created_at", "pk")
