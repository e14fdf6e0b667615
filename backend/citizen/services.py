"""Accounts from the city's identity providers: create, link, unlink (every write is audited).

Rules (docs/citizen-account.md explains them to operators):
- ``(issuer, sub)`` is the stable link; the database makes one identity open one account only.
- Citizen provider: a first sign-in creates a *parent* account from the claims. An existing
  account with the same email is linked at once only when the provider says
  ``email_verified: true``; otherwise the person confirms with their Minot password first.
  Only parent accounts are ever signed in this way, and claims never change a role.
- Staff provider: the directory's groups, through the ``StaffGroupRole`` table that
  administrators edit, give the role (staff or technician) and the schools. It never signs in a
  parent or an administrator account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.core.access import is_city_admin, is_parent, is_school_staff, is_technician
from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

from .models import CitizenLink, StaffGroupRole
from .providers import SignInError

if TYPE_CHECKING:
    from backend.accounts.models import User


@dataclass(frozen=True)
class SignInResult:
    """Either ``user`` to sign in, or ``confirm_user``: an account to link once its owner has
    typed its Minot password."""

    user: User | None = None
    confirm_user: User | None = None


def _email(claims: dict[str, Any]) -> str:
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email:
        raise SignInError("email")
    return email


def _email_verified(claims: dict[str, Any]) -> bool:
    # Some providers send the boolean as a string.
    return claims.get("email_verified") in (True, "true", "True")


def _text(claims: dict[str, Any], name: str, limit: int) -> str:
    value = claims.get(name)
    return str(value).strip()[:limit] if isinstance(value, str | int) else ""


def _link_create(*, user: User, issuer: str, sub: str, how: str) -> CitizenLink:
    link = CitizenLink.objects.create(
        user=user, issuer=issuer, sub=sub, last_login_at=timezone.now()
    )
    audit_record(
        action="citizen.link_created",
        actor=user,
        target=link,
        data={"issuer": issuer, "how": how},
    )
    return link


def _linked_user(*, issuer: str, sub: str) -> User | None:
    link = CitizenLink.objects.select_related("user").filter(issuer=issuer, sub=sub).first()
    if link is None:
        return None
    CitizenLink.objects.filter(pk=link.pk).update(last_login_at=timezone.now())
    return link.user


def _family_account(user: User) -> User:
    """The citizen provider opens active parent accounts only, never an administrator's."""
    if not user.is_active:
        raise SignInError("inactive")
    if not is_parent(user) or is_city_admin(user):
        raise SignInError("not_parent")
    return user


def _agent_account(user: User) -> User:
    """The staff provider opens active staff and technician accounts only."""
    if not user.is_active:
        raise SignInError("inactive")
    if not (is_school_staff(user) or is_technician(user)) or is_city_admin(user):
        raise SignInError("not_staff")
    return user


def citizen_sign_in(*, issuer: str, claims: dict[str, Any], _retried: bool = False) -> SignInResult:
    """The account this citizen identity opens, creating or linking it as the rules say."""
    sub = str(claims["sub"])
    user = _linked_user(issuer=issuer, sub=sub)
    if user is not None:
        return SignInResult(user=_family_account(user))
    email = _email(claims)
    User = get_user_model()
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            return SignInResult(
                user=_parent_create(issuer=issuer, sub=sub, email=email, claims=claims)
            )
        except IntegrityError:
            # Another request created the same identity or email at the same moment: start over
            # once, the row it wrote now decides.
            if _retried:
                raise SignInError("other_link")
            return citizen_sign_in(issuer=issuer, claims=claims, _retried=True)
    _family_account(existing)
    if CitizenLink.objects.filter(user=existing, issuer=issuer).exists():
        # Either the account is linked to another identity of this provider, or a request
        # for this very identity linked it since we looked: looking again tells them apart.
        if not _retried:
            return citizen_sign_in(issuer=issuer, claims=claims, _retried=True)
        raise SignInError("other_link")
    if not _email_verified(claims):
        return SignInResult(confirm_user=existing)
    try:
        with transaction.atomic():
            _link_create(user=existing, issuer=issuer, sub=sub, how="email_verified")
    except IntegrityError:
        if _retried:
            raise SignInError("other_link")
        return citizen_sign_in(issuer=issuer, claims=claims, _retried=True)
    return SignInResult(user=existing)


def _parent_create(*, issuer: str, sub: str, email: str, claims: dict[str, Any]) -> User:
    User = get_user_model()
    with transaction.atomic():
        user = User(
            email=email,
            first_name=_text(claims, "given_name", 150),
            last_name=_text(claims, "family_name", 150),
            phone=_text(claims, "phone_number", 32),
            role=Role.PARENT,
        )
        user.set_unusable_password()
        user.save()
        audit_record(
            action="citizen.account_created", actor=user, target=user, data={"issuer": issuer}
        )
        _link_create(user=user, issuer=issuer, sub=sub, how="new_account")
    return user


def citizen_link_confirm(*, user: User, issuer: str, claims: dict[str, Any]) -> User:
    """Link ``user`` (whose password was just checked) to the identity in ``claims``."""
    sub = str(claims["sub"])
    _family_account(user)
    try:
        with transaction.atomic():
            _link_create(user=user, issuer=issuer, sub=sub, how="password")
    except IntegrityError:
        raise SignInError("other_link")
    return user


def citizen_link_remove(*, user: User, link_id: int) -> None:
    """Remove one of ``user``'s links; refused while the account has no password of its own
    (it could never sign in again)."""
    link = CitizenLink.objects.filter(user=user, pk=link_id).first()
    if link is None:
        raise ApplicationError(_("Ce lien n'existe pas."), status_code=404)
    if not user.has_usable_password():
        raise ApplicationError(
            _(
                "Choisissez d'abord un mot de passe Minot : sans lui, vous ne pourriez plus "
                "vous connecter une fois le lien supprimé."
            )
        )
    with transaction.atomic():
        link.delete()
        audit_record(
            action="citizen.link_removed",
            actor=user,
            target_type="citizen.citizenlink",
            target_id=link_id,
            data={"issuer": link.issuer},
        )


def _groups(claims: dict[str, Any], claim: str) -> set[str]:
    value = claims.get(claim) or []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return {str(group) for group in value if group}


def staff_sign_in(*, issuer: str, claims: dict[str, Any], groups_claim: str) -> User:
    """The agent account this directory identity opens, its role and schools from the
    groups mapping. An identity whose groups give nothing in Minot is refused."""
    sub = str(claims["sub"])
    groups = _groups(claims, groups_claim)
    rows = list(StaffGroupRole.objects.filter(group__in=groups).prefetch_related("schools"))
    if not rows:
        raise SignInError("no_role", f"groups {sorted(groups)}")
    role = rows[0].role
    schools = {school for row in rows for school in row.schools.all()}
    User = get_user_model()
    with transaction.atomic():
        user = _linked_user(issuer=issuer, sub=sub)
        if user is None:
            email = _email(claims)
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User(
                    email=email,
                    first_name=_text(claims, "given_name", 150),
                    # ProConnect names it usual_name.
                    last_name=_text(claims, "family_name", 150) or _text(claims, "usual_name", 150),
                    role=role,
                )
                user.set_unusable_password()
                user.save()
                audit_record(
                    action="citizen.account_created",
                    actor=user,
                    target=user,
                    data={"issuer": issuer, "role": role},
                )
            else:
                _agent_account(user)
                if not _email_verified(claims):
                    raise SignInError("email_unverified")
            _link_create(user=user, issuer=issuer, sub=sub, how="staff_directory")
        else:
            _agent_account(user)
        before = (user.role, sorted(s.pk for s in user.staff_schools.all()))
        user.role = role
        user.save(update_fields=["role"])
        user.staff_schools.set(schools if role == Role.STAFF else [])
        after = (role, sorted(s.pk for s in schools) if role == Role.STAFF else [])
        if before != after:
            audit_record(
                action="citizen.staff_roles_synced",
                actor=user,
                target=user,
                data={
                    "issuer": issuer,
                    "role": role,
                    "schools": after[1],
                    "groups": sorted(groups),
                },
            )
    return user
