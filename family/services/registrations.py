"""School registrations: the application state machine, documents required, decisions.

States (docs/family.md): draft → submitted → incomplete (waiting for the family) → under review →
accepted / waitlisted / refused, and withdrawn. Every change writes a dated ApplicationEvent
(the parent's timeline), an audit row, and enqueues the notification after commit.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.exceptions import ApplicationError
from backend.core.text import render_text, source_text

from ..models import (
    APPLICATION_TRANSITIONS,
    ApplicationEvent,
    Child,
    DocumentKind,
    DocumentRequest,
    School,
    SchoolApplication,
    SchoolYear,
)
from ..selectors import application_missing_documents, catchment_school_for_address
from .common import audit, family_actor_kind, notify_guardians

S = SchoolApplication.State
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a counter
TRANSITIONS = APPLICATION_TRANSITIONS
# States an application can still move from (derived from the workflow table).
OPEN_STATES = sorted({state for sources, _t in TRANSITIONS.values() for state in sources})


def _tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def application_url(application: SchoolApplication) -> str:
    return reverse("family:application-detail", args=[application.pk])


def application_create(
    *,
    actor,
    child: Child,
    school_year: SchoolYear,
    school: School,
    grade: str = "",
    derogation_reason: str = "",
    derogation_details: str = "",
) -> SchoolApplication:
    """A draft application; the catchment school of the household's address is recorded, and any
    other school needs a derogation reason."""
    household = child.household
    if school_year.end_date < timezone.localdate():
        raise ApplicationError(_("Cette année scolaire est terminée."))
    if not school.is_active:
        raise ApplicationError(_("Cette école n'accueille pas de nouvelles inscriptions."))
    if derogation_reason not in SchoolApplication.DerogationReason.values:
        raise ApplicationError(_("Motif de dérogation inconnu."))
    catchment = catchment_school_for_address(address_line=household.address_line)
    derogation_details = (derogation_details or "").strip()
    if catchment is not None and catchment.pk == school.pk:
        derogation_reason, derogation_details = "", ""
    elif catchment is not None and not derogation_reason:
        raise ApplicationError(
            _(
                "L'école demandée n'est pas l'école de secteur (%(school)s) : "
                "indiquez le motif de la demande de dérogation."
            )
            % {"school": catchment.name},
            {"catchment_school": {"id": catchment.pk, "name": catchment.name}},
        )
    if derogation_reason == SchoolApplication.DerogationReason.OTHER and not derogation_details:
        raise ApplicationError(_("Précisez le motif de la dérogation."))

    with transaction.atomic():
        siblings = list(
            SchoolApplication.objects.select_for_update()
            .filter(
                household=household, school_year=school_year, state__in=OPEN_STATES + [S.ACCEPTED]
            )
            .exclude(child=child)
        )
        group = next((a.sibling_group for a in siblings if a.sibling_group), None)
        if siblings and group is None:
            group = uuid.uuid4()
            SchoolApplication.objects.filter(pk__in=[a.pk for a in siblings]).update(
                sibling_group=group
            )
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    application = SchoolApplication.objects.create(
                        child=child,
                        household=household,
                        school_year=school_year,
                        school=school,
                        catchment_school=catchment,
                        address_line=household.address_line,
                        grade=grade[:40],
                        derogation_reason=derogation_reason,
                        derogation_details=derogation_details,
                        tracking_code=_tracking_code(),
                        sibling_group=group,
                    )
                break
            except IntegrityError:
                if (
                    SchoolApplication.objects.filter(child=child, school_year=school_year)
                    .exclude(state__in=[S.WITHDRAWN, S.REFUSED])
                    .exists()
                ):
                    raise ApplicationError(
                        _("%(child)s a déjà une demande d'inscription en cours pour %(year)s.")
                        % {"child": child.first_name, "year": school_year.label}
                    )
        else:  # pragma: no cover - eight random characters collided five times
            raise ApplicationError(_("Impossible de créer la demande, réessayez."))
        ApplicationEvent.objects.create(
            application=application,
            kind=ApplicationEvent.Kind.STATE,
            to_state=S.DRAFT,
            message=_("Demande créée"),
            actor=actor,
            actor_kind=family_actor_kind(actor),
        )
        audit(
            action="family.application.create",
            actor=actor,
            target=application,
            household_id=household.pk,
            data={
                "school": school.code,
                "year": school_year.label,
                "derogation": derogation_reason,
            },
        )
    return application


def _transition(
    *,
    action: str,
    actor,
    application: SchoolApplication,
    message: str = "",
    reason: str = "",
    check=None,
    family_side: bool,
) -> SchoolApplication:
    sources, target = TRANSITIONS[action]
    with transaction.atomic():
        locked = SchoolApplication.objects.select_for_update().get(pk=application.pk)
        if locked.state not in sources:
            raise ApplicationError(
                _("Action impossible : la demande est « %(state)s ».")
                % {"state": locked.get_state_display()},
                {"state": locked.state, "action": action},
            )
        if check is not None:
            check(locked)
        previous = locked.state
        locked.state = target
        fields = ["state", "updated_at"]
        now = timezone.now()
        if target == S.SUBMITTED and locked.submitted_at is None:
            locked.submitted_at = now
            fields.append("submitted_at")
        if target in (S.ACCEPTED, S.REFUSED, S.WAITLISTED):
            locked.decided_at, locked.decided_by, locked.decision_reason = now, actor, reason[:500]
            fields += ["decided_at", "decided_by", "decision_reason"]
        locked.save(update_fields=fields)
        event = ApplicationEvent.objects.create(
            application=locked,
            kind=ApplicationEvent.Kind.STATE,
            from_state=previous,
            to_state=target,
            message=message or reason,
            actor=actor,
            actor_kind=family_actor_kind(actor) if family_side else "person",
        )
        audit(
            action=f"family.application.{action}",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
            data={"from": previous, "to": target, "reason": reason},
            family_side=family_side,
        )
        if target == S.ACCEPTED:
            _apply_acceptance(locked)
        _enqueue_notification(event.pk)
    return locked


def _enqueue_notification(event_id: int) -> None:
    from backend.core.outbox import enqueue

    from ..tasks import application_event_notify_task

    enqueue(application_event_notify_task, event_id)


def _apply_acceptance(application: SchoolApplication) -> None:
    """An accepted application for the current year (or for a child without a school) moves the
    child to that school."""
    child = application.child
    if application.school_year.contains(timezone.localdate()) or child.school_id is None:
        child.school = application.school
        if application.grade:
            child.class_name = application.grade
        child.save(update_fields=["school", "class_name", "updated_at"])


def application_submit(*, actor, application: SchoolApplication) -> SchoolApplication:
    return _transition(
        action="submit",
        actor=actor,
        application=application,
        message=_("Demande envoyée"),
        family_side=True,
    )


def application_withdraw(
    *, actor, application: SchoolApplication, reason: str = ""
) -> SchoolApplication:
    return _transition(
        action="withdraw",
        actor=actor,
        application=application,
        message=_("Demande retirée par la famille"),
        reason=(reason or "").strip(),
        family_side=True,
    )


def application_start_review(*, actor, application: SchoolApplication) -> SchoolApplication:
    return _transition(
        action="review",
        actor=actor,
        application=application,
        message=_("Instruction en cours"),
        family_side=False,
    )


def application_decide(
    *, actor, application: SchoolApplication, decision: str, reason: str = ""
) -> SchoolApplication:
    """``decision`` is accept, waitlist or refuse. Accepting needs every required document
    accepted and no document request left open; refusing needs a reason."""
    reason = (reason or "").strip()
    if decision not in ("accept", "waitlist", "refuse"):
        raise ApplicationError(_("Décision inconnue."))
    if decision == "refuse" and not reason:
        raise ApplicationError(_("Indiquez le motif du refus."))

    def check(locked: SchoolApplication) -> None:
        if decision != "accept":
            return
        if locked.derogation_reason:
            from ..models import DerogationReview

            granted = DerogationReview.objects.filter(
                application=locked, decision=DerogationReview.Decision.GRANTED
            ).exists()
            if not granted:
                raise ApplicationError(
                    _(
                        "Impossible d'accepter : la dérogation doit d'abord être accordée "
                        "(avis de l'école de secteur puis décision de la ville)."
                    )
                )
        missing = application_missing_documents(application=locked, for_acceptance=True)
        if missing:
            raise ApplicationError(
                _("Impossible d'accepter : documents manquants ou non vérifiés (%(docs)s).")
                % {"docs": ", ".join(str(m["label"]) for m in missing)},
                {"missing": [m["kinds"] for m in missing]},
            )

    messages = {
        "accept": _("Inscription acceptée"),
        "waitlist": _("Demande placée sur liste d'attente"),
        "refuse": _("Demande refusée"),
    }
    message = messages[decision] + (f" : {reason}" if reason else "")
    return _transition(
        action=decision,
        actor=actor,
        application=application,
        message=message,
        reason=reason,
        check=check,
        family_side=False,
    )


def application_request_documents(
    *, actor, application: SchoolApplication, kinds: list[str], note: str = ""
) -> SchoolApplication:
    kinds = [k for k in dict.fromkeys(kinds or []) if k]
    if not kinds:
        raise ApplicationError(_("Choisissez au moins un document à demander."))
    unknown = [k for k in kinds if k not in DocumentKind.values]
    if unknown:
        raise ApplicationError(_("Type de document inconnu."), {"kinds": unknown})
    note = (note or "").strip()[:300]
    labels = ", ".join(str(DocumentKind(k).label) for k in kinds)
    message = _("Documents demandés : %(docs)s") % {"docs": labels} + (f". {note}" if note else "")

    with transaction.atomic():
        locked = SchoolApplication.objects.select_for_update().get(pk=application.pk)
        sources, _target = TRANSITIONS["request_documents"]
        if locked.state not in sources:
            raise ApplicationError(
                _("Action impossible : la demande est « %(state)s ».")
                % {"state": locked.get_state_display()},
                {"state": locked.state, "action": "request_documents"},
            )
        DocumentRequest.objects.bulk_create(
            [
                DocumentRequest(application=locked, kind=k, note=note, created_by=actor)
                for k in kinds
            ]
        )
        if locked.state == S.INCOMPLETE:
            event = ApplicationEvent.objects.create(
                application=locked,
                kind=ApplicationEvent.Kind.DOCUMENTS_REQUESTED,
                message=message,
                actor=actor,
            )
            audit(
                action="family.application.request_documents",
                actor=actor,
                target=locked,
                household_id=locked.household_id,
                data={"kinds": kinds},
                family_side=False,
            )
            _enqueue_notification(event.pk)
            return locked
        return _transition(
            action="request_documents",
            actor=actor,
            application=locked,
            message=message,
            family_side=False,
        )


def application_documents_received(*, actor, application: SchoolApplication, kind: str) -> None:
    """A family uploaded a document: fulfil matching requests; when none is left open on an
    incomplete application, send it back for review."""
    now = timezone.now()
    DocumentRequest.objects.filter(
        application=application, kind=kind, fulfilled_at__isnull=True
    ).update(fulfilled_at=now)
    application.refresh_from_db(fields=["state"])
    if (
        application.state == S.INCOMPLETE
        and not DocumentRequest.objects.filter(
            application=application, fulfilled_at__isnull=True
        ).exists()
    ):
        _transition(
            action="submit",
            actor=actor,
            application=application,
            message=_("Documents reçus : demande renvoyée pour instruction"),
            family_side=True,
        )


def application_event_notify(*, event_id: int) -> bool:
    """Tell the guardians about a state change or a document request (in-app + email). A second
    delivery finds the event notified and does nothing."""
    with transaction.atomic():
        event = (
            ApplicationEvent.objects.select_for_update(of=("self",))
            .select_related("application__child", "application__household")
            .filter(pk=event_id)
            .first()
        )
        if event is None or event.notified_at is not None:
            return False
        if event.kind not in (
            ApplicationEvent.Kind.STATE,
            ApplicationEvent.Kind.DOCUMENTS_REQUESTED,
        ):
            return False
        application = event.application
        # Stored as keys + parameters, rendered in each reader's language (backend/core/text.py).
        params = {
            "child": application.child.first_name,
            "code": application.tracking_code_display,
            "state_key": source_text(SchoolApplication.State(event.to_state).label)
            if event.kind == ApplicationEvent.Kind.STATE and event.to_state
            else "",
        }
        if event.kind == ApplicationEvent.Kind.STATE:
            subject_key = gettext_noop("Inscription %(de_child)s (%(code)s) : %(state)s")
        else:
            subject_key = gettext_noop("Inscription %(de_child)s (%(code)s) : documents demandés")
        notify_guardians(
            household=application.household,
            child=application.child,
            subject=render_text(subject_key, params),
            body=event.message,
            url=application_url(application),
            subject_key=subject_key,
            body_key=event.message,
            params=params,
        )
        event.notified_at = timezone.now()
        event.save(update_fields=["notified_at"])
    return True


def application_bulk_action(
    *, actor, applications: list[SchoolApplication], action: str, reason: str = ""
) -> dict[str, list]:
    """Apply one staff action to many applications, each in its own transaction; the report
    names what succeeded and why the others failed."""
    done: list[int] = []
    failed: list[dict] = []
    for application in applications:
        try:
            if action == "review":
                application_start_review(actor=actor, application=application)
            elif action in ("accept", "waitlist", "refuse"):
                application_decide(
                    actor=actor, application=application, decision=action, reason=reason
                )
            else:
                raise ApplicationError(_("Action inconnue."))
            done.append(application.pk)
        except ApplicationError as exc:
            failed.append(
                {
                    "id": application.pk,
                    "code": application.tracking_code_display,
                    "message": exc.message,
                }
            )
    return {"done": done, "failed": failed}
