"""Derogations: a decision separate from the registration.

1. The family asks for a school other than its catchment school, with a reason; each reason
   needs its own document (DEROGATION_DOCUMENTS), checked like the other documents.
2. The catchment school gives its opinion (favourable or not, with a comment).
3. A commission date may be set; the city (administrator) grants or refuses, with a reason for
   a refusal, only once the opinion is in and, to grant, the reason's document accepted.
4. The family is notified and downloads the decision letter (PDF). The registration itself can
   only be accepted at the requested school once the derogation is granted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.access import is_city_admin
from backend.core.exceptions import ApplicationError
from backend.core.text import render_text, source_text

from ..models import (
    DEROGATION_DOCUMENTS,
    ApplicationEvent,
    DerogationReview,
    Document,
    DocumentKind,
    SchoolApplication,
)
from .common import audit, notify_guardians

if TYPE_CHECKING:
    from backend.accounts.models import User


def _review(application: SchoolApplication) -> DerogationReview:
    if not application.derogation_reason:
        raise ApplicationError(_("Cette demande ne comporte pas de dérogation."))
    review, _created = DerogationReview.objects.select_for_update().get_or_create(
        application=application
    )
    return review


def _event(application: SchoolApplication, actor: User, message: str) -> None:
    ApplicationEvent.objects.create(
        application=application,
        kind=ApplicationEvent.Kind.NOTE,
        message=message,
        actor=actor,
        actor_kind="person",
    )


def derogation_opinion(
    *, actor: User, application: SchoolApplication, favourable: bool, comment: str = ""
) -> DerogationReview:
    """The catchment school's opinion (its staff or an administrator)."""
    comment = (comment or "").strip()[:500]
    if not favourable and not comment:
        raise ApplicationError(_("Expliquez un avis défavorable."))
    with transaction.atomic():
        review = _review(application)
        if review.decision != DerogationReview.Decision.PENDING:
            raise ApplicationError(_("La dérogation est déjà décidée."))
        review.opinion = (
            DerogationReview.Opinion.FAVOURABLE
            if favourable
            else DerogationReview.Opinion.UNFAVOURABLE
        )
        review.opinion_comment = comment
        review.opinion_by = actor
        review.opinion_at = timezone.now()
        review.save()
        _event(application, actor, str(review.get_opinion_display()))
        audit(
            action="family.derogation.opinion",
            actor=actor,
            target=review,
            household_id=application.household_id,
            data={"favourable": favourable, "comment": comment},
            family_side=False,
        )
    return review


def derogation_decide(
    *,
    actor: User,
    application: SchoolApplication,
    granted: bool,
    reason: str = "",
    commission_date: dt.date | None = None,
) -> DerogationReview:
    """The city's decision, after the catchment school's opinion."""
    if not is_city_admin(actor):
        raise ApplicationError(_("La dérogation est décidée par la ville (administrateur)."))
    reason = (reason or "").strip()[:500]
    if not granted and not reason:
        raise ApplicationError(_("Indiquez le motif du refus."))
    with transaction.atomic():
        review = _review(application)
        if review.decision != DerogationReview.Decision.PENDING:
            raise ApplicationError(_("La dérogation est déjà décidée."))
        if review.opinion == DerogationReview.Opinion.PENDING:
            raise ApplicationError(_("L'avis de l'école de secteur est attendu avant la décision."))
        kinds = DEROGATION_DOCUMENTS.get(application.derogation_reason, [])
        if (
            granted
            and kinds
            and not Document.objects.filter(
                application=application, kind__in=kinds, status=Document.Status.ACCEPTED
            ).exists()
        ):
            raise ApplicationError(
                _("Pièce justificative de la dérogation non vérifiée : %(doc)s.")
                % {"doc": DocumentKind(kinds[0]).label}
            )
        if commission_date is not None:
            review.commission_date = commission_date
        review.decision = (
            DerogationReview.Decision.GRANTED if granted else DerogationReview.Decision.REFUSED
        )
        review.decision_reason = reason
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.save()
        message = str(review.get_decision_display()) + (f" : {reason}" if reason else "")
        _event(application, actor, message)
        audit(
            action="family.derogation.decide",
            actor=actor,
            target=review,
            household_id=application.household_id,
            data={"granted": granted, "reason": reason},
            family_side=False,
        )
        from .registrations import application_url

        # Stored as keys + parameters, rendered in each reader's language (core/text.py).
        params = {
            "code": application.tracking_code_display,
            "decision_key": source_text(DerogationReview.Decision(review.decision).label),
        }
        subject_key = gettext_noop("Dérogation %(code)s : %(decision)s")
        body_key = gettext_noop("La lettre de décision est disponible dans votre espace.")
        notify_guardians(
            household=application.household,
            child=application.child,
            subject=render_text(subject_key, params),
            body=_(body_key),
            url=application_url(application),
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
    return review


def derogation_schedule(
    *, actor: User, application: SchoolApplication, commission_date: dt.date
) -> DerogationReview:
    with transaction.atomic():
        review = _review(application)
        review.commission_date = commission_date
        review.save(update_fields=["commission_date", "updated_at"])
        audit(
            action="family.derogation.schedule",
            actor=actor,
            target=review,
            household_id=application.household_id,
            data={"commission_date": commission_date.isoformat()},
            family_side=False,
        )
    return review
