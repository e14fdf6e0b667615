"""Account reads: the person's own API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

if TYPE_CHECKING:
    from backend.accounts.models import ApiToken, User


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    from backend.accounts.models import ApiToken

    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created")
