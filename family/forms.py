"""Page forms: they only parse input; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backend.core.allergens import Allergen

from .models import (
    Child,
    ChildGuardian,
    DocumentKind,
    IncomeAssessment,
    School,
    SchoolApplication,
    SchoolYear,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class HouseholdForm(forms.Form):
    name = forms.CharField(
        label=_("Nom du foyer"), max_length=200, help_text=_("Par exemple : Famille Martin")
    )
    address_line = forms.CharField(label=_("Adresse (numéro et voie)"), max_length=255)
    postal_code = forms.CharField(label=_("Code postal"), max_length=10)
    city = forms.CharField(label=_("Ville"), max_length=100)
    relationship = forms.CharField(
        label=_("Votre lien avec les enfants"), max_length=60, required=False
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Adresse e-mail de l'autre responsable"))
    relationship = forms.CharField(label=_("Lien avec les enfants"), max_length=60, required=False)
    legal_guardian = forms.BooleanField(label=_("Responsable légal"), required=False, initial=True)
    billing_payer = forms.BooleanField(label=_("Payeur des factures"), required=False)
    may_pick_up = forms.BooleanField(
        label=_("Peut venir chercher les enfants"), required=False, initial=True
    )
    receives_notifications = forms.BooleanField(
        label=_("Reçoit les notifications"), required=False, initial=True
    )


class SignupForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=150)
    last_name = forms.CharField(label=_("Nom"), max_length=150)
    password = forms.CharField(
        label=_("Mot de passe"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        min_length=8,
    )


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Nom"), max_length=200)
    relationship = forms.CharField(label=_("Lien"), max_length=60, required=False)
    phone = forms.CharField(label=_("Téléphone"), max_length=32)
    may_pick_up = forms.BooleanField(
        label=_("Autorisé à venir chercher les enfants"), required=False
    )
    call_in_emergency = forms.BooleanField(
        label=_("À appeler en cas d'urgence"), required=False, initial=True
    )


class AddressChangeForm(forms.Form):
    address_line = forms.CharField(label=_("Nouvelle adresse (numéro et voie)"), max_length=255)
    postal_code = forms.CharField(label=_("Code postal"), max_length=10)
    city = forms.CharField(label=_("Ville"), max_length=100)


class IncomeForm(forms.Form):
    quotient = forms.IntegerField(label=_("Quotient familial (€)"), min_value=0, max_value=100_000)
    source = forms.ChoiceField(label=_("Source"), choices=IncomeAssessment.Source.choices)
    valid_from = forms.DateField(label=_("Valable du"), widget=DateInput())
    valid_until = forms.DateField(label=_("Valable jusqu'au"), widget=DateInput())
    file = forms.FileField(label=_("Justificatif (PDF, JPEG ou PNG)"), required=False)


class ChildForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    birth_date = forms.DateField(label=_("Date de naissance"), widget=DateInput())
    allergies = forms.MultipleChoiceField(
        label=_("Allergies (14 allergènes réglementaires)"),
        choices=Allergen.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    diet = forms.ChoiceField(
        label=_("Régime"), choices=Child.Diet.choices, initial=Child.Diet.STANDARD
    )
    custody = forms.ChoiceField(
        label=_("Garde"), choices=Child.Custody.choices, initial=Child.Custody.JOINT
    )


class ChildIdentityForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=100)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    birth_date = forms.DateField(label=_("Date de naissance"), widget=DateInput())


class HealthForm(forms.Form):
    allergies = forms.MultipleChoiceField(
        label=_("Allergies"),
        choices=Allergen.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    diet = forms.ChoiceField(label=_("Régime"), choices=Child.Diet.choices)


class CarePlanForm(forms.Form):
    valid_from = forms.DateField(label=_("PAI valable du"), widget=DateInput())
    valid_until = forms.DateField(label=_("PAI valable jusqu'au"), widget=DateInput())
    doctor_name = forms.CharField(label=_("Médecin"), max_length=200, required=False)
    instructions = forms.CharField(
        label=_("Consignes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    packed_lunch = forms.BooleanField(label=_("Panier-repas fourni par la famille"), required=False)
    file = forms.FileField(label=_("Document PAI signé (PDF, JPEG ou PNG)"), required=False)


class GuardianshipForm(forms.Form):
    legal_guardian = forms.BooleanField(label=_("Responsable légal"), required=False)
    billing_payer = forms.BooleanField(label=_("Payeur"), required=False)
    may_pick_up = forms.BooleanField(label=_("Peut venir chercher l'enfant"), required=False)
    receives_notifications = forms.BooleanField(label=_("Reçoit les notifications"), required=False)
    custody_weeks = forms.ChoiceField(
        label=_("Semaines de garde"), choices=ChildGuardian.Weeks.choices
    )
    billing_share_percent = forms.IntegerField(
        label=_("Part des frais (%)"), min_value=0, max_value=100
    )


class ApplicationForm(forms.Form):
    child = forms.ModelChoiceField(label=_("Enfant"), queryset=Child.objects.none())
    school_year = forms.ModelChoiceField(
        label=_("Année scolaire"), queryset=SchoolYear.objects.none()
    )
    school = forms.ModelChoiceField(
        label=_("École demandée"),
        queryset=School.objects.filter(is_active=True),
        help_text=_(
            "Votre école de secteur est proposée ; une autre école demande une dérogation."
        ),
    )
    grade = forms.CharField(label=_("Niveau (ex. CP, CE1)"), max_length=40, required=False)
    derogation_reason = forms.ChoiceField(
        label=_("Motif de dérogation (si l'école n'est pas celle du secteur)"),
        choices=SchoolApplication.DerogationReason.choices,
        required=False,
    )
    derogation_details = forms.CharField(
        label=_("Précisions sur la dérogation"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def __init__(self, *args, children=None, years=None, **kwargs):
        super().__init__(*args, **kwargs)
        if children is not None:
            self.fields["child"].queryset = children
        if years is not None:
            self.fields["school_year"].queryset = years


UPLOAD_KINDS = [
    (k, label)
    for k, label in DocumentKind.choices
    if k not in (DocumentKind.INCOME_PROOF, DocumentKind.CARE_PLAN)
]


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type de document"), choices=UPLOAD_KINDS)
    issued_on = forms.DateField(
        label=_("Date du document"),
        widget=DateInput(),
        required=False,
        help_text=_("Obligatoire pour un justificatif de domicile (moins de 3 mois)."),
    )
    file = forms.FileField(label=_("Fichier (PDF, JPEG ou PNG)"))


class RequestDocumentsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=_("Documents à demander"), choices=UPLOAD_KINDS, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label=_("Message à la famille"), max_length=300, required=False)


class DecisionForm(forms.Form):
    DECISION_LABELS = {
        "accept": _("Accepter"),
        "waitlist": _("Liste d'attente"),
        "refuse": _("Refuser"),
    }
    decision = forms.ChoiceField(label=_("Décision"), choices=list(DECISION_LABELS.items()))
    reason = forms.CharField(
        label=_("Motif (obligatoire pour un refus)"), max_length=500, required=False
    )

    def __init__(self, *args, actions: set[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if actions is not None:  # offer only the decisions the workflow allows from this state
            self.fields["decision"].choices = [
                (k, v) for k, v in self.DECISION_LABELS.items() if k in actions
            ]


class QueueFilterForm(forms.Form):
    state = forms.MultipleChoiceField(
        label=_("États"),
        choices=[
            c for c in SchoolApplication.State.choices if c[0] != SchoolApplication.State.DRAFT
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    school = forms.ModelChoiceField(
        label=_("École"), queryset=School.objects.none(), required=False
    )
    missing_documents = forms.BooleanField(label=_("Documents manquants seulement"), required=False)
    older_than_days = forms.IntegerField(
        label=_("Envoyées depuis au moins (jours)"), min_value=0, required=False
    )
    search = forms.CharField(
        label=_("Nom de l'enfant ou code de suivi"), max_length=100, required=False
    )
    derogation = forms.ChoiceField(
        label=_("Dérogations"),
        required=False,
        choices=[
            ("", _("Toutes les demandes")),
            ("any", _("Dérogations seulement")),
            ("opinion", _("En attente de l'avis de l'école de secteur")),
            ("decision", _("Avis donné, décision à prendre")),
            ("decided", _("Dérogations décidées")),
        ],
    )

    def __init__(self, *args, schools=None, **kwargs):
        super().__init__(*args, **kwargs)
        if schools is not None:
            self.fields["school"].queryset = schools


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action sur la sélection"),
        choices=[
            ("review", _("Passer en instruction")),
            ("accept", _("Accepter")),
            ("waitlist", _("Liste d'attente")),
            ("refuse", _("Refuser")),
        ],
    )
    reason = forms.CharField(label=_("Motif"), max_length=500, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Motif"), max_length=300, required=False)


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(label=_("Nombre de places"), min_value=0, max_value=10_000)


class ReenrolmentForm(forms.Form):
    canteen = forms.BooleanField(label=_("Mes enfants mangeront à la cantine"), required=False)
    activities = forms.BooleanField(
        label=_("Mes enfants continueront les activités périscolaires"), required=False
    )
    income_confirmed = forms.BooleanField(
        label=_("Mon quotient familial est à jour (sinon je dépose le nouveau)"), required=False
    )
    comment = forms.CharField(
        label=_("Commentaire"), max_length=500, required=False, widget=forms.Textarea({"rows": 3})
    )


class ReenrolmentCampaignForm(forms.Form):
    school_year = forms.ModelChoiceField(
        label=_("Année scolaire"),
        queryset=SchoolYear.objects.filter(closed_at__isnull=True).order_by("start_date"),
    )
    opens_on = forms.DateField(label=_("Ouverture"), widget=forms.DateInput({"type": "date"}))
    closes_on = forms.DateField(label=_("Clôture"), widget=forms.DateInput({"type": "date"}))


class DerogationOpinionForm(forms.Form):
    favourable = forms.TypedChoiceField(
        label=_("Avis de l'école de secteur"),
        choices=[("1", _("Favorable")), ("0", _("Défavorable"))],
        coerce=lambda v: v == "1",
    )
    comment = forms.CharField(label=_("Commentaire"), max_length=500, required=False)


class DerogationDecisionForm(forms.Form):
    granted = forms.TypedChoiceField(
        label=_("Décision"),
        choices=[("1", _("Accorder la dérogation")), ("0", _("Refuser la dérogation"))],
        coerce=lambda v: v == "1",
    )
    reason = forms.CharField(label=_("Motif"), max_length=500, required=False)
    commission_date = forms.DateField(
        label=_("Date de la commission"), required=False, widget=forms.DateInput({"type": "date"})
    )


class IllnessForm(forms.Form):
    first_day = forms.DateField(
        label=_("Premier jour d'absence"), widget=forms.DateInput({"type": "date"})
    )
    last_day = forms.DateField(
        label=_("Dernier jour d'absence"), widget=forms.DateInput({"type": "date"})
    )
    certificate = forms.FileField(label=_("Certificat médical (facultatif)"), required=False)
