"""Daily services: canteen, morning and evening care, study, Wednesday and holiday centres.

A *service* (``Service``) has *units* (``Unit``: a meal, a morning, a full day...). A child's
``Booking`` is one unit of one service on one day; the roll (``AttendanceRoll``) of a site, service
and day locks billing; tariffs (``Tariff``) and deadline rules (``DeadlineRule``) belong to a
service. The canteen is one service (kind ``canteen``) with menus, allergens and PAI on top.

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


CANTEEN_CODE = "CANTINE"
CANTEEN_MEAL_CODE = "REPAS"


class Service(TimeStampedModel):
    """A daily service families book by day: its kind decides its opening days and staff ratios."""

    class Kind(models.TextChoices):
        CANTEEN = "canteen", _("Restauration scolaire")
        MORNING_CARE = "morning_care", _("Accueil du matin")
        EVENING_CARE = "evening_care", _("Accueil du soir")
        STUDY = "study", _("Étude surveillée")
        WEDNESDAY_CENTRE = "wednesday_centre", _("Centre de loisirs du mercredi")
        HOLIDAY_CENTRE = "holiday_centre", _("Centre de loisirs des vacances")

    code = models.CharField(
        _("code service"),
        max_length=16,
        unique=True,
        help_text=_("Code repris sur les factures et l'export du Trésor public."),
    )
    name = models.CharField(_("nom"), max_length=120)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    weekdays = models.JSONField(
        _("jours d'ouverture"),
        default=list,
        blank=True,
        help_text=_("0 = lundi … 4 = vendredi ; vide = du lundi au vendredi."),
    )
    site = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosted_services",
        verbose_name=_("lieu d'accueil"),
        help_text=_("Vide : à l'école de l'enfant. Sinon le site qui accueille tous les enfants."),
    )
    schools = models.ManyToManyField(
        School,
        blank=True,
        related_name="daily_services",
        verbose_name=_("écoles concernées"),
        help_text=_("Vide : toutes les écoles."),
    )
    min_age = models.PositiveSmallIntegerField(_("âge minimum (ans)"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(_("âge maximum (ans)"), null=True, blank=True)
    classes = models.JSONField(
        _("classes admises"), default=list, blank=True, help_text=_("Vide : toutes les classes.")
    )
    is_active = models.BooleanField(_("actif"), default=True)
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def is_canteen(self) -> bool:
        return self.kind == self.Kind.CANTEEN

    @property
    def extrascolaire(self) -> bool:
        """Holiday centres run outside school time (stricter staff ratios)."""
        return self.kind == self.Kind.HOLIDAY_CENTRE

    def open_weekdays(self) -> set[int]:
        return {int(w) for w in (self.weekdays or [])} or {0, 1, 2, 3, 4}


class Unit(models.Model):
    """What is booked for one day: a meal, a morning, a full day, a half-day with meal..."""

    class Kind(models.TextChoices):
        MEAL = "meal", _("Repas")
        MORNING = "morning", _("Matin")
        AFTERNOON = "afternoon", _("Après-midi")
        EVENING = "evening", _("Soir")
        FULL_DAY = "full_day", _("Journée")
        HALF_DAY_MEAL = "half_day_meal", _("Demi-journée avec repas")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="units")
    code = models.CharField(_("code"), max_length=16)
    name = models.CharField(_("nom"), max_length=120)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    includes_meal = models.BooleanField(
        _("comprend un repas"), default=False, help_text=_("Compté dans la prévision cuisine.")
    )
    capacity = models.PositiveIntegerField(
        _("places par jour et par site"), null=True, blank=True, help_text=_("Vide : sans limite.")
    )
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        ordering = ["service", "position", "id"]
        verbose_name = _("unité")
        verbose_name_plural = _("unités")
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="unit_unique_service_code")
        ]

    def __str__(self) -> str:
        return f"{self.service.code} · {self.name}"


class UnitDay(models.Model):
    """The seats of one unit at one site on one day: the row locked while booking (no overselling)
    and where staff change that day's capacity."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="days")
    site = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("jour"))
    capacity = models.PositiveIntegerField(
        _("places ce jour"), null=True, blank=True, help_text=_("Vide : la capacité de l'unité.")
    )

    class Meta:
        verbose_name = _("places d'un jour")
        verbose_name_plural = _("places par jour")
        constraints = [
            models.UniqueConstraint(fields=["unit", "site", "day"], name="unitday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} · {self.site_id} · {self.day}"


def canteen_service_id() -> int:
    """The canteen service (created by migration 0003; recreated if a test flushed it)."""
    service, _created = Service.objects.get_or_create(
        code=CANTEEN_CODE,
        defaults={"name": "Restauration scolaire", "kind": Service.Kind.CANTEEN},
    )
    return service.pk


def canteen_unit_id() -> int:
    unit, _created = Unit.objects.get_or_create(
        service_id=canteen_service_id(),
        code=CANTEEN_MEAL_CODE,
        defaults={"name": "Repas", "kind": Unit.Kind.MEAL, "includes_meal": True},
    )
    return unit.pk


class DeadlineRule(models.Model):
    """When a meal can still be booked or cancelled: J-n working days before, at a cut-off time.

    One rule per service and action; a rule without a service is the city's default for every
    service that has none of its own.
    """

    class Action(models.TextChoices):
        BOOK = "book", _("Réservation")
        CANCEL = "cancel", _("Annulation")

    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deadline_rules",
        verbose_name=_("service"),
        help_text=_("Vide : règle par défaut de la ville."),
    )
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
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
            models.CheckConstraint(condition=Q(days_before__lte=60), name="deadline_days_max_60"),
            models.UniqueConstraint(
                fields=["service", "action"], name="deadline_unique_service_action"
            ),
            models.UniqueConstraint(
                fields=["action"],
                condition=Q(service__isnull=True),
                name="deadline_unique_default_action",
            ),
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
    """One unit of a service booked for a child on a day. One row per (child, service, day):
    cancelling keeps the row with ``status=cancelled``, booking again revives it; a full unit puts
    the request on the waiting list (``status=waiting``). The constraint makes double-clicks create
    one booking. ``price_rank`` / ``price_resident`` freeze the sibling rank and residency that
    price the day (set when booked, re-frozen when the roll is taken)."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Réservé")
        CANCELLED = "cancelled", _("Annulé")
        WAITING = "waiting", _("Liste d'attente")

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="meal_bookings")
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="bookings", default=canteen_service_id
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="bookings", default=canteen_unit_id
    )
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
    price_rank = models.PositiveSmallIntegerField(_("rang figé"), null=True, blank=True)
    price_resident = models.BooleanField(_("résidence figée"), null=True, blank=True)
    # Set when a waiting request gets a seat; the family is told once per promotion.
    promoted_at = models.DateTimeField(_("sorti de la liste d'attente le"), null=True, blank=True)
    promotion_notified_at = models.DateTimeField(_("famille prévenue le"), null=True, blank=True)

    class Meta:
        ordering = ["day", "child_id"]
        verbose_name = _("réservation")
        verbose_name_plural = _("réservations")
        constraints = [
            models.UniqueConstraint(
                fields=["child", "service", "day"], name="booking_unique_child_service_day"
            )
        ]
        indexes = [
            models.Index(fields=["day", "status"], name="booking_day_status"),
            models.Index(fields=["unit", "day", "status"], name="booking_unit_day_status"),
        ]

    def __str__(self) -> str:
        return f"{self.child} · {self.day} ({self.get_status_display()})"


class AttendanceRoll(models.Model):
    """The roll of one service at one site (``school``) on one day. Once taken it locks the day
    for billing."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="canteen_rolls")
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="rolls", default=canteen_service_id
    )
    day = models.DateField(_("jour"))
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(_("pris le"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("appel")
        verbose_name_plural = _("appels")
        constraints = [
            models.UniqueConstraint(
                fields=["school", "service", "day"], name="roll_unique_school_service_day"
            )
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
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="+", default=canteen_service_id
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", default=canteen_unit_id
    )
    day = models.DateField(_("jour"))  # copy of roll.day, for set-based billing queries
    status = models.CharField(_("présence"), max_length=20, choices=Status.choices)
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    variant = models.CharField(
        _("variante"), max_length=16, choices=Variant.choices, default=Variant.STANDARD
    )
    price_rank = models.PositiveSmallIntegerField(_("rang figé"), null=True, blank=True)
    price_resident = models.BooleanField(_("résidence figée"), null=True, blank=True)

    class Meta:
        ordering = ["roll", "child_id"]
        verbose_name = _("présence")
        verbose_name_plural = _("présences")
        constraints = [
            models.UniqueConstraint(fields=["roll", "child"], name="record_unique_roll_child"),
            models.UniqueConstraint(
                fields=["child", "service", "day"], name="record_unique_child_service_day"
            ),
        ]
        indexes = [models.Index(fields=["day"], name="record_day")]

    def __str__(self) -> str:
        return f"{self.child_id} · {self.day} · {self.status}"


class Tariff(models.Model):
    """A service's tariff grid in force over a validity period: a price per unit and day, or a
    flat monthly price per child who used the service that month."""

    class Mode(models.TextChoices):
        PER_UNIT = "per_unit", _("À l'unité")
        FLAT_MONTH = "flat_month", _("Forfait mensuel")

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="tariffs", default=canteen_service_id
    )
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices, default=Mode.PER_UNIT)
    name = models.CharField(_("nom"), max_length=120)
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    currency = models.CharField(_("devise"), max_length=3, default="EUR")
    packed_lunch_cents = models.PositiveIntegerField(
        _("prix panier-repas PAI (centimes)"), default=0
    )
    unbooked_surcharge_cents = models.PositiveIntegerField(
        _("majoration non réservé (centimes)"), default=0
    )
    supervision_cents = models.PositiveIntegerField(
        _("dont surveillance de la pause méridienne (centimes)"),
        default=0,
        help_text=_(
            "Part de chaque repas qui rémunère la garde des enfants (hors nourriture) : "
            "facturée sur sa propre ligne et comptée dans l'attestation fiscale des moins de "
            "6 ans. 0 : le tarif ne distingue pas les deux."
        ),
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
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("unité"),
        help_text=_("Vide : toutes les unités du service."),
    )
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
                fields=["tariff", "bracket", "sibling_rank", "resident"],
                condition=Q(unit__isnull=True),
                name="tariffline_unique",
            ),
            models.UniqueConstraint(
                fields=["tariff", "sibling_rank", "resident"],
                condition=Q(bracket__isnull=True, unit__isnull=True),
                name="tariffline_unique_full_price",
            ),
            models.UniqueConstraint(
                fields=["tariff", "unit", "bracket", "sibling_rank", "resident"],
                name="tariffline_unique_unit",
            ),
            models.UniqueConstraint(
                fields=["tariff", "unit", "sibling_rank", "resident"],
                condition=Q(bracket__isnull=True),
                name="tariffline_unique_unit_full_price",
            ),
            models.CheckConstraint(condition=Q(sibling_rank__gte=1), name="tariffline_rank_min_1"),
        ]

    def __str__(self) -> str:
        return f"{self.bracket or '-'} · {self.sibling_rank} · {self.amount_cents}"


ALLERGEN_CODES = tuple(Allergen.values)
