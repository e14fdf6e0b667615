"""Rate limits for actions that send email to an address (password reset, invitations).

A fixed window per key in the cache (``CACHE_URL``: Redis in production, shared by every web
process). Keys are an action plus an address (case-folded) or an account id, so neither an
attacker flooding one inbox nor one account spamming many inboxes gets past
``MINOT_EMAIL_RATE_LIMIT`` messages per ``MINOT_EMAIL_RATE_WINDOW`` seconds.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _


def normalise_email(email: str | None) -> str:
    """The one form of an email address used for lookups and throttling (trimmed, case-folded)."""
    return (email or "").strip().casefold()


def _key(action: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"minot:rl:{action}:{digest}"


def hit(action: str, subject: str, *, limit: int | None = None, window: int | None = None) -> bool:
    """Count one use of ``action`` for ``subject``; False when the limit is already reached."""
    limit = settings.MINOT_EMAIL_RATE_LIMIT if limit is None else limit
    window = settings.MINOT_EMAIL_RATE_WINDOW if window is None else window
    key = _key(action, subject)
    if cache.add(key, 1, timeout=window):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return True
    return count <= limit


def email_rate_limit(*, action: str, address: str, account_id: int | None = None) -> None:
    """Raise a 429 ApplicationError when ``address`` or ``account_id`` sent too many emails."""
    subjects = [f"address:{normalise_email(address)}"]
    if account_id is not None:
        subjects.append(f"account:{account_id}")
    from .exceptions import ApplicationError  # late: DRF settings import this module early

    allowed = [hit(action, subject) for subject in subjects]
    if not all(allowed):
        raise ApplicationError(
            _("Trop d'envois pour cette adresse ou ce compte. Réessayez dans une heure."),
            {"throttled": True},
            status_code=429,
        )
