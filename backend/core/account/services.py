"""Account writes: API tokens (issue, revoke) and the profile. Audited."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

if TYPE_CHECKING:
    from backend.accounts.models import ApiToken, User


def api_token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: returns the row and the secret, shown once and never stored.

    Beyond ``API_TOKEN_LIMIT_PER_USER`` live tokens the oldest are revoked."""
    from backend.accounts.models import ApiToken

    ttl = dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)
    with transaction.atomic():
        ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        token, secret = ApiToken.objects.create(user=user, expiry=ttl, name=(name or "")[:100])
        stale = ApiToken.objects.filter(user=user).order_by("-created", "-pk")[
            settings.API_TOKEN_LIMIT_PER_USER :
        ]
        stale_digests = list(stale.values_list("digest", flat=True))
        if stale_digests:
            ApiToken.objects.filter(digest__in=stale_digests).delete()
        audit_record(
            action="accounts.api_token.create",
            actor=user,
            target_type="accounts.apitoken",
            target_id=token.token_key,
            data={"name": token.name},
        )
    return token, secret


def api_tokens_purge_expired() -> int:
    """Delete every expired token (nightly): a request only checks the token it presents."""
    from backend.accounts.models import ApiToken

    deleted, _rows = ApiToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


def api_token_revoke(*, user: User, token_key: str) -> None:
    """The owner revokes one of their tokens (by its public key prefix)."""
    from backend.accounts.models import ApiToken

    with transaction.atomic():
        deleted, _rows = ApiToken.objects.filter(user=user, token_key=token_key).delete()
        if not deleted:
            raise ApplicationError(
                _("Ce jeton n'existe pas ou a déjà été révoqué."), status_code=404
            )
        audit_record(
            action="accounts.api_token.revoke",
            actor=user,
            target_type="accounts.apitoken",
            target_id=token_key,
        )


def api_tokens_revoke_all(*, user: User, reason: str) -> int:
    """Every API token of ``user`` (password changed or reset, sign-out everywhere)."""
    from backend.accounts.models import ApiToken

    with transaction.atomic():
        deleted, _rows = ApiToken.objects.filter(user=user).delete()
        if deleted:
            audit_record(
                action="accounts.api_token.revoke_all",
                actor=user,
                target=user,
                data={"reason": reason, "count": deleted},
            )
    return deleted


def profile_update(*, user: User, phone: str, language: str) -> User:
    """The person's own phone and language (the account page)."""
    languages = {code for code, _label in settings.LANGUAGES}
    if language not in languages:
        raise ApplicationError(_("Langue inconnue."))
    phone = (phone or "").strip()[:32]
    if phone and not any(c.isdigit() for c in phone):
        raise ApplicationError(_("Le numéro de téléphone n'est pas valide."))
    with transaction.atomic():
        user.phone = phone
        user.language = language
        user.save(update_fields=["phone", "language"])
        audit_record(action="accounts.profile.update", actor=user, target=user)
    return user
