"""Households, guardians (one login each), invitations, emergency contacts, income assessments."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.access import is_parent
from backend.core.exceptions import ApplicationError
from backend.core.ratelimit import email_rate_limit, normalise_email
from backend.core.text import render_text

from ..models import (
    Child,
    ChildGuardian,
    EmergencyContact,
    Guardian,
    GuardianInvitation,
    Household,
    IncomeAssessment,
)
from ..permissions import is_family_staff
from ..selectors import bracket_for_quotient
from .common import audit, notify_guardians

if TYPE_CHECKING:
    from typing import IO

    from django.core.files.uploadedfile import UploadedFile

    from backend.accounts.models import User

INVITATION_SALT = "family.guardian-invitation"


def _clean(value: str, max_length: int) -> str:
    return (value or "").strip()[:max_length]


def household_create(
    *, user: User, name: str, address_line: str, postal_code: str, city: str, relationship: str = ""
) -> Household:
    """A parent without a household creates one and becomes its first guardian."""
    if not is_parent(user):
        raise ApplicationError(_("Seul un parent peut créer un foyer."))
    name = _clean(name, 200)
    if not name:
        raise ApplicationError(_("Indiquez le nom du foyer."))
    if not _clean(address_line, 255):
        raise ApplicationError(_("Indiquez l'adresse du foyer."))
    with transaction.atomic():
        if Guardian.objects.select_for_update().filter(user=user).exists():
            raise ApplicationError(_("Vous faites déjà partie d'un foyer."))
        household = Household.objects.create(
            name=name,
            address_line=_clean(address_line, 255),
            postal_code=_clean(postal_code, 10),
            city=_clean(city, 100),
        )
        try:
            with transaction.atomic():
                Guardian.objects.create(
                    household=household, user=user, relationship=_clean(relationship, 60)
                )
        except IntegrityError:
            raise ApplicationError(_("Vous faites déjà partie d'un foyer."))
        audit(
            action="family.household.create",
            actor=user,
            target=household,
            household_id=household.pk,
        )
    return household


# --- invitations ---------------------------------------------------------------------------


def invitation_token(invitation: GuardianInvitation) -> str:
    return signing.dumps(invitation.pk, salt=INVITATION_SALT, compress=True)


def invitation_from_token(token: str) -> GuardianInvitation | None:
    try:
        pk = signing.loads(token, salt=INVITATION_SALT, max_age=60 * 60 * 24 * 60)
    except signing.BadSignature:
        return None
    return GuardianInvitation.objects.select_related("household").filter(pk=pk).first()


def guardian_invite(
    *,
    actor: User,
    household: Household,
    email: str,
    relationship: str = "",
    legal_guardian: bool = True,
    billing_payer: bool = False,
    may_pick_up: bool = True,
    receives_notifications: bool = True,
    acting_for_family: bool = False,
) -> GuardianInvitation:
    """Invite another guardian by email: a signed link valid ``FAMILY_INVITATION_DAYS`` days.

    Household membership is the family's decision: a guardian of the household invites; staff
    only while acting for that family at the counter (``acting_for_family``, audited as
    staff-for-family). Every guardian is told, with the link to revoke it.
    """
    email = normalise_email(_clean(email, 254))
    if not email or "@" not in email:
        raise ApplicationError(_("Indiquez une adresse e-mail valide."))
    if is_parent(actor):
        if not Guardian.objects.filter(household=household, user=actor).exists():
            raise ApplicationError(_("Seul un responsable du foyer peut inviter."), status_code=403)
    elif not (is_family_staff(actor) and acting_for_family):
        raise ApplicationError(
            _(
                "Seul un responsable du foyer invite un autre adulte. Un agent ne peut le faire "
                "que pour le compte de la famille, à sa demande, au guichet."
            ),
            status_code=403,
        )
    if Guardian.objects.filter(household=household, user__email__iexact=email).exists():
        raise ApplicationError(_("Cette personne fait déjà partie du foyer."))
    email_rate_limit(action="invitation", address=email, account_id=actor.pk)
    days = getattr(settings, "FAMILY_INVITATION_DAYS", 7)
    with transaction.atomic():
        GuardianInvitation.objects.filter(
            household=household, email__iexact=email, state=GuardianInvitation.State.PENDING
        ).update(state=GuardianInvitation.State.REVOKED, responded_at=timezone.now())
        invitation = GuardianInvitation.objects.create(
            household=household,
            email=email,
            invited_by=actor,
            relationship=_clean(relationship, 60),
            legal_guardian=legal_guardian,
            billing_payer=billing_payer,
            may_pick_up=may_pick_up,
            receives_notifications=receives_notifications,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        audit(
            action="family.invitation.create",
            actor=actor,
            target=invitation,
            household_id=household.pk,
            data={"acting_for_family": bool(acting_for_family)},
        )
        # Stored as keys + parameters, rendered in each reader's language (core/text.py).
        params = {"actor": actor.get_full_name() or actor.email, "email": email}
        subject_key = gettext_noop("Nouvelle invitation dans votre foyer : %(email)s")
        body_key = gettext_noop(
            "%(actor)s a invité %(email)s à rejoindre votre foyer comme responsable. "
            "Si vous n'êtes pas d'accord, annulez l'invitation depuis la page du foyer."
        )
        notify_guardians(
            household=household,
            subject=_(subject_key) % params,
            body=_(body_key) % params,
            url=reverse("family:household"),
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
        from backend.core.outbox import enqueue

        from ..tasks import invitation_email_task

        enqueue(invitation_email_task, invitation.pk)
    return invitation


def invitation_email(*, invitation_id: int) -> bool:
    """Send the invitation link by email (Celery). In-app too when the person has an account."""
    from django.core.mail import send_mail
    from django.urls import reverse

    from backend.accounts.models import User
    from backend.core.services import notification_send

    invitation = (
        GuardianInvitation.objects.select_related("household", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.state != GuardianInvitation.State.PENDING:
        return False
    url = reverse("family:invitation", args=[invitation_token(invitation)])
    inviter = (
        invitation.invited_by.get_full_name() or invitation.invited_by.email
        if invitation.invited_by
        else ""
    )
    subject_key = gettext_noop("Invitation à rejoindre le foyer %(name)s")
    body_key = gettext_noop(
        "%(inviter)s vous invite à rejoindre le foyer « %(name)s » sur le portail famille, avec votre "
        "propre compte. Ce lien expire le %(date)s."
    )
    params = {
        "inviter": inviter,
        "name": invitation.household.name,
        "date": f"{invitation.expires_at:%d/%m/%Y}",
    }
    send_mail(
        subject=render_text(subject_key, params),
        message=f"{render_text(body_key, params)}\n\n{settings.MINOT_SITE_URL}{url}",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is not None:
        notification_send(
            user=user,
            subject=render_text(subject_key, params),
            url=url,
            email=False,
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
    return True


def _pending_invitation(invitation: GuardianInvitation) -> GuardianInvitation:
    locked = GuardianInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.state != GuardianInvitation.State.PENDING:
        raise ApplicationError(
            _("Cette invitation n'est plus valable (%(state)s).")
            % {"state": locked.get_state_display()}
        )
    if locked.expires_at < timezone.now():
        raise ApplicationError(_("Cette invitation a expiré : demandez-en une nouvelle."))
    return locked


def invitation_accept(*, invitation: GuardianInvitation, user: User) -> Guardian:
    """The invited person (signed in with the invited address) joins the household and gets the
    rights chosen by the inviter on every child."""
    if not is_parent(user):
        raise ApplicationError(_("Seul un compte parent peut rejoindre un foyer."))
    with transaction.atomic():
        locked = _pending_invitation(invitation)
        if user.email.lower() != locked.email.lower():
            raise ApplicationError(
                _(
                    "Cette invitation a été envoyée à une autre adresse e-mail. Connectez-vous avec %(email)s."
                )
                % {"email": locked.email}
            )
        if Guardian.objects.filter(user=user).exists():
            raise ApplicationError(
                _("Vous faites déjà partie d'un foyer : quittez-le avant d'en rejoindre un autre.")
            )
        guardian = Guardian.objects.create(
            household=locked.household, user=user, relationship=locked.relationship
        )
        ChildGuardian.objects.bulk_create(
            [
                ChildGuardian(
                    child=child,
                    guardian=guardian,
                    legal_guardian=locked.legal_guardian,
                    billing_payer=locked.billing_payer,
                    may_pick_up=locked.may_pick_up,
                    receives_notifications=locked.receives_notifications,
                    billing_share_percent=100 if locked.billing_payer else 0,
                )
                for child in Child.objects.filter(household=locked.household)
            ]
        )
        locked.state = GuardianInvitation.State.ACCEPTED
        locked.responded_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["state", "responded_at", "accepted_by", "updated_at"])
        audit(
            action="family.invitation.accept",
            actor=user,
            target=locked,
            household_id=locked.household_id,
        )
        # Every guardian (and the inviter, when staff) hears of the new member.
        joined_key = gettext_noop("%(email)s a rejoint votre foyer")
        notify_guardians(
            household=locked.household,
            subject=render_text(joined_key, {"email": user.email}),
            url=reverse("family:household"),
            exclude_user=user,
            subject_key=joined_key,
            body_key=gettext_noop(
                "%(email)s fait désormais partie de votre foyer et voit le dossier des enfants. "
                "Si vous n'êtes pas d'accord, contactez la mairie."
            ),
            params={"email": user.email},
        )
        if (
            locked.invited_by is not None
            and not Guardian.objects.filter(
                household=locked.household, user=locked.invited_by
            ).exists()
        ):
            from backend.core.services import notification_send

            inviter_key = gettext_noop("%(email)s a rejoint le foyer %(name)s")
            inviter_params = {"email": user.email, "name": locked.household.name}
            notification_send(
                user=locked.invited_by,
                subject=render_text(inviter_key, inviter_params),
                email=False,
                subject_key=inviter_key,
                params=inviter_params,
            )
    return guardian


def invitation_accept_with_signup(
    *, invitation: GuardianInvitation, password: str, first_name: str, last_name: str
) -> User:
    """Someone without an account accepts an invitation: the parent account (for the invited
    address) and the membership are created together, or neither is (one transaction)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError as DjangoValidationError

    user_model = get_user_model()
    try:
        validate_password(password, user_model(email=invitation.email))
    except DjangoValidationError as exc:
        raise ApplicationError(" ".join(exc.messages)) from None
    with transaction.atomic():
        if user_model.objects.filter(email__iexact=invitation.email).exists():
            raise ApplicationError(
                _("Un compte existe déjà pour %(email)s : connectez-vous pour accepter.")
                % {"email": invitation.email}
            )
        user = user_model.objects.create_user(
            email=invitation.email,
            password=password,
            role="parent",
            first_name=first_name,
            last_name=last_name,
        )
        invitation_accept(invitation=invitation, user=user)
    return user


def invitation_decline(
    *, invitation: GuardianInvitation, user: User | None = None
) -> GuardianInvitation:
    with transaction.atomic():
        locked = _pending_invitation(invitation)
        if (
            user is not None
            and user.is_authenticated
            and user.email.lower() != locked.email.lower()
        ):
            raise ApplicationError(_("Cette invitation a été envoyée à une autre adresse e-mail."))
        locked.state = GuardianInvitation.State.DECLINED
        locked.responded_at = timezone.now()
        locked.save(update_fields=["state", "responded_at", "updated_at"])
        audit(
            action="family.invitation.decline",
            actor=user if user and user.is_authenticated else None,
            target=locked,
            household_id=locked.household_id,
        )
    return locked


def invitation_revoke(*, actor: User, invitation: GuardianInvitation) -> GuardianInvitation:
    with transaction.atomic():
        locked = GuardianInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != GuardianInvitation.State.PENDING:
            raise ApplicationError(_("Cette invitation n'est plus en attente."))
        locked.state = GuardianInvitation.State.REVOKED
        locked.responded_at = timezone.now()
        locked.save(update_fields=["state", "responded_at", "updated_at"])
        audit(
            action="family.invitation.revoke",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
        )
    return locked


def guardian_leave(*, actor: User, guardian: Guardian) -> None:
    """A guardian leaves the household. The last guardian cannot, and every child must keep a
    legal guardian."""
    with transaction.atomic():
        guardians = list(
            Guardian.objects.select_for_update().filter(household_id=guardian.household_id)
        )
        if len(guardians) <= 1:
            raise ApplicationError(_("Le dernier responsable ne peut pas quitter le foyer."))
        remaining = [g.pk for g in guardians if g.pk != guardian.pk]
        covered = ChildGuardian.objects.filter(
            guardian_id__in=remaining, legal_guardian=True
        ).values("child_id")
        orphans = Child.objects.filter(household_id=guardian.household_id).exclude(pk__in=covered)
        if orphans.exists():
            raise ApplicationError(
                _(
                    "%(child)s n'aurait plus de responsable légal : modifiez d'abord les droits des autres responsables."
                )
                % {"child": orphans[0].first_name}
            )
        household_id = guardian.household_id
        audit(
            action="family.guardian.leave",
            actor=actor,
            target=guardian,
            household_id=household_id,
            data={"user_id": guardian.user_id},
        )
        try:
            guardian.delete()
        except ProtectedError:
            raise ApplicationError(
                _(
                    "Ce responsable a encore des factures ou paiements rattachés : contactez la mairie."
                )
            )
        notify_guardians(
            household=Household.objects.get(pk=household_id),
            subject_key=gettext_noop("%(email)s a quitté le foyer"),
            params={"email": guardian.user.email},
            email=False,
        )


# --- contacts -----------------------------------------------------------------------------


def emergency_contact_create(
    *,
    actor: User,
    household: Household,
    name: str,
    phone: str,
    relationship: str = "",
    may_pick_up: bool = False,
    call_in_emergency: bool = True,
) -> EmergencyContact:
    name, phone = _clean(name, 200), _clean(phone, 32)
    if not name or not phone:
        raise ApplicationError(_("Indiquez le nom et le téléphone du contact."))
    if not any(c.isdigit() for c in phone):
        raise ApplicationError(_("Le numéro de téléphone n'est pas valide."))
    with transaction.atomic():
        contact = EmergencyContact.objects.create(
            household=household,
            name=name,
            phone=phone,
            relationship=_clean(relationship, 60),
            may_pick_up=may_pick_up,
            call_in_emergency=call_in_emergency,
        )
        audit(
            action="family.contact.create", actor=actor, target=contact, household_id=household.pk
        )
    return contact


def emergency_contact_delete(*, actor: User, contact: EmergencyContact) -> None:
    with transaction.atomic():
        audit(
            action="family.contact.delete",
            actor=actor,
            target=contact,
            household_id=contact.household_id,
            data={"contact_id": contact.pk},
        )
        contact.delete()


# --- income assessment (quotient familial) ----------------------------------------------------


def income_assessment_declare(
    *,
    actor: User,
    household: Household,
    quotient: int,
    source: str,
    valid_from: dt.date,
    valid_until: dt.date,
    uploaded_file: UploadedFile | IO[bytes] | None = None,
) -> IncomeAssessment:
    """A family declares its quotient with a supporting document; staff validate it."""
    from ..models import DocumentKind
    from .documents import document_upload

    if source not in IncomeAssessment.Source.values:
        raise ApplicationError(_("Source du quotient inconnue."))
    if quotient is None or quotient < 0 or quotient > 100_000:
        raise ApplicationError(_("Le quotient familial doit être compris entre 0 et 100 000 €."))
    if valid_from > valid_until:
        raise ApplicationError(_("La fin de validité doit suivre le début."))
    if uploaded_file is None and is_parent(actor):
        raise ApplicationError(_("Joignez le justificatif du quotient familial."))
    with transaction.atomic():
        document = None
        if uploaded_file is not None:
            document = document_upload(
                actor=actor,
                household=household,
                kind=DocumentKind.INCOME_PROOF,
                uploaded_file=uploaded_file,
            )
        assessment = IncomeAssessment.objects.create(
            household=household,
            quotient=quotient,
            source=source,
            valid_from=valid_from,
            valid_until=valid_until,
            document=document,
            declared_by=actor,
        )
        audit(
            action="family.income.declare",
            actor=actor,
            target=assessment,
            household_id=household.pk,
            data={"quotient": quotient, "source": source},
        )
    return assessment


def income_assessment_validate(*, actor: User, assessment: IncomeAssessment) -> IncomeAssessment:
    """Staff validate: the bracket follows from the quotient; canteen prices use it."""
    with transaction.atomic():
        locked = IncomeAssessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status != IncomeAssessment.Status.PENDING:
            raise ApplicationError(_("Ce quotient a déjà été traité."))
        bracket = bracket_for_quotient(quotient=locked.quotient)
        if bracket is None:
            raise ApplicationError(_("Aucune tranche tarifaire ne correspond à ce quotient."))
        locked.status = IncomeAssessment.Status.VALIDATED
        locked.bracket = bracket.number
        locked.validated_by = actor
        locked.validated_at = timezone.now()
        locked.save(
            update_fields=["status", "bracket", "validated_by", "validated_at", "updated_at"]
        )
        audit(
            action="family.income.validate",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
            data={"bracket": bracket.number},
            family_side=False,
        )
        notify_guardians(
            household=locked.household,
            subject_key=gettext_noop("Quotient familial validé : tranche %(n)s"),
            params={"n": bracket.number},
        )
    return locked


def income_assessment_reject(
    *, actor: User, assessment: IncomeAssessment, reason: str
) -> IncomeAssessment:
    reason = _clean(reason, 300)
    if not reason:
        raise ApplicationError(_("Indiquez le motif du refus."))
    with transaction.atomic():
        locked = IncomeAssessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.status != IncomeAssessment.Status.PENDING:
            raise ApplicationError(_("Ce quotient a déjà été traité."))
        locked.status = IncomeAssessment.Status.REJECTED
        locked.rejection_reason = reason
        locked.validated_by = actor
        locked.validated_at = timezone.now()
        locked.save(
            update_fields=[
                "status",
                "rejection_reason",
                "validated_by",
                "validated_at",
                "updated_at",
            ]
        )
        audit(
            action="family.income.reject",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
            data={"reason": reason},
            family_side=False,
        )
        notify_guardians(
            household=locked.household,
            subject_key=gettext_noop("Quotient familial refusé"),
            body=reason,
        )
    return locked


def invitations_expire() -> int:
    """Mark pending invitations past their date as revoked (periodic task)."""
    return GuardianInvitation.objects.filter(
        state=GuardianInvitation.State.PENDING, expires_at__lt=timezone.now()
    ).update(state=GuardianInvitation.State.REVOKED, responded_at=timezone.now())
