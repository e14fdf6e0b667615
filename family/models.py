"""Households, guardians, children, schools and calendars.

The core models here are relied on by canteen, payments and fleet: extend them, but do not
rename or remove their fields without updating those apps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
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
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="staff_schools",
        verbose_name=_("personnel"),
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
    # Set by the year switch (school_year_switch): the year is over, its data archived.
    closed_at = models.DateTimeField(_("clôturée le"), null=True, blank=True)

    class Meta:
        ordering = ["-start_date"]
        verbose_name = _("année scolaire")
        verbose_name_plural = _("années scolaires")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lt=models.F("end_date")), name="schoolyear_dates_ordered"
            )
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
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.CASCADE, related_name="closures"
    )
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    label = models.CharField(_("libellé"), max_length=120)
    start_date = models.DateField(_("du"))
    end_date = models.DateField(_("au (inclus)"))

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("fermeture")
        verbose_name_plural = _("fermetures")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=models.F("end_date")), name="closure_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.start_date} → {self.end_date})"


class Household(TimeStampedModel):
    name = models.CharField(_("nom du foyer"), max_length=200)
    address_line = models.CharField(_("adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    is_resident = models.BooleanField(_("résident de la commune"), default=True)
    # Identifier of the family in the previous system (import_families); empty when created here.
    legacy_ref = models.CharField(
        _("référence dans l'ancien système"), max_length=64, blank=True, default=""
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("foyer")
        verbose_name_plural = _("foyers")
        constraints = [
            models.UniqueConstraint(
                fields=["legacy_ref"],
                condition=~Q(legacy_ref=""),
                name="household_unique_legacy_ref",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Guardian(TimeStampedModel):
    """A person with their own login who belongs to a household."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="guardians")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guardian"
    )
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
        School,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("école"),
    )
    class_name = models.CharField(_("classe"), max_length=40, blank=True)
    allergies = models.JSONField(
        _("allergies"),
        default=list,
        blank=True,
        help_text=_("Codes des 14 allergènes réglementaires"),
    )
    diet = models.CharField(_("régime"), max_length=16, choices=Diet.choices, default=Diet.STANDARD)
    custody = models.CharField(
        _("garde"), max_length=20, choices=Custody.choices, default=Custody.JOINT
    )

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
    custody_weeks = models.CharField(
        _("semaines de garde"), max_length=4, choices=Weeks.choices, default=Weeks.ALL
    )
    billing_share_percent = models.PositiveSmallIntegerField(_("part des frais (%)"), default=100)

    class Meta:
        verbose_name = _("droits du responsable sur l'enfant")
        verbose_name_plural = _("droits des responsables sur les enfants")
        constraints = [
            models.UniqueConstraint(fields=["child", "guardian"], name="childguardian_unique"),
            models.CheckConstraint(
                condition=Q(billing_share_percent__lte=100), name="childguardian_share_max_100"
            ),
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
    doctor_name = models.CharField(_("médecin"), max_length=200, blank=True)
    document = models.ForeignKey(
        "Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("document"),
    )

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("PAI")
        verbose_name_plural = _("PAI")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__lte=models.F("valid_until")), name="careplan_dates_ordered"
            )
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

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="income_assessments"
    )
    quotient = models.PositiveIntegerField(_("quotient familial (€)"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    valid_from = models.DateField(_("valable du"))
    valid_until = models.DateField(_("valable jusqu'au"))
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    bracket = models.PositiveSmallIntegerField(_("tranche"), null=True, blank=True)
    document = models.ForeignKey(
        "Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("justificatif"),
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(_("motif du refus"), max_length=300, blank=True)

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


# --- Extensions: terms, catchment, invitations, contacts, documents, change requests,
# --- registrations and after-school activities.


class SchoolTerm(models.Model):
    """A term (trimestre/période) of a school year."""

    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="terms")
    label = models.CharField(_("libellé"), max_length=60)
    start_date = models.DateField(_("du"))
    end_date = models.DateField(_("au (inclus)"))

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("période")
        verbose_name_plural = _("périodes")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=models.F("end_date")), name="term_dates_ordered"
            ),
            models.UniqueConstraint(fields=["school_year", "label"], name="term_unique_label"),
        ]

    def __str__(self) -> str:
        return f"{self.school_year} · {self.label}"


class CatchmentArea(models.Model):
    """One street (or a range of its numbers, odd/even/all) served by a school."""

    class Parity(models.TextChoices):
        ALL = "all", _("Tous les numéros")
        ODD = "odd", _("Numéros impairs")
        EVEN = "even", _("Numéros pairs")

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="catchment_areas")
    street_name = models.CharField(_("voie"), max_length=200)
    # Normalised street name (lower case, no accents, abbreviations expanded): the lookup key.
    street_key = models.CharField(max_length=200, db_index=True, editable=False)
    number_from = models.PositiveIntegerField(_("du numéro"), default=1)
    number_to = models.PositiveIntegerField(_("au numéro (inclus)"), null=True, blank=True)
    parity = models.CharField(_("côté"), max_length=4, choices=Parity.choices, default=Parity.ALL)

    class Meta:
        ordering = ["street_key", "number_from"]
        verbose_name = _("secteur scolaire")
        verbose_name_plural = _("secteurs scolaires")
        constraints = [
            models.CheckConstraint(
                condition=Q(number_to__isnull=True) | Q(number_from__lte=models.F("number_to")),
                name="catchment_numbers_ordered",
            ),
            models.UniqueConstraint(
                fields=["street_key", "number_from", "parity"], name="catchment_unique_range_start"
            ),
        ]

    def __str__(self) -> str:
        upper = self.number_to or "…"
        return f"{self.street_name} {self.number_from}–{upper} ({self.get_parity_display()}) → {self.school}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from .addresses import normalize_street

        self.street_key = normalize_street(self.street_name)
        super().save(*args, **kwargs)


class GuardianInvitation(TimeStampedModel):
    """An invitation for another guardian to join a household with their own login."""

    class State(models.TextChoices):
        PENDING = "pending", _("En attente")
        ACCEPTED = "accepted", _("Acceptée")
        DECLINED = "declined", _("Refusée")
        REVOKED = "revoked", _("Annulée")

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("adresse e-mail"))
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    relationship = models.CharField(_("lien avec les enfants"), max_length=60, blank=True)
    legal_guardian = models.BooleanField(_("responsable légal"), default=True)
    billing_payer = models.BooleanField(_("payeur"), default=False)
    may_pick_up = models.BooleanField(_("peut venir chercher les enfants"), default=True)
    receives_notifications = models.BooleanField(_("reçoit les notifications"), default=True)
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.PENDING)
    expires_at = models.DateTimeField(_("expire le"))
    responded_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation d'un responsable")
        verbose_name_plural = _("invitations de responsables")
        constraints = [
            models.UniqueConstraint(
                fields=["household", "email"],
                condition=Q(state="pending"),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.household}"


class EmergencyContact(TimeStampedModel):
    """Someone to call in an emergency, and/or authorised to pick the children up."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="emergency_contacts"
    )
    name = models.CharField(_("nom"), max_length=200)
    relationship = models.CharField(_("lien"), max_length=60, blank=True)
    phone = models.CharField(_("téléphone"), max_length=32)
    may_pick_up = models.BooleanField(_("autorisé à venir chercher les enfants"), default=False)
    call_in_emergency = models.BooleanField(_("à appeler en cas d'urgence"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact d'urgence")
        verbose_name_plural = _("contacts d'urgence")

    def __str__(self) -> str:
        return self.name


class DocumentKind(models.TextChoices):
    PROOF_OF_ADDRESS = "proof_of_address", _("Justificatif de domicile (moins de 3 mois)")
    FAMILY_RECORD_BOOK = "family_record_book", _("Livret de famille")
    BIRTH_CERTIFICATE = "birth_certificate", _("Acte de naissance")
    VACCINATIONS = "vaccinations", _("Carnet de vaccinations ou certificat de contre-indication")
    CUSTODY_JUDGMENT = "custody_judgment", _("Jugement de garde")
    INCOME_PROOF = "income_proof", _("Justificatif de quotient familial")
    CARE_PLAN = "care_plan", _("Document PAI")
    SIBLING_CERTIFICATE = (
        "sibling_certificate",
        _("Certificat de scolarité du frère ou de la sœur dans l'école"),
    )
    CHILDMINDER_ATTESTATION = (
        "childminder_attestation",
        _("Attestation de l'assistante maternelle (avec son adresse)"),
    )
    MEDICAL_CERTIFICATE = "medical_certificate", _("Certificat médical")
    EMPLOYER_ATTESTATION = "employer_attestation", _("Attestation de l'employeur")
    OTHER = "other", _("Autre document")


def document_upload_to(instance: Document, filename: str) -> str:
    import uuid

    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        instance.content_type, "bin"
    )
    return f"family/{instance.household_id}/{uuid.uuid4().hex}.{ext}"


class Document(TimeStampedModel):
    """An uploaded supporting document. Files live under MEDIA_ROOT (outside the web root) and
    are only served by a permission-checked view, as attachments."""

    class Status(models.TextChoices):
        PENDING = "pending", _("À vérifier")
        ACCEPTED = "accepted", _("Accepté")
        REJECTED = "rejected", _("Refusé")

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="documents")
    child = models.ForeignKey(
        Child, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    application = models.ForeignKey(
        "SchoolApplication",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="documents",
    )
    kind = models.CharField(_("type de document"), max_length=24, choices=DocumentKind.choices)
    file = models.FileField(_("fichier"), upload_to=document_upload_to, max_length=255)
    original_name = models.CharField(_("nom du fichier"), max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("taille (octets)"))
    sha256 = models.CharField(max_length=64)
    issued_on = models.DateField(_("date du document"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("vérification"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    rejection_reason = models.CharField(_("motif du refus"), max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.original_name})"


class ChangeRequest(TimeStampedModel):
    """A parent's change to sensitive data (address, guardians' rights, health), applied after
    staff validation."""

    class Category(models.TextChoices):
        ADDRESS = "address", _("Adresse")
        GUARDIANS = "guardians", _("Responsables et garde")
        HEALTH = "health", _("Santé")

    class State(models.TextChoices):
        PENDING = "pending", _("En attente de validation")
        APPROVED = "approved", _("Validée")
        REJECTED = "rejected", _("Refusée")
        CANCELLED = "cancelled", _("Annulée")

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="change_requests"
    )
    child = models.ForeignKey(
        Child, null=True, blank=True, on_delete=models.CASCADE, related_name="change_requests"
    )
    category = models.CharField(_("catégorie"), max_length=10, choices=Category.choices)
    changes = models.JSONField(_("modifications demandées"), default=dict)
    previous = models.JSONField(_("valeurs précédentes"), default=dict)
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("motif"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("demande de modification")
        verbose_name_plural = _("demandes de modification")

    def __str__(self) -> str:
        return f"{self.get_category_display()} · {self.household}"


class SchoolApplication(TimeStampedModel):
    """A school registration: one child, one school year, one requested school."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SUBMITTED = "submitted", _("Envoyée")
        INCOMPLETE = "incomplete", _("Incomplète : en attente de la famille")
        UNDER_REVIEW = "under_review", _("En cours d'instruction")
        ACCEPTED = "accepted", _("Acceptée")
        WAITLISTED = "waitlisted", _("Sur liste d'attente")
        REFUSED = "refused", _("Refusée")
        WITHDRAWN = "withdrawn", _("Retirée")

    class DerogationReason(models.TextChoices):
        NONE = "", _("Pas de dérogation")
        SIBLING = "sibling", _("Frère ou sœur déjà scolarisé dans l'école")
        WORKPLACE = "workplace", _("Lieu de travail d'un parent")
        CHILDMINDER = "childminder", _("Adresse de l'assistante maternelle")
        MEDICAL = "medical", _("Raison médicale")
        OTHER = "other", _("Autre raison")

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="applications")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="applications")
    school_year = models.ForeignKey(
        SchoolYear, on_delete=models.PROTECT, related_name="applications"
    )
    school = models.ForeignKey(
        School,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("école demandée"),
    )
    catchment_school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("école de secteur"),
    )
    address_line = models.CharField(
        _("adresse au moment de la demande"), max_length=255, blank=True
    )
    grade = models.CharField(_("niveau demandé"), max_length=40, blank=True)
    derogation_reason = models.CharField(
        _("motif de dérogation"),
        max_length=16,
        choices=DerogationReason.choices,
        blank=True,
        default="",
    )
    derogation_details = models.TextField(_("précisions sur la dérogation"), blank=True)
    state = models.CharField(
        _("état"), max_length=12, choices=State.choices, default=State.DRAFT, db_index=True
    )
    tracking_code = models.CharField(_("code de suivi"), max_length=8, unique=True)
    sibling_group = models.UUIDField(null=True, blank=True, db_index=True)
    submitted_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.CharField(_("motif de la décision"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("demande d'inscription scolaire")
        verbose_name_plural = _("demandes d'inscription scolaire")
        constraints = [
            models.UniqueConstraint(
                fields=["child", "school_year"],
                condition=~Q(state__in=["withdrawn", "refused"]),
                name="application_one_active_per_child_year",
            )
        ]
        indexes = [models.Index(fields=["school", "state"], name="application_queue_idx")]

    def __str__(self) -> str:
        return f"{self.tracking_code_display} · {self.child}"

    @property
    def tracking_code_display(self) -> str:
        return f"{self.tracking_code[:4]}-{self.tracking_code[4:]}"

    @property
    def is_derogation(self) -> bool:
        return bool(self.derogation_reason)

    @property
    def is_final(self) -> bool:
        """No action leads out of this state (derived from :data:`APPLICATION_TRANSITIONS`)."""
        return not any(self.state in sources for sources, _t in APPLICATION_TRANSITIONS.values())

    def allowed_actions(self, *, staff: bool) -> set[str]:
        """The actions this reader may take now: what pages offer, APIs accept and services do."""
        allowed = APPLICATION_STAFF_ACTIONS if staff else APPLICATION_FAMILY_ACTIONS
        if staff:
            allowed = allowed | APPLICATION_FAMILY_ACTIONS  # staff act for the family too
        return {
            action
            for action, (sources, _target) in APPLICATION_TRANSITIONS.items()
            if action in allowed and self.state in sources
        }


# The registration workflow as data: action → (states it may start from, state it leads to).
# Services apply it, pages and APIs derive what they offer from it; nothing else lists states.
_S = SchoolApplication.State
APPLICATION_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "submit": ((_S.DRAFT, _S.INCOMPLETE), _S.SUBMITTED),
    "review": ((_S.SUBMITTED,), _S.UNDER_REVIEW),
    "request_documents": ((_S.SUBMITTED, _S.UNDER_REVIEW, _S.INCOMPLETE), _S.INCOMPLETE),
    "accept": ((_S.SUBMITTED, _S.UNDER_REVIEW, _S.WAITLISTED), _S.ACCEPTED),
    "waitlist": ((_S.SUBMITTED, _S.UNDER_REVIEW), _S.WAITLISTED),
    "refuse": ((_S.SUBMITTED, _S.UNDER_REVIEW, _S.WAITLISTED, _S.INCOMPLETE), _S.REFUSED),
    "withdraw": (
        (_S.DRAFT, _S.SUBMITTED, _S.INCOMPLETE, _S.UNDER_REVIEW, _S.WAITLISTED),
        _S.WITHDRAWN,
    ),
}
APPLICATION_STAFF_ACTIONS = frozenset(
    {"review", "request_documents", "accept", "waitlist", "refuse"}
)
APPLICATION_FAMILY_ACTIONS = frozenset({"submit", "withdraw"})
APPLICATION_DECISIONS = ("accept", "waitlist", "refuse")


class ApplicationEvent(models.Model):
    """One dated line of an application's timeline; state changes name both states."""

    class Kind(models.TextChoices):
        STATE = "state", _("Changement d'état")
        DOCUMENT_UPLOADED = "document_uploaded", _("Document déposé")
        DOCUMENT_CHECKED = "document_checked", _("Document vérifié")
        DOCUMENTS_REQUESTED = "documents_requested", _("Documents demandés")
        NOTE = "note", _("Note")

    application = models.ForeignKey(
        SchoolApplication, on_delete=models.CASCADE, related_name="events"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    message = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(max_length=20, default="person")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("événement de dossier")
        verbose_name_plural = _("événements de dossier")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d} {self.kind} {self.to_state}"

    @property
    def to_state_label(self) -> str:
        return str(SchoolApplication.State(self.to_state).label) if self.to_state else ""


class DocumentRequest(models.Model):
    """Staff asked the family for a document on an application."""

    application = models.ForeignKey(
        SchoolApplication, on_delete=models.CASCADE, related_name="document_requests"
    )
    kind = models.CharField(_("type de document"), max_length=24, choices=DocumentKind.choices)
    note = models.CharField(_("précision"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("demande de document")
        verbose_name_plural = _("demandes de document")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.application}"


class Activity(TimeStampedModel):
    """An after-school activity of a school with a fixed number of seats."""

    class Kind(models.TextChoices):
        MORNING_CARE = "morning_care", _("Accueil du matin")
        EVENING_STUDY = "evening_study", _("Étude du soir")
        WEDNESDAY_CENTRE = "wednesday", _("Centre de loisirs du mercredi")
        OTHER = "other", _("Autre activité")

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="activities")
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    description = models.TextField(_("description"), blank=True)
    capacity = models.PositiveIntegerField(_("nombre de places"))
    start_date = models.DateField(_("du"))
    end_date = models.DateField(_("au (inclus)"))
    weekdays = models.JSONField(_("jours (0 = lundi)"), default=list, blank=True)
    start_time = models.TimeField(_("heure de début"), null=True, blank=True)
    end_time = models.TimeField(_("heure de fin"), null=True, blank=True)
    is_open = models.BooleanField(_("inscriptions ouvertes"), default=True)

    class Meta:
        ordering = ["school__name", "name"]
        verbose_name = _("activité périscolaire")
        verbose_name_plural = _("activités périscolaires")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=models.F("end_date")), name="activity_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.school})"


class ActivityRegistration(TimeStampedModel):
    class State(models.TextChoices):
        CONFIRMED = "confirmed", _("Inscrit")
        WAITING = "waiting", _("Liste d'attente")
        CANCELLED = "cancelled", _("Annulé")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="registrations")
    child = models.ForeignKey(
        Child, on_delete=models.CASCADE, related_name="activity_registrations"
    )
    state = models.CharField(_("état"), max_length=10, choices=State.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("inscription à une activité")
        verbose_name_plural = _("inscriptions aux activités")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "child"],
                condition=Q(state__in=["confirmed", "waiting"]),
                name="activity_registration_one_active",
            )
        ]
        indexes = [
            models.Index(fields=["activity", "state", "created_at"], name="activity_reg_queue_idx")
        ]

    def __str__(self) -> str:
        return f"{self.child} → {self.activity} ({self.state})"


class ActivityAttendance(models.Model):
    """The activity roll: one row per child and day, taken by staff; it drives billing
    (present and unjustified absence are billed, a justified absence is not)."""

    class Status(models.TextChoices):
        PRESENT = "present", _("Présent")
        ABSENT_JUSTIFIED = "absent_justified", _("Absent (justifié)")
        ABSENT_UNJUSTIFIED = "absent_unjustified", _("Absent (non justifié)")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendance")
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="activity_attendance")
    day = models.DateField(_("jour"))
    status = models.CharField(_("présence"), max_length=20, choices=Status.choices)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["day", "child_id"]
        verbose_name = _("présence à une activité")
        verbose_name_plural = _("présences aux activités")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "child", "day"], name="activity_attendance_unique"
            )
        ]
        indexes = [models.Index(fields=["day", "activity"], name="activity_attendance_day_idx")]

    def __str__(self) -> str:
        return f"{self.child} · {self.activity} · {self.day} ({self.status})"


class Enrolment(models.Model):
    """Where a child was, school year by school year: written by the year switch when it closes
    a year (the archive of schools and classes), so a child's history survives promotions."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="enrolments")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="enrolments")
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    class_name = models.CharField(_("classe"), max_length=40, blank=True)
    meals_booked = models.PositiveIntegerField(_("repas réservés dans l'année"), default=0)
    outcome = models.CharField(_("suite"), max_length=200, blank=True)

    class Meta:
        ordering = ["school_year__start_date", "child_id"]
        verbose_name = _("scolarité de l'année")
        verbose_name_plural = _("scolarités par année")
        constraints = [
            models.UniqueConstraint(fields=["child", "school_year"], name="enrolment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.child} · {self.school_year} · {self.class_name}"


class ReenrolmentCampaign(TimeStampedModel):
    """Each family confirms canteen, activities and income assessment for the next year."""

    school_year = models.OneToOneField(
        SchoolYear, on_delete=models.CASCADE, related_name="reenrolment_campaign"
    )
    opens_on = models.DateField(_("ouverture"))
    closes_on = models.DateField(_("clôture"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opens_on"]
        verbose_name = _("campagne de réinscription")
        verbose_name_plural = _("campagnes de réinscription")
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_on__lte=models.F("closes_on")), name="campaign_dates_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.school_year} ({self.opens_on} → {self.closes_on})"

    def is_open(self, day: dt.date) -> bool:
        return self.opens_on <= day <= self.closes_on


class ReenrolmentAnswer(TimeStampedModel):
    campaign = models.ForeignKey(
        ReenrolmentCampaign, on_delete=models.CASCADE, related_name="answers"
    )
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="reenrolment_answers"
    )
    canteen = models.BooleanField(_("cantine l'an prochain"))
    activities = models.BooleanField(_("activités périscolaires l'an prochain"))
    income_confirmed = models.BooleanField(_("quotient familial confirmé ou mis à jour"))
    comment = models.CharField(_("commentaire"), max_length=500, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at_counter = models.BooleanField(_("saisie au guichet"), default=False)

    class Meta:
        verbose_name = _("réponse à la réinscription")
        verbose_name_plural = _("réponses à la réinscription")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "household"], name="reenrolment_answer_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.household} · {self.campaign}"


class ReenrolmentReminder(models.Model):
    """One reminder sent to a household that had not answered (at most one a day)."""

    campaign = models.ForeignKey(
        ReenrolmentCampaign, on_delete=models.CASCADE, related_name="reminders"
    )
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "household", "day"], name="reenrolment_reminder_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.household_id} · {self.day}"


# Each derogation reason needs its own supporting document (accepted before the decision).
DEROGATION_DOCUMENTS: dict[str, list[str]] = {
    SchoolApplication.DerogationReason.SIBLING: [DocumentKind.SIBLING_CERTIFICATE],
    SchoolApplication.DerogationReason.CHILDMINDER: [DocumentKind.CHILDMINDER_ATTESTATION],
    SchoolApplication.DerogationReason.MEDICAL: [DocumentKind.MEDICAL_CERTIFICATE],
    SchoolApplication.DerogationReason.WORKPLACE: [DocumentKind.EMPLOYER_ATTESTATION],
}


class DerogationReview(TimeStampedModel):
    """The derogation of an application, decided separately from the registration: the
    catchment school gives its opinion, a commission meets, the city decides and the family
    downloads the decision letter."""

    class Opinion(models.TextChoices):
        PENDING = "pending", _("En attente de l'avis de l'école de secteur")
        FAVOURABLE = "favourable", _("Avis favorable")
        UNFAVOURABLE = "unfavourable", _("Avis défavorable")

    class Decision(models.TextChoices):
        PENDING = "pending", _("Décision en attente")
        GRANTED = "granted", _("Dérogation accordée")
        REFUSED = "refused", _("Dérogation refusée")

    application = models.OneToOneField(
        SchoolApplication, on_delete=models.CASCADE, related_name="derogation_review"
    )
    opinion = models.CharField(
        _("avis de l'école de secteur"),
        max_length=12,
        choices=Opinion.choices,
        default=Opinion.PENDING,
    )
    opinion_comment = models.CharField(_("commentaire de l'école"), max_length=500, blank=True)
    opinion_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opinion_at = models.DateTimeField(null=True, blank=True)
    commission_date = models.DateField(_("date de la commission"), null=True, blank=True)
    decision = models.CharField(
        _("décision"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decision_reason = models.CharField(_("motif de la décision"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dérogation")
        verbose_name_plural = _("dérogations")
        indexes = [
            models.Index(fields=["decision", "opinion"], name="derogation_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.decision}"


class IllnessReport(TimeStampedModel):
    """A family reports a sick child, also after the cancellation deadline. City rule
    (MINOT_ILLNESS_BILLED_DAYS): the first N days of an illness are billed as booked, the
    following days are a justified absence and are not billed; a medical certificate is
    optional."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="illness_reports")
    first_day = models.DateField(_("premier jour d'absence"))
    last_day = models.DateField(_("dernier jour d'absence"))
    document = models.ForeignKey(
        Document,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("certificat médical"),
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-first_day", "-id"]
        verbose_name = _("absence pour maladie")
        verbose_name_plural = _("absences pour maladie")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_day__lte=models.F("last_day")), name="illness_dates_ordered"
            )
        ]
        indexes = [models.Index(fields=["child", "first_day"], name="illness_child_day_idx")]

    def __str__(self) -> str:
        return f"{self.child} · {self.first_day} → {self.last_day}"


# Messages between families and schools (their own module, same app and migrations).
from .message_models import (  # noqa: E402, F401
    APPOINTMENT_ACTIONS,
    THREAD_ACTIONS,
    AppointmentRequest,
    Message,
    MessageThread,
    OfficeSlot,
)
