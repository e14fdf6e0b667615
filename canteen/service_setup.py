"""Set-up of a daily service by the city: the service itself (opening days, site, schools,
conditions), its units and capacities, a day's seats, its deadline rules and its tariffs.

Every write is a service here: city administrators only (anybody else: 404, as a page of another
role), validated again (the forms validate at the boundary, these rules hold for any caller), in
one transaction, with an audit row (ids and the changed field names, never personal data).
Raising a day's seats gives them to the waiting list in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.core.access import require_role
from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

from .models import DeadlineRule, Service, Tariff, TariffLine, Unit, UnitDay

if TYPE_CHECKING:
    from backend.accounts.models import User
    from family.models import School

SERVICE_FIELDS = (
    "name",
    "weekdays",
    "site",
    "min_age",
    "max_age",
    "classes",
    "is_active",
    "position",
)
UNIT_FIELDS = ("name", "kind", "includes_meal", "capacity", "position")
RULE_FIELDS = (
    "days_before",
    "cutoff_time",
    "skip_weekends",
    "skip_public_holidays",
    "skip_school_holidays",
)
TARIFF_FIELDS = ("name", "mode", "valid_from", "valid_until", "unbooked_surcharge_cents")


def _admin_only(actor: User) -> None:
    require_role(actor, "admin")


def _audit(*, actor: User, action: str, target: Any, data: dict[str, Any]) -> None:
    audit_record(action=action, actor=actor, target=target, data=data)


def _apply(instance: Any, fields: tuple[str, ...], values: dict[str, Any]) -> list[str]:
    """Set the given fields; the names of those whose value changed."""
    changed = []
    for name in fields:
        if name in values and getattr(instance, name) != values[name]:
            setattr(instance, name, values[name])
            changed.append(name)
    return changed


# --- the service ---------------------------------------------------------------------------------
def _check_service(values: dict[str, Any]) -> None:
    low, high = values.get("min_age"), values.get("max_age")
    if low is not None and high is not None and low > high:
        raise ApplicationError(_("L'âge minimum dépasse l'âge maximum."))
    if any(int(w) not in range(7) for w in values.get("weekdays") or []):
        raise ApplicationError(_("Jour d'ouverture invalide."))


def service_update(
    *,
    actor: User,
    service: Service,
    schools: list[School] | None = None,
    **values: Any,
) -> Service:
    """Change a service's name, opening days, site, schools, conditions, order or activity."""
    _admin_only(actor)
    _check_service(values)
    unknown = set(values) - set(SERVICE_FIELDS)
    if unknown:
        raise ApplicationError(_("Champ inconnu : %(f)s.") % {"f": ", ".join(sorted(unknown))})
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        changed = _apply(service, SERVICE_FIELDS, values)
        if changed:
            service.save(update_fields=[*changed, "updated_at"])
        if schools is not None:
            before = set(service.schools.values_list("id", flat=True))
            after = {s.id for s in schools}
            if before != after:
                service.schools.set(schools)
                changed.append("schools")
        _audit(
            actor=actor,
            action="canteen.service.update",
            target=service,
            data={"fields": changed, "site": service.site_id},
        )
    return service


# --- units ---------------------------------------------------------------------------------------
def unit_save(
    *, actor: User, service: Service, unit: Unit | None = None, code: str = "", **values: Any
) -> Unit:
    """Create a unit of ``service`` (with its ``code``) or change one of its units."""
    _admin_only(actor)
    with transaction.atomic():
        if unit is None:
            code = (code or "").strip().upper()
            if not code:
                raise ApplicationError(_("Indiquez le code de l'unité."))
            if Unit.objects.filter(service=service, code=code).exists():
                raise ApplicationError(
                    _("Ce service a déjà une unité de code %(code)s.") % {"code": code}
                )
            unit = Unit(service=service, code=code)
            changed = _apply(unit, UNIT_FIELDS, values)
            unit.save()
            action = "canteen.unit.create"
        else:
            if unit.service_id != service.id:
                raise ApplicationError(_("Cette unité n'appartient pas à ce service."))
            unit = Unit.objects.select_for_update().get(pk=unit.pk)
            changed = _apply(unit, UNIT_FIELDS, values)
            if changed:
                unit.save(update_fields=changed)
            action = "canteen.unit.update"
        _audit(
            actor=actor,
            action=action,
            target=unit,
            data={"service": service.code, "fields": changed},
        )
    return unit


def unit_day_capacity_set(
    *, actor: User, unit: Unit, site: School, day: dt.date, capacity: int | None
) -> list[int]:
    """Set the seats of ``unit`` at ``site`` on ``day`` (``None``: the unit's capacity). Seats
    freed for the waiting list go to it at once; returns the promoted booking ids."""
    from .services import waitlist_promote

    _admin_only(actor)
    if unit.service.site_id and site.id != unit.service.site_id:
        raise ApplicationError(_("Ce service n'accueille les enfants qu'à son site."))
    with transaction.atomic():
        row, _created = UnitDay.objects.select_for_update().get_or_create(
            unit=unit, site=site, day=day
        )
        before = row.capacity
        row.capacity = capacity
        row.save(update_fields=["capacity"])
        _audit(
            actor=actor,
            action="canteen.unit_day.capacity",
            target=row,
            data={"unit": unit.code, "day": day.isoformat(), "from": before, "to": capacity},
        )
        return waitlist_promote(slots={(unit, site.id, day)})


# --- deadline rules ------------------------------------------------------------------------------
def deadline_rule_set(*, actor: User, service: Service, action: str, **values: Any) -> DeadlineRule:
    """The service's own rule for booking or cancelling (created on first change)."""
    _admin_only(actor)
    if action not in DeadlineRule.Action.values:
        raise ApplicationError(_("Action inconnue."))
    days_before = values.get("days_before")
    if days_before is not None and not 0 <= days_before <= 60:
        raise ApplicationError(_("Le délai va de 0 à 60 jours ouvrés."))
    with transaction.atomic():
        rule = (
            DeadlineRule.objects.select_for_update().filter(service=service, action=action).first()
        )
        if rule is None:
            rule = DeadlineRule(service=service, action=action)
        changed = _apply(rule, RULE_FIELDS, values)
        rule.save()
        _audit(
            actor=actor,
            action="canteen.deadline_rule.set",
            target=rule,
            data={"service": service.code, "action": action, "fields": changed},
        )
    return rule


def deadline_rule_reset(*, actor: User, service: Service, action: str) -> bool:
    """Remove the service's own rule: the city's default applies again."""
    _admin_only(actor)
    with transaction.atomic():
        deleted, _rows = DeadlineRule.objects.filter(service=service, action=action).delete()
        if deleted:
            _audit(
                actor=actor,
                action="canteen.deadline_rule.reset",
                target=service,
                data={"action": action},
            )
    return bool(deleted)


# --- tariffs -------------------------------------------------------------------------------------
def _check_tariff(service: Service, tariff: Tariff) -> None:
    if tariff.valid_from > tariff.valid_until:
        raise ApplicationError(_("La date de fin précède la date de début."))
    overlap = (
        Tariff.objects.filter(
            service=service,
            valid_from__lte=tariff.valid_until,
            valid_until__gte=tariff.valid_from,
        )
        .exclude(pk=tariff.pk)
        .first()
    )
    if overlap is not None:
        raise ApplicationError(
            _("La grille « %(name)s » couvre déjà une partie de cette période.")
            % {"name": overlap.name}
        )


def tariff_save(
    *, actor: User, service: Service, tariff: Tariff | None = None, **values: Any
) -> Tariff:
    """Create a tariff grid of ``service`` or change one of its grids (no two grids overlap)."""
    _admin_only(actor)
    with transaction.atomic():
        Service.objects.select_for_update().get(pk=service.pk)  # one grid change at a time
        if tariff is None:
            tariff = Tariff(service=service)
            action = "canteen.tariff.create"
        else:
            if tariff.service_id != service.id:
                raise ApplicationError(_("Cette grille n'appartient pas à ce service."))
            tariff = Tariff.objects.get(pk=tariff.pk)
            action = "canteen.tariff.update"
        changed = _apply(tariff, TARIFF_FIELDS, values)
        _check_tariff(service, tariff)
        tariff.save()
        _audit(
            actor=actor,
            action=action,
            target=tariff,
            data={"service": service.code, "fields": changed},
        )
    return tariff


def tariff_line_save(
    *,
    actor: User,
    tariff: Tariff,
    unit: Unit | None,
    bracket: int | None,
    sibling_rank: int,
    resident: bool,
    amount_cents: int,
) -> TariffLine:
    """Set the price of one (unit, bracket, rank, residency) of a grid (replaces that price)."""
    _admin_only(actor)
    if unit is not None and unit.service_id != tariff.service_id:
        raise ApplicationError(_("Cette unité n'appartient pas au service de la grille."))
    if sibling_rank < 1:
        raise ApplicationError(_("Le rang de l'enfant commence à 1."))
    if amount_cents < 0:
        raise ApplicationError(_("Le prix ne peut pas être négatif."))
    with transaction.atomic():
        line = (
            TariffLine.objects.select_for_update()
            .filter(
                tariff=tariff,
                unit=unit,
                bracket=bracket,
                sibling_rank=sibling_rank,
                resident=resident,
            )
            .first()
        )
        before = line.amount_cents if line else None
        if line is None:
            line = TariffLine(
                tariff=tariff,
                unit=unit,
                bracket=bracket,
                sibling_rank=sibling_rank,
                resident=resident,
                amount_cents=amount_cents,
            )
        line.amount_cents = amount_cents
        try:
            with transaction.atomic():
                line.save()
        except IntegrityError:
            raise ApplicationError(_("Ce prix existe déjà dans la grille.")) from None
        _audit(
            actor=actor,
            action="canteen.tariff_line.set",
            target=line,
            data={"tariff": tariff.id, "from": before, "to": amount_cents},
        )
    return line


def tariff_line_delete(*, actor: User, line: TariffLine) -> None:
    _admin_only(actor)
    with transaction.atomic():
        _audit(
            actor=actor,
            action="canteen.tariff_line.delete",
            target=line,
            data={"tariff": line.tariff_id, "amount_cents": line.amount_cents},
        )
        line.delete()
