"""Households, guardians, children, schools and calendars.

The core models here are relied on by canteen, payments and fleet: extend them, but do not
rename or remove their fields without updating those apps.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.core.allergens import Allergen
from backend.core.models import TimeStampedModel


class School(TimeStampedModel):
    class Kind(models.TextChoices):
        NURSERY = "nursery", _("Maternelle")
        ELEMENTARY = "elementary", _("Élémentaire")
        PRIMARY = "primary", _("Primaire")

    code = models.CharField(_("code établissement (UAI)"), max_length=16, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.ELEMENTARY)
    address_line = models.CharField(_("adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    phone = models.CharField(_("téléphone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    has_mobile_classroom = models.BooleanField(_("classe mobile numérique"), default=False)
    has_canteen = models.BooleanField(_("restauration scolaire"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="staff_schools", verbose_name=_("personnel")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("école")
        verbose_name_plural = _("écoles")

    def __str__(self) -> str:
        return self.name


class SchoolYear(models.Model):
    label = models.CharField(_("année scolaire"), max_length=9, unique=True, help_text="2026-2027")
    start_date = models.DateField(_("rentrée"))
    end_date = models.DateField(_("fin d'année"))

    class Meta:
        ordering = ["-start_date"]
        verbose_name = _("année scolaire")
        verbose_name_plural = _("années scolaires")
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lt=models.F("end_date")), name="schoolyear_dates_ordered")
        ]

    def __str__(self) -> str:
        return self.label

    def contains(self, day: dt.date) -> bool:
        return self.start_date <= day <= self.end_date


class CalendarClosure(models.Model):
    """Days without school: holidays and days off, city-wide (no school) or for one school."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Vacances scolaires")
        PUBLIC_HOLIDAY = "public_holiday", _("Jour férié")
        DAY_OFF = "day_off", _("Jour sans école")
        NO_SERVICE = "no_service", _("Pas de service de restauration")

    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="closures")
    school = models.ForeignKey(School, null=True, blank=True, on_delete=models.CASCADE, related_name="closures")
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    label = models.CharField(_("libellé"), max_length=120)
    start_date = models.DateField(_("du"))
    end_date = models.DateField(_("au (inclus)"))

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("fermeture")
        verbose_name_plural = _("fermetures")
        constraints = [
            models.CheckConstraint(condition=Q(start_date__lte=models.F("end_date")), name="closure_dates_ordered")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.start_date} → {self.end_date})"


class Household(TimeStampedModel):
    name = models.CharField(_("nom du foyer"), max_length=200)
    address_line = models.CharField(_("adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    is_resident = models.BooleanField(_("résident de la commune"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("foyer")
        verbose_name_plural = _("foyers")

    def __str__(self) -> str:
        return self.name


class Guardian(TimeStampedModel):
    """A person with their own login who belongs to a household."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="guardians")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian")
    relationship = models.CharField(_("lien avec les enfants"), max_length=60, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("responsable")
        verbose_name_plural = _("responsables")

    def __str__(self) -> str:
        return str(self.user)


class Child(TimeStampedModel):
    class Diet(models.TextChoices):
        STANDARD = "standard", _("Standard")
        VEGETARIAN = "vegetarian", _("Végétarien")
        NO_PORK = "no_pork", _("Sans porc")
        PACKED_LUNCH = "packed_lunch", _("Panier-repas (PAI)")

    class Custody(models.TextChoices):
        JOINT = "joint", _("Commune, même foyer")
        ALTERNATING_WEEKS = "alternating_weeks", _("Garde alternée (semaines)")
        SOLE = "sole", _("Exclusive")

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="children")
    first_name = models.CharField(_("prénom"), max_length=100)
    last_name = models.CharField(_("nom"), max_length=100)
    birth_date = models.DateField(_("date de naissance"))
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("école")
    )
    class_name = models.CharField(_("classe"), max_length=40, blank=True)
    allergies = models.JSONField(
        _("allergies"), default=list, blank=True, help_text=_("Codes des 14 allergènes réglementaires")
    )
    diet = models.CharField(_("régime"), max_length=16, choices=Diet.choices, default=Diet.STANDARD)
    custody = models.CharField(_("garde"), max_length=20, choices=Custody.choices, default=Custody.JOINT)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("enfant")
        verbose_name_plural = _("enfants")

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def allergen_labels(self) -> list[str]:
        return [str(Allergen(code).label) for code in self.allergies if code in Allergen.values]


class ChildGuardian(models.Model):
    """The rights of one guardian on one child, and their share of the child's costs."""

    class Weeks(models.TextChoices):
        ALL = "all", _("Toutes les semaines")
        EVEN = "even", _("Semaines paires")
        ODD = "odd", _("Semaines impaires")

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="guardianships")
    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="guardianships")
    legal_guardian = models.BooleanField(_("responsable légal"), default=True)
    billing_payer = models.BooleanField(_("payeur"), default=True)
    may_pick_up = models.BooleanField(_("peut venir chercher l'enfant"), default=True)
    receives_notifications = models.BooleanField(_("reçoit les notifications"), default=True)
    # Custody split of the child's charges: by ISO week parity, or by percentage.
    custody_weeks = models.CharField(_("semaines de garde"), max_length=4, choices=Weeks.choices, default=Weeks.ALL)
    billing_share_percent = models.PositiveSmallIntegerField(_("part des frais (%)"), default=100)

    class Meta:
        verbose_name = _("droits du responsable sur l'enfant")
        verbose_name_plural = _("droits des responsables sur les enfants")
        constraints = [
            models.UniqueConstraint(fields=["child", "guardian"], name="childguardian_unique"),
            models.CheckConstraint(condition=Q(billing_share_percent__lte=100), name="childguardian_share_max_100"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.child}"


class CarePlan(TimeStampedModel):
    """A PAI (projet d'accueil individualisé): the child's individual care plan."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="care_plans")
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    packed_lunch = models.BooleanField(_("panier-repas fourni par la famille"), default=False)
    instructions = models.TextField(_("consignes"), blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("PAI")
        verbose_name_plural = _("PAI")
        constraints = [
            models.CheckConstraint(condition=Q(valid_from__lte=models.F("valid_until")), name="careplan_dates_ordered")
        ]

    def __str__(self) -> str:
        return f"PAI {self.child} ({self.valid_from} → {self.valid_until})"


class IncomeBracket(models.Model):
    """Quotient familial thresholds: a household's validated assessment picks its bracket."""

    number = models.PositiveSmallIntegerField(_("tranche"), unique=True)
    min_quotient = models.PositiveIntegerField(_("quotient minimum (€)"))
    max_quotient = models.PositiveIntegerField(_("quotient maximum (€)"), null=True, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("tranche de quotient familial")
        verbose_name_plural = _("tranches de quotient familial")

    def __str__(self) -> str:
        return f"{self.number}"


class IncomeAssessment(TimeStampedModel):
    class Source(models.TextChoices):
        CAF = "caf", _("Attestation CAF")
        TAX_NOTICE = "tax_notice", _("Avis d'imposition")
        DECLARED = "declared", _("Déclaration au guichet")

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de validation")
        VALIDATED = "validated", _("Validé")
        REJECTED = "rejected", _("Refusé")

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="income_assessments")
    quotient = models.PositiveIntegerField(_("quotient familial (€)"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    status = models.CharField(_("statut"), max_length=16, choices=Status.choices, default=Status.PENDING)
    bracket = models.PositiveSmallIntegerField(_("tranche"), null=True, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("quotient familial")
        verbose_name_plural = _("quotients familiaux")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__lte=models.F("valid_until")), name="income_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"QF {self.quotient} ({self.household})"
