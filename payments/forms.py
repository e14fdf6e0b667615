"""Forms of the payment pages. Amounts typed in euros are turned into integer cents here, once."""

from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.core.exceptions import ApplicationError
from backend.core.money import format_money, parse_amount

from .models import Payment, PaymentSettings
from .services.accounting import SERVICES
from .services.billing import parse_period


def euros_to_cents(value: str) -> int:
    """``"12,50"`` → 1250 (:func:`backend.core.money.parse_amount`), as a form error."""
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


class EurosField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        return euros_to_cents(value)


class PeriodField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Période (AAAA-MM)"))
        kwargs.setdefault("max_length", 7)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"placeholder": "2026-10", "pattern": r"\d{4}-\d{2}", "inputmode": "numeric"}
        )

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return None
        try:
            return parse_period(value)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message)


def next_month() -> str:
    """The coming month as ``YYYY-MM`` (the value a ``PeriodField`` accepts)."""
    first = timezone.localdate().replace(day=1)
    return f"{first + dt.timedelta(days=32):%Y-%m}"


def previous_month() -> str:
    """The month before this one as ``YYYY-MM`` (the billing and export forms' default)."""
    first = timezone.localdate().replace(day=1)
    return f"{first - dt.timedelta(days=1):%Y-%m}"


class BillingRunForm(forms.Form):
    period = PeriodField()
    issue = forms.BooleanField(
        label=_("Émettre les factures et prévenir les familles par e-mail"),
        required=False,
        initial=True,
    )


class ExportForm(forms.Form):
    period = PeriodField()
    service = forms.ChoiceField(
        label=_("Service"),
        choices=[
            ("all", _("Tout")),
            ("restauration", _("Restauration scolaire")),
            ("periscolaire", _("Périscolaire")),
            ("encaissements", _("Encaissements et remboursements")),
            ("regularisations", _("Régularisations")),
        ],
    )

    def clean_service(self):
        service = self.cleaned_data["service"]
        if service not in SERVICES:
            raise forms.ValidationError(_("Service inconnu."))
        return service


class RefundForm(forms.Form):
    amount = EurosField(label=_("Montant à rembourser (€)"), max_length=12)
    reason = forms.CharField(label=_("Motif"), max_length=255)
    # One token per displayed form: submitting it twice is one refund.
    token = forms.RegexField(r"^[0-9a-f]{32}$", widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class AdjustmentForm(forms.Form):
    """A finance correction of one payer's balance (a new ledger entry with its reason)."""

    direction = forms.ChoiceField(
        label=_("Sens"),
        choices=[
            ("credit", _("En faveur de la famille (avoir)")),
            ("debit", _("À la charge de la famille")),
        ],
    )
    amount = EurosField(label=_("Montant (€)"), max_length=12)
    reason = forms.CharField(label=_("Motif"), max_length=255)

    def signed_cents(self) -> int:
        cents = self.cleaned_data["amount"]
        return cents if self.cleaned_data["direction"] == "credit" else -cents


class BillingModeForm(forms.Form):
    mode = forms.ChoiceField(label=_("Mode de facturation"), choices=PaymentSettings.Mode.choices)
    effective_from = PeriodField(label=_("À partir du mois (AAAA-MM)"))
    reason = forms.CharField(label=_("Motif"), max_length=255, required=False)


class CounterPaymentForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Moyen"),
        choices=[(Payment.Provider.CASH, _("Espèces")), (Payment.Provider.CHEQUE, _("Chèque"))],
    )
    amount = EurosField(label=_("Montant reçu (€)"), max_length=12)
    reference = forms.CharField(label=_("N° de chèque ou de reçu"), max_length=64, required=False)
    invoices = forms.MultipleChoiceField(
        label=_("Factures réglées"), required=False, widget=forms.CheckboxSelectMultiple
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = [  # type: ignore[attr-defined]  # a MultipleChoiceField
            (str(i.pk), f"{i.number} — {format_money(i.outstanding_cents, i.currency)}")
            for i in invoices
        ]
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


class CancelInvoiceForm(forms.Form):
    reason = forms.CharField(label=_("Motif de l'annulation"), max_length=255)


class SepaMandateForm(forms.Form):
    iban = forms.CharField(
        label=_("IBAN"),
        max_length=42,
        help_text=_("Le compte à débiter chaque mois, après chaque facture."),
    )
    accept = forms.BooleanField(
        label=_(
            "J'autorise la commune à envoyer des instructions à ma banque pour débiter mon compte, "
            "et ma banque à débiter mon compte conformément à ces instructions (mandat SEPA)."
        )
    )


class TopUpForm(forms.Form):
    amount = EurosField(label=_("Montant du rechargement (€)"), max_length=12)
    token = forms.RegexField(r"^[0-9a-f]{32}$", widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["token"] = uuid.uuid4().hex


TEST_CARDS = [
    ("pm_card_visa", _("Visa de test acceptée (4242 4242 4242 4242)")),
    ("pm_card_chargeCustomerFail", _("Carte de test refusée (4000 0000 0000 0341)")),
]


class TestCardForm(forms.Form):
    payment_method = forms.ChoiceField(
        label=_("Carte de test (environnement de démonstration)"),
        choices=TEST_CARDS,
        widget=forms.RadioSelect,
        initial="pm_card_visa",
    )
