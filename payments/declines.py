"""Why a payment failed, in the reader's language. Providers answer with codes (Stripe's
``decline_code`` / ``code``) and English text; pages never show the English text: a known code or a
known English sentence becomes its French message, anything else a generic French one."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

DECLINE_MESSAGES = {
    "card_declined": _("Votre banque a refusé le paiement."),
    "generic_decline": _("Votre banque a refusé le paiement."),
    "do_not_honor": _("Votre banque a refusé le paiement."),
    "insufficient_funds": _("Le solde ou le plafond de la carte est insuffisant."),
    "expired_card": _("La carte a expiré."),
    "incorrect_cvc": _("Le cryptogramme (code à trois chiffres) est incorrect."),
    "incorrect_number": _("Le numéro de carte est incorrect."),
    "invalid_expiry_month": _("La date d'expiration est incorrecte."),
    "invalid_expiry_year": _("La date d'expiration est incorrecte."),
    "lost_card": _("Cette carte ne peut pas être utilisée."),
    "stolen_card": _("Cette carte ne peut pas être utilisée."),
    "processing_error": _("Une erreur technique a interrompu le paiement."),
    "authentication_required": _("Votre banque demande une authentification qui n'a pas abouti."),
    "payment_intent_authentication_failure": _(
        "L'authentification auprès de votre banque a échoué."
    ),
}
# Stripe's English sentences, for payments recorded before codes were kept.
ENGLISH_TEXTS = {
    "your card was declined": "card_declined",
    "your card has insufficient funds": "insufficient_funds",
    "your card has expired": "expired_card",
    "your card's security code is incorrect": "incorrect_cvc",
    "your card number is incorrect": "incorrect_number",
    "an error occurred while processing your card": "processing_error",
}
GENERIC = _("Le paiement a été refusé.")


def decline_code(*, code: str = "", decline_code: str = "", message: str = "") -> str:
    """What to store for a failed payment: the most precise code the provider gave."""
    return decline_code or code or message


def decline_reason_key(stored: str) -> str:
    """The French source of :func:`decline_reason` (a translation key, for stored notices)."""
    from backend.core.text import source_text

    key = (stored or "").strip()
    if key in DECLINE_MESSAGES:
        return source_text(DECLINE_MESSAGES[key])
    text = key.lower().rstrip(". ")
    for english, code in ENGLISH_TEXTS.items():
        if text.startswith(english):
            return source_text(DECLINE_MESSAGES[code])
    return source_text(GENERIC)


def decline_reason(stored: str) -> str:
    """The French (or English interface) sentence for a stored failure code or provider text."""
    from django.utils.translation import gettext

    return gettext(decline_reason_key(stored))
