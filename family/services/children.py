"""Children: identity (edited directly), health and guardians' rights (through change requests
that staff validate), and audited staff reads."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.access import is_parent
from backend.core.allergens import Allergen
from backend.core.exceptions import ApplicationError
from backend.core.text import source_text

from ..models import CarePlan, ChangeRequest, Child, ChildGuardian, Document, Guardian, Household
from .common import audit, notify_guardians

if TYPE_CHECKING:
    from backend.accounts.models import User

    from ..models import School


def _validate_birth_date(birth_date: dt.date) -> None:
    today = timezone.localdate()
    if birth_date > today:
        raise ApplicationError(_("La date de naissance ne peut pas être dans le futur."))
    if birth_date < today - relativedelta(years=18):
        raise ApplicationError(_("Le portail concerne les enfants de moins de 18 ans."))


def _validate_allergies(allergies: Any) -> list[str]:
    if not isinstance(allergies, list | tuple):
        raise ApplicationError(_("Les allergies doivent être une liste de codes."))
    unknown = [a for a in allergies if a not in Allergen.values]
    if unknown:
        raise ApplicationError(
            _("Allergène inconnu : %(codes)s.") % {"codes": ", ".join(map(str, unknown))},
            {"allowed": list(Allergen.values)},
        )
    return sorted(set(allergies), key=list(Allergen.values).index)


def child_create(
    *,
    actor: User,
    household: Household,
    first_name: str,
    last_name: str,
    birth_date: dt.date,
    school: School | None = None,
    class_name: str = "",
    allergies: list[str] | None = None,
    diet: str = Child.Diet.STANDARD,
    custody: str = Child.Custody.JOINT,
) -> Child:
    """Add a child; every guardian of the household gets rights on it (the creator pays)."""
    first_name, last_name = (first_name or "").strip()[:100], (last_name or "").strip()[:100]
    if not first_name or not last_name:
        raise ApplicationError(_("Indiquez le prénom et le nom de l'enfant."))
    _validate_birth_date(birth_date)
    allergies = _validate_allergies(allergies or [])
    if diet not in Child.Diet.values:
        raise ApplicationError(_("Régime inconnu."))
    if custody not in Child.Custody.values:
        raise ApplicationError(_("Mode de garde inconnu."))
    with transaction.atomic():
        child = Child.objects.create(
            household=household,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            school=school,
            class_name=(class_name or "")[:40],
            allergies=allergies,
            diet=diet,
            custody=custody,
        )
        guardians = list(Guardian.objects.filter(household=household))
        creator = next((g for g in guardians if g.user_id == getattr(actor, "pk", None)), None)
        ChildGuardian.objects.bulk_create(
            [
                ChildGuardian(
                    child=child,
                    guardian=g,
                    billing_payer=(g == creator) or (creator is None and i == 0),
                    billing_share_percent=100
                    if (g == creator) or (creator is None and i == 0)
                    else 0,
                )
                for i, g in enumerate(guardians)
            ]
        )
        audit(action="family.child.create", actor=actor, target=child, household_id=household.pk)
    return child


def child_update_identity(
    *,
    actor: User,
    child: Child,
    first_name: str | None = None,
    last_name: str | None = None,
    birth_date: dt.date | None = None,
    class_name: str | None = None,
) -> Child:
    """Identity is edited directly (a typo is not sensitive); the class only by staff."""
    changes: dict[str, Any] = {}
    if first_name is not None:
        if not first_name.strip():
            raise ApplicationError(_("Le prénom ne peut pas être vide."))
        changes["first_name"] = first_name.strip()[:100]
    if last_name is not None:
        if not last_name.strip():
            raise ApplicationError(_("Le nom ne peut pas être vide."))
        changes["last_name"] = last_name.strip()[:100]
    if birth_date is not None:
        _validate_birth_date(birth_date)
        changes["birth_date"] = birth_date
    if class_name is not None:
        if is_parent(actor):
            raise ApplicationError(_("La classe est renseignée par l'école."))
        changes["class_name"] = class_name.strip()[:40]
    if not changes:
        return child
    with transaction.atomic():
        previous = {k: str(getattr(child, k)) for k in changes}
        for key, value in changes.items():
            setattr(child, key, value)
        child.save(update_fields=[*changes, "updated_at"])
        audit(
            action="family.child.update",
            actor=actor,
            target=child,
            household_id=child.household_id,
            data={"previous": previous, "new": {k: str(v) for k, v in changes.items()}},
        )
    return child


def child_record_read(*, actor: User, child: Child, via: str = "page") -> None:
    """Staff reading a child's record leaves an audit row (parents reading their own do not)."""
    if is_parent(actor):
        return
    audit(
        action="family.child.read",
        actor=actor,
        target=child,
        household_id=child.household_id,
        data={"via": via},
        family_side=False,
    )


# --- change requests --------------------------------------------------------------------------

GUARDIANSHIP_FIELDS = {
    "legal_guardian": bool,
    "billing_payer": bool,
    "may_pick_up": bool,
    "receives_notifications": bool,
    "custody_weeks": str,
    "billing_share_percent": int,
}


def _validate_address_changes(*, household: Household, changes: dict) -> tuple[dict, dict]:
    clean: dict[str, Any] = {}
    for key, size in (("address_line", 255), ("postal_code", 10), ("city", 100)):
        if key in changes:
            text = str(changes[key] or "").strip()
            if not text:
                raise ApplicationError(
                    _("L'adresse, le code postal et la ville ne peuvent pas être vides.")
                )
            clean[key] = text[:size]
    if not clean:
        raise ApplicationError(_("Aucune modification demandée."))
    return clean, {k: getattr(household, k) for k in clean}


def _validate_care_plan(*, household: Household, plan: dict | None) -> dict:
    plan = plan or {}
    try:
        start = dt.date.fromisoformat(str(plan.get("valid_from")))
        end = dt.date.fromisoformat(str(plan.get("valid_until")))
    except ValueError:
        raise ApplicationError(_("Indiquez les dates de validité du PAI (AAAA-MM-JJ)."))
    if start > end:
        raise ApplicationError(_("La fin de validité du PAI doit suivre son début."))
    document_id = plan.get("document_id")
    if (
        document_id is not None
        and not Document.objects.filter(pk=document_id, household=household).exists()
    ):
        raise ApplicationError(_("Document PAI introuvable."))
    return {
        "valid_from": start.isoformat(),
        "valid_until": end.isoformat(),
        "packed_lunch": bool(plan.get("packed_lunch")),
        "instructions": str(plan.get("instructions") or "")[:2000],
        "doctor_name": str(plan.get("doctor_name") or "")[:200],
        "document_id": document_id,
    }


def _validate_health_changes(
    *, household: Household, child: Child, changes: dict
) -> tuple[dict, dict]:
    clean: dict[str, Any] = {}
    if "allergies" in changes:
        clean["allergies"] = _validate_allergies(changes["allergies"])
    if "diet" in changes:
        if changes["diet"] not in Child.Diet.values:
            raise ApplicationError(_("Régime inconnu."))
        clean["diet"] = changes["diet"]
    if "care_plan" in changes:
        clean["care_plan"] = _validate_care_plan(household=household, plan=changes["care_plan"])
    if not clean:
        raise ApplicationError(_("Aucune modification demandée."))
    previous = {"allergies": child.allergies, "diet": child.diet}
    return clean, previous


def _validate_guardianship_value(kind: type, value: Any) -> Any:
    """One right of a guardianship row, checked against its kind in GUARDIANSHIP_FIELDS."""
    if kind is bool:
        return bool(value)
    if kind is int:
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ApplicationError(_("La part des frais doit être un nombre entre 0 et 100."))
        if not 0 <= value <= 100:
            raise ApplicationError(_("La part des frais doit être un nombre entre 0 et 100."))
        return value
    if value not in ChildGuardian.Weeks.values:
        raise ApplicationError(_("Semaines de garde inconnues."))
    return value


def _validate_guardianship_row(*, child: Child, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ApplicationError(_("Droits des responsables invalides."))
    try:
        guardianship = ChildGuardian.objects.get(pk=int(row.get("id") or 0), child=child)
    except (ChildGuardian.DoesNotExist, TypeError, ValueError):
        raise ApplicationError(_("Responsable inconnu pour cet enfant."))
    item: dict[str, Any] = {"id": guardianship.pk}
    for key, kind in GUARDIANSHIP_FIELDS.items():
        if key in row:
            item[key] = _validate_guardianship_value(kind, row[key])
    return item


def _validate_guardians_changes(*, child: Child, changes: dict) -> tuple[dict, dict]:
    clean: dict[str, Any] = {}
    if "custody" in changes:
        if changes["custody"] not in Child.Custody.values:
            raise ApplicationError(_("Mode de garde inconnu."))
        clean["custody"] = changes["custody"]
    rows = [
        _validate_guardianship_row(child=child, row=row)
        for row in changes.get("guardianships") or []
    ]
    if rows:
        clean["guardianships"] = rows
    if not clean:
        raise ApplicationError(_("Aucune modification demandée."))
    previous = {
        "custody": child.custody,
        "guardianships": [
            {"id": g.pk, **{k: getattr(g, k) for k in GUARDIANSHIP_FIELDS}}
            for g in ChildGuardian.objects.filter(child=child)
        ],
    }
    return clean, previous


def _validate_changes(
    *, household: Household, child: Child | None, category: str, changes: dict
) -> tuple[dict, dict]:
    """Check a change request's payload; answer (clean changes, previous values)."""
    if not isinstance(changes, dict) or not changes:
        raise ApplicationError(_("Aucune modification demandée."))
    C = ChangeRequest.Category
    if category == C.ADDRESS:
        return _validate_address_changes(household=household, changes=changes)
    if child is None:
        raise ApplicationError(_("Choisissez l'enfant concerné."))
    if category == C.HEALTH:
        return _validate_health_changes(household=household, child=child, changes=changes)
    if category == C.GUARDIANS:
        return _validate_guardians_changes(child=child, changes=changes)
    raise ApplicationError(_("Catégorie de modification inconnue."))


def change_request_create(
    *, actor: User, household: Household, category: str, changes: dict, child: Child | None = None
) -> ChangeRequest:
    """Record a change of sensitive data; it applies once staff validate it. A new address or
    guardians request replaces the pending one for the same subject. Health declarations are
    never replaced: each one counts for the kitchen at once and stays until staff validate or
    reject it (safety rule: nothing a family declared disappears silently)."""
    if child is not None and child.household_id != household.pk:
        raise ApplicationError(_("Cet enfant n'appartient pas à ce foyer."))
    clean, previous = _validate_changes(
        household=household, child=child, category=category, changes=changes
    )
    with transaction.atomic():
        if category != ChangeRequest.Category.HEALTH:
            ChangeRequest.objects.filter(
                household=household,
                child=child,
                category=category,
                state=ChangeRequest.State.PENDING,
            ).update(state=ChangeRequest.State.CANCELLED, handled_at=timezone.now())
        request = ChangeRequest.objects.create(
            household=household,
            child=child,
            category=category,
            changes=clean,
            previous=previous,
            requested_by=actor,
        )
        audit(
            action="family.change_request.create",
            actor=actor,
            target=request,
            household_id=household.pk,
            data={"category": category, "changes": clean},
        )
    return request


def change_request_approve(*, actor: User, change_request: ChangeRequest) -> ChangeRequest:
    with transaction.atomic():
        locked = (
            ChangeRequest.objects.select_for_update(of=("self",))
            .select_related("household", "child")
            .get(pk=change_request.pk)
        )
        if locked.state != ChangeRequest.State.PENDING:
            raise ApplicationError(_("Cette demande a déjà été traitée."))
        _apply(locked)
        locked.state = ChangeRequest.State.APPROVED
        locked.handled_by = actor
        locked.handled_at = timezone.now()
        locked.save(update_fields=["state", "handled_by", "handled_at", "updated_at"])
        audit(
            action="family.change_request.approve",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
            data={"category": locked.category, "changes": locked.changes},
            family_side=False,
        )
        notify_guardians(
            household=locked.household,
            subject_key=gettext_noop("Modification validée : %(category)s"),
            params={"category_key": source_text(ChangeRequest.Category(locked.category).label)},
        )
    return locked


def _apply(request: ChangeRequest) -> None:
    C = ChangeRequest.Category
    changes = request.changes
    if request.category == C.ADDRESS:
        household = request.household
        for key, value in changes.items():
            setattr(household, key, value)
        household.save(update_fields=[*changes, "updated_at"])
        return
    child = request.child
    assert child is not None, "health and guardians requests name a child"
    if request.category == C.HEALTH:
        fields = [k for k in ("allergies", "diet") if k in changes]
        for key in fields:
            setattr(child, key, changes[key])
        if fields:
            child.save(update_fields=[*fields, "updated_at"])
        if "care_plan" in changes:
            plan = changes["care_plan"]
            CarePlan.objects.create(
                child=child,
                valid_from=dt.date.fromisoformat(plan["valid_from"]),
                valid_until=dt.date.fromisoformat(plan["valid_until"]),
                packed_lunch=plan["packed_lunch"],
                instructions=plan["instructions"],
                doctor_name=plan["doctor_name"],
                document_id=plan.get("document_id"),
            )
        return
    if request.category == C.GUARDIANS:
        if "custody" in changes:
            child.custody = changes["custody"]
            child.save(update_fields=["custody", "updated_at"])
        for row in changes.get("guardianships", []):
            guardianship = ChildGuardian.objects.filter(pk=row["id"], child=child).first()
            if guardianship is None:
                raise ApplicationError(
                    _(
                        "Un responsable a quitté le foyer depuis la demande : elle ne peut plus s'appliquer."
                    )
                )
            fields = [k for k in GUARDIANSHIP_FIELDS if k in row]
            for key in fields:
                setattr(guardianship, key, row[key])
            guardianship.save(update_fields=fields)


def change_request_reject(
    *, actor: User, change_request: ChangeRequest, reason: str
) -> ChangeRequest:
    reason = (reason or "").strip()[:300]
    if not reason:
        raise ApplicationError(_("Indiquez le motif du refus."))
    with transaction.atomic():
        locked = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if locked.state != ChangeRequest.State.PENDING:
            raise ApplicationError(_("Cette demande a déjà été traitée."))
        locked.state = ChangeRequest.State.REJECTED
        locked.reason = reason
        locked.handled_by = actor
        locked.handled_at = timezone.now()
        locked.save(update_fields=["state", "reason", "handled_by", "handled_at", "updated_at"])
        audit(
            action="family.change_request.reject",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
            data={"reason": reason},
            family_side=False,
        )
        notify_guardians(
            household=locked.household,
            subject_key=gettext_noop("Modification refusée : %(category)s"),
            params={"category_key": source_text(ChangeRequest.Category(locked.category).label)},
            body=reason,
        )
    return locked


def change_request_cancel(*, actor: User, change_request: ChangeRequest) -> ChangeRequest:
    with transaction.atomic():
        locked = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
        if locked.state != ChangeRequest.State.PENDING:
            raise ApplicationError(_("Cette demande a déjà été traitée."))
        if locked.category == ChangeRequest.Category.HEALTH:
            raise ApplicationError(
                _(
                    "Une déclaration de santé ne peut pas être retirée : envoyez une nouvelle "
                    "déclaration, l'équipe la validera."
                )
            )
        locked.state = ChangeRequest.State.CANCELLED
        locked.handled_at = timezone.now()
        locked.save(update_fields=["state", "handled_at", "updated_at"])
        audit(
            action="family.change_request.cancel",
            actor=actor,
            target=locked,
            household_id=locked.household_id,
        )
    return locked


def household_record_read(*, actor: User, household: Household, via: str = "page") -> None:
    """Staff opening a family's record (its children listed) leaves an audit row."""
    if is_parent(actor):
        return
    audit(
        action="family.household.read",
        actor=actor,
        target=household,
        household_id=household.pk,
        data={"via": via},
        family_side=False,
    )
