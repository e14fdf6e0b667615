"""Two-factor authentication (TOTP with recovery codes, django-otp).

Required for staff, city administrators and technicians when ``MINOT_2FA_REQUIRED`` is on (the
default: production); optional for parents, and required for anyone who turned it on.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

if TYPE_CHECKING:
    from backend.accounts.models import User

RECOVERY_CODES = 10


def two_factor_enforced_for_role(user: User) -> bool:
    if not getattr(settings, "MINOT_2FA_REQUIRED", True):
        return False
    return bool(user.is_superuser or user.role in settings.MINOT_2FA_REQUIRED_ROLES)


def two_factor_enabled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(user: User) -> bool:
    """Must this person give a second factor to sign in?"""
    if not (user and user.is_authenticated):
        return False
    return two_factor_enforced_for_role(user) or two_factor_enabled(user)


def totp_device_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator app for ``user`` (an older unconfirmed one is dropped)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=_("Application"), confirmed=False)


def totp_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def totp_qr_data_uri(device: TOTPDevice) -> str:
    import segno

    return segno.make(device.config_url, error="m").svg_data_uri(scale=4)


def totp_device_confirm(*, user: User, code: str) -> list[str]:
    """The person typed the app's current code: the app becomes their second factor, older apps
    are removed, and fresh recovery codes are returned (shown once)."""
    code = (code or "").strip().replace(" ", "")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).last()
        if device is None:
            raise ApplicationError(_("Commencez par afficher le code QR."))
        if not code.isdigit() or not device.verify_token(code):
            raise ApplicationError(_("Ce code n'est pas valable : vérifiez l'heure du téléphone."))
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        audit_record(action="accounts.2fa.enable", actor=user, target=user)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": "recovery", "confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def recovery_codes_regenerate(*, user: User) -> list[str]:
    if not two_factor_enabled(user):
        raise ApplicationError(_("La double authentification n'est pas activée."))
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit_record(action="accounts.2fa.recovery_codes", actor=user, target=user)
    return codes


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def two_factor_match(*, user: User, code: str):
    """The confirmed device (app or recovery code, used once) matching ``code``, or None."""
    code = (code or "").strip().replace(" ", "")
    if not code:
        return None
    return match_token(user, code)


def two_factor_disable(*, user: User) -> None:
    """Parents may turn it off; for the roles that require it, it stays."""
    if two_factor_enforced_for_role(user):
        raise ApplicationError(_("La double authentification est obligatoire pour votre rôle."))
    with transaction.atomic():
        for device in devices_for_user(user, confirmed=None):
            device.delete()
        audit_record(action="accounts.2fa.disable", actor=user, target=user)
