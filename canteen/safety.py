"""Allergen safety: which dishes a child is served and what their allergies say about them.

Rule of the house: an allergen the menu does not state is UNKNOWN, and unknown is never safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from backend.core.allergens import ALLERGEN_CODES, Allergen

from .models import COURSE_ORDER, AllergenPresence, Dish, Variant

if TYPE_CHECKING:
    from family.models import CarePlan

SEVERITY: dict[str, int] = {
    AllergenPresence.FREE: 0,
    AllergenPresence.UNKNOWN: 1,
    AllergenPresence.MAY_CONTAIN: 2,
    AllergenPresence.CONTAINS: 3,
}


class Level:
    NO_ALLERGY = "no_allergy"
    PACKED_LUNCH = "packed_lunch"
    SAFE = "safe"
    UNKNOWN = "unknown"
    MAY_CONTAIN = "may_contain"
    CONTAINS = "contains"


WARNING_LEVELS = frozenset({Level.UNKNOWN, Level.MAY_CONTAIN, Level.CONTAINS})
KNOWN_ALLERGENS = frozenset(ALLERGEN_CODES)
_LABELS = dict(Allergen.choices)  # lazy labels: translated when turned into text


def allergen_label(code: str) -> str:
    return str(_LABELS.get(code, code))


def child_variant(*, diet: str, packed_lunch_pai: bool) -> str:
    """The variant a child is booked on: a PAI with packed lunch always wins."""
    if packed_lunch_pai or diet == Variant.PACKED_LUNCH:
        return Variant.PACKED_LUNCH
    if diet in (Variant.VEGETARIAN, Variant.NO_PORK):
        return diet
    return Variant.STANDARD


def active_packed_lunch(care_plans: Iterable, day: dt.date) -> bool:
    return any(p.packed_lunch and p.valid_from <= day <= p.valid_until for p in care_plans)


def active_care_plan(care_plans: Iterable[CarePlan], day: dt.date) -> CarePlan | None:
    for plan in care_plans:
        if plan.valid_from <= day <= plan.valid_until:
            return plan
    return None


def served_dishes(dishes: Iterable[Dish], variant: str) -> list[Dish]:
    """Per course, the dish of the child's variant, else the standard dish. Packed lunch: none."""
    if variant == Variant.PACKED_LUNCH:
        return []
    by_course: dict[str, dict[str, Dish]] = {}
    for dish in dishes:
        by_course.setdefault(dish.course, {})[dish.variant] = dish
    served = []
    for course in COURSE_ORDER:
        options = by_course.get(course)
        if not options:
            continue
        chosen = options.get(variant) or options.get(Variant.STANDARD)
        if chosen is not None:
            served.append(chosen)
    return served


@dataclass
class Finding:
    allergen: str
    label: str
    presence: str
    dishes: list[str] = field(default_factory=list)


@dataclass
class SafetyCheck:
    level: str
    message: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def warn(self) -> bool:
        return self.level in WARNING_LEVELS


def check_menu(*, allergies: Iterable[str], variant: str, dishes: list[Dish] | None) -> SafetyCheck:
    """Check the dishes a child is served against the child's allergies.

    ``dishes`` is ``None`` when no menu is published for the day: everything is unknown.
    """
    codes = [a for a in dict.fromkeys(allergies) if a in KNOWN_ALLERGENS]
    if variant == Variant.PACKED_LUNCH:
        return SafetyCheck(Level.PACKED_LUNCH, _("Panier-repas fourni par la famille (PAI)."))
    if not codes:
        return SafetyCheck(Level.NO_ALLERGY, "")
    if not dishes:
        findings = [Finding(c, allergen_label(c), AllergenPresence.UNKNOWN) for c in codes]
        return SafetyCheck(
            Level.UNKNOWN,
            _("Menu non publié : allergènes inconnus (%(list)s). À vérifier avant le repas.")
            % {"list": ", ".join(f.label for f in findings)},
            findings,
        )
    served = served_dishes(dishes, variant)
    findings = [_worst(code, served) for code in codes]
    if not served:
        for f in findings:
            f.presence = AllergenPresence.UNKNOWN
    return _verdict(findings)


def _worst(code: str, served: list[Dish]) -> Finding:
    """The worst presence of one allergen among the served dishes, with the dishes that have it."""
    worst: str = AllergenPresence.FREE
    names: list[str] = []
    for dish in served:
        presence = dish.presence(code)
        if SEVERITY[presence] > SEVERITY[worst]:
            worst, names = presence, [dish.name]
        elif presence == worst and presence != AllergenPresence.FREE:
            names.append(dish.name)
    return Finding(code, allergen_label(code), worst, names)


def _verdict(findings: list[Finding]) -> SafetyCheck:
    """The check of the worst finding, naming the allergens (and dishes) at that level."""
    top = max((f.presence for f in findings), key=lambda p: SEVERITY[p])
    bad = [f for f in findings if f.presence == top]
    detail = "; ".join(f"{f.label} ({', '.join(f.dishes)})" if f.dishes else f.label for f in bad)
    if top == AllergenPresence.CONTAINS:
        return SafetyCheck(
            Level.CONTAINS, _("Contient : %(detail)s.") % {"detail": detail}, findings
        )
    if top == AllergenPresence.MAY_CONTAIN:
        return SafetyCheck(
            Level.MAY_CONTAIN, _("Peut contenir : %(detail)s.") % {"detail": detail}, findings
        )
    if top == AllergenPresence.UNKNOWN:
        return SafetyCheck(
            Level.UNKNOWN,
            _("Allergènes non renseignés : %(detail)s. À vérifier.") % {"detail": detail},
            findings,
        )
    return SafetyCheck(Level.SAFE, _("Sans vos allergènes d'après le menu publié."), findings)


def kitchen_action(*, check: SafetyCheck, pai_instructions: str | None) -> str:
    """What the kitchen must do for this child today, in one sentence."""
    parts = []
    if check.level == Level.PACKED_LUNCH:
        parts.append(
            _(
                "Panier-repas apporté par la famille : ne rien servir d'autre, le conserver au froid."
            )
        )
    elif check.level == Level.CONTAINS:
        parts.append(
            _("Ne pas servir les plats signalés — prévoir un plat de substitution. %(m)s")
            % {"m": check.message}
        )
    elif check.level == Level.MAY_CONTAIN:
        parts.append(
            _("Risque de traces — vérifier avec la cuisine avant de servir. %(m)s")
            % {"m": check.message}
        )
    elif check.level == Level.UNKNOWN:
        parts.append(
            _("Allergènes inconnus — vérifier la fiche technique avant de servir. %(m)s")
            % {"m": check.message}
        )
    elif check.level == Level.SAFE:
        parts.append(_("Menu sans ses allergènes : servir normalement."))
    if pai_instructions:
        parts.append(_("PAI : %(i)s") % {"i": pai_instructions})
    return " ".join(parts)
