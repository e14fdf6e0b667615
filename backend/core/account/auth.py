"""How people prove who they are: API tokens (knox) and the throttle's idea of an account."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from knox.auth import TokenAuthentication

from backend.core.ratelimit import normalise_email

LAST_USED_GRANULARITY = dt.timedelta(minutes=5)


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <token>``; only a digest is stored, expired tokens are refused
    (and deleted). The token's last use is kept (to the five minutes) for the account page.

    knox also reads every other token of the person on every request to delete the expired
    ones (one more query per API call); here only the presented token is checked, and the
    others are deleted when the person signs in again (``api_token_create``) and by the nightly
    retention job."""

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
            type(token).objects.filter(digest=token.digest).update(last_used_at=now)
        return user, token


def axes_username(request, credentials: dict | None) -> str:
    """django-axes counts failures per (account, address): the account is the case-folded email,
    whichever form (login page, admin, API) sent it."""
    credentials = credentials or {}
    username = credentials.get("username") or credentials.get("email")
    if username is None and request is not None:
        data = getattr(request, "POST", None) or {}
        username = data.get("username") or data.get("email")
    return normalise_email(username)
