"""Canteen: menus with allergens, deadline rules, bookings, attendance rolls and tariffs.

Money is integer cents plus a currency. Calendar dates are ``date``s (school days).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.core.allergens import Allergen
from backend.core.models import TimeStampedModel
from family.models import Child, School


class AllergenPresence(models.TextChoices):
    """What a dish says about one allergen. A missing entry means UNKNOWN: never shown as free."""

    CONTAINS = "contains", _("Contient")
    MAY_CONTAIN = "may_contain", _("Peut contenir (traces)")
    FREE = "free", _("Sans")
    UNKNOWN = "unknown", _("Inconnu")


class Variant(models.TextChoices):
    """Meal variants a kitchen prepares. Diets, never religions."""

    STANDARD = "standard", _("Standard")
    VEGETARIAN = "vegetarian", _("Végétarien")
    NO_PORK = "no_pork", _("Sans porc")
    PACKED_LUNCH = "packed_lunch", _("Panier-repas (PAI)")


class DeadlineRule(models.Model):
    """When a meal can still be booked or cancelled: J-n working days before, at a cut-off time.

    One rule per action for the city running this Minot instance.
    """

    class Action(models.TextChoices):
        BOOK = "book", _("Réservation")
        CANCEL = "cancel", _("Annulation")

    action = models.CharField(_("action"), max_length=8, choices=Action.choices, unique=True)
    days_before = models.PositiveSmallIntegerField(
        _("jours ouvrés avant (J-n)"),
        default=2,
        help_text=_("0 = le jour même avant l'heure limite"),
    )
    cutoff_time = models.TimeField(_("heure limite"), default=dt.time(10, 0))
    skip_weekends = models.BooleanField(_("ne pas compter les week-ends"), default=True)
    skip_public_holidays = models.BooleanField(_("ne pas compter les jours fériés"), default=True)
    skip_school_holidays = models.BooleanField(
        _("ne pas compter les vacances scolaires et jours sans école"), default=False
    )

    class Meta:
        verbose_name = _("règle de délai")
        verbose_name_plural = _("règles de délai")
        constraints = [
            models.CheckConstraint(condition=Q(days_before__lte=60), name="deadline_days_max_60")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} : J-{self.days_before} {self.cutoff_time:%H:%M}"


class Menu(TimeStampedModel):
    """The menu of one school day. ``school`` empty: the central kitchen's menu for every school;
    a school's own menu replaces it for that school."""

    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="menus",
        verbose_name=_("école"),
    )
    day = models.DateField(_("jour"), db_index=True)
    published = models.BooleanField(_("publié"), default=False)
    published_at = models.DateTimeField(_("publié le"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("menu")
        verbose_name_plural = _("menus")
        constraints = [
            models.UniqueConstraint(fields=["school", "day"], name="menu_unique_school_day"),
            models.UniqueConstraint(
                fields=["day"], condition=Q(school__isnull=True), name="menu_unique_citywide_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} · {self.school or _('toutes les écoles')}"


class Dish(models.Model):
    class Course(models.TextChoices):
        STARTER = "starter", _("Entrée")
        MAIN = "main", _("Plat")
        SIDE = "side", _("Accompagnement")
        DAIRY = "dairy", _("Produit laitier")
        DESSERT = "dessert", _("Dessert")

    menu = models.ForeignKey(Menu, on_delete=models.CASCADE, related_name="dishes")
    course = models.CharField(_("service"), max_length=10, choices=Course.choices)
    variant = models.CharField(
        _("variante"),
        max_length=16,
        choices=Variant.choices,
        default=Variant.STANDARD,
        help_text=_("Un plat d'une variante remplace le plat standard du même service."),
    )
    name = models.CharField(_("nom"), max_length=200)
    # {allergen code: AllergenPresence}; an allergen absent from the dict is UNKNOWN.
    allergens = models.JSONField(_("allergènes"), default=dict, blank=True)

    class Meta:
        ordering = ["menu", "course", "variant", "id"]
        verbose_name = _("plat")
        verbose_name_plural = _("plats")
        constraints = [
            models.UniqueConstraint(
                fields=["menu", "course", "variant"], name="dish_unique_course_variant"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def presence(self, allergen: str) -> str:
        value = (self.allergens or {}).get(allergen)
        return value if value in _STATED else AllergenPresence.UNKNOWN


COURSE_ORDER = [c.value for c in Dish.Course]
_STATED = frozenset(
    {
        AllergenPresence.CONTAINS.value,
        AllergenPresence.MAY_CONTAIN.value,
        AllergenPresence.FREE.value,
    }
)


class Booking(TimeStampedModel):
    """A meal booked for a child on a school day. One row per (child, day): cancelling keeps the
    row with ``status=cancelled``, booking again revives it. The constraint makes double-clicks
    create one booking."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Réservé")
        CANCELLED = "cancelled", _("Annulé")

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="meal_bookings")
    day = models.DateField(_("jour"))
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.BOOKED
    )
    variant = models.CharField(
        _("variante"), max_length=16, choices=Variant.choices, default=Variant.STANDARD
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)

    class Meta:
        ordering = ["day", "child_id"]
        verbose_name = _("réservation de repas")
        verbose_name_plural = _("réservations de repas")
        constraints = [
            models.UniqueConstraint(fields=["child", "day"], name="booking_unique_child_day")
        ]
        indexes = [models.Index(fields=["day", "status"], name="booking_day_status")]

    def __str__(self) -> str:
        return f"{self.child} · {self.day} ({self.get_status_display()})"


class AttendanceRoll(models.Model):
    """The canteen roll of one school on one day. Once taken it locks the day for billing."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="canteen_rolls")
    day = models.DateField(_("jour"))
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(_("pris le"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("appel de cantine")
        verbose_name_plural = _("appels de cantine")
        constraints = [
            models.UniqueConstraint(fields=["school", "day"], name="roll_unique_school_day")
        ]

    def __str__(self) -> str:
        return f"{self.school} · {self.day}"


class AttendanceRecord(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Présent")
        ABSENT_JUSTIFIED = "absent_justified", _("Absent justifié")
        ABSENT_UNJUSTIFIED = "absent_unjustified", _("Absent non justifié")
        PRESENT_UNBOOKED = "present_unbooked", _("Présent sans réservation")

    roll = models.ForeignKey(AttendanceRoll, on_delete=models.CASCADE, related_name="records")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="canteen_attendance")
    day = models.DateField(_("jour"))  # copy of roll.day, for set-based billing queries
    status = models.CharField(_("présence"), max_length=20, choices=Status.choices)
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    variant = models.CharField(
        _("variante"), max_length=16, choices=Variant.choices, default=Variant.STANDARD
    )

    class Meta:
        ordering = ["roll", "child_id"]
        verbose_name = _("présence")
        verbose_name_plural = _("présences")
        constraints = [
            models.UniqueConstraint(fields=["roll", "child"], name="record_unique_roll_child"),
            models.UniqueConstraint(fields=["child", "day"], name="record_unique_child_day"),
        ]
        indexes = [models.Index(fields=["day"], name="record_day")]

    def __str__(self) -> str:
        return f"{self.child_id} · {self.day} · {self.status}"


class Tariff(models.Model):
    """A tariff grid in force over a validity period."""

    name = models.CharField(_("nom"), max_length=120)
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    currency = models.CharField(_("devise"), max_length=3, default="EUR")
    packed_lunch_cents = models.PositiveIntegerField(_("prix panier-repas PAI (centimes)"))
    unbooked_surcharge_cents = models.PositiveIntegerField(
        _("majoration repas non réservé (centimes)")
    )

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("grille tarifaire")
        verbose_name_plural = _("grilles tarifaires")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__lte=models.F("valid_until")), name="tariff_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.valid_from} → {self.valid_until})"


class TariffLine(models.Model):
    """One price of the grid. ``bracket`` empty: the full price (no validated income assessment).
    ``sibling_rank`` is the child's rank among the household's schoolchildren (the highest rank of
    the grid applies to every later child)."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="lines")
    bracket = models.PositiveSmallIntegerField(_("tranche"), null=True, blank=True)
    sibling_rank = models.PositiveSmallIntegerField(_("rang de l'enfant"), default=1)
    resident = models.BooleanField(_("résident"), default=True)
    amount_cents = models.PositiveIntegerField(_("prix (centimes)"))

    class Meta:
        ordering = ["tariff", "resident", "bracket", "sibling_rank"]
        verbose_name = _("ligne tarifaire")
        verbose_name_plural = _("lignes tarifaires")
        constraints = [
            models.UniqueConstraint(
                fields=["tariff", "bracket", "sibling_rank", "resident"], name="tariffline_unique"
            ),
            models.UniqueConstraint(
                fields=["tariff", "sibling_rank", "resident"],
                condition=Q(bracket__isnull=True),
                name="tariffline_unique_full_price",
            ),
            models.CheckConstraint(condition=Q(sibling_rank__gte=1), name="tariffline_rank_min_1"),
        ]

    def __str__(self) -> str:
        return f"{self.bracket or '-'} · {self.sibling_rank} · {self.amount_cents}"


ALLERGEN_CODES = tuple(Allergen.values)
