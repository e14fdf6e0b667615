"""Money, one way: integer cents plus an ISO currency code, shown in the reader's language.

- Amounts are ``int`` cents everywhere (models, services, APIs). No float ever holds money;
  ``Decimal`` only appears when a person types an amount (:func:`parse_amount`).
- :func:`format_money` is the only way money becomes text, for pages (the ``money`` template
  filter, available in every template), emails, PDFs and messages: French ``1 234,50 €``
  (narrow no-break space between thousands, no-break space before the symbol), English
  ``€1,234.50``. Other currencies show their code (``12,00 CHF``).
- :func:`plain_amount` is the export form for spreadsheets (``1234,50``: no symbol, no grouping,
  comma decimal as French spreadsheets expect).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils.translation import get_language
from django.utils.translation import gettext as _

SYMBOLS = {"EUR": "€"}


def _parts(cents: int) -> tuple[str, int, int]:
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return sign, euros, rest


def format_money(cents: int, currency: str = "EUR", *, language: str | None = None) -> str:
    """``1234`` → ``12,34 €`` (French) or ``€12.34`` (English)."""
    sign, units, rest = _parts(cents)
    code = (currency or "EUR").upper()
    symbol = SYMBOLS.get(code, code)
    lang = (language or get_language() or "fr").lower()
    if lang.startswith("en"):
        grouped = f"{units:,}"
        if symbol == code:
            return f"{sign}{grouped}.{rest:02d} {code}"
        return f"{sign}{symbol}{grouped}.{rest:02d}"
    grouped = f"{units:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{rest:02d}\u00a0{symbol}"


def plain_amount(cents: int) -> str:
    """``-123456`` → ``-1234,56`` (exports)."""
    sign, units, rest = _parts(cents)
    return f"{sign}{units},{rest:02d}"


def parse_amount(text: str) -> int:
    """What a person typed (``12,50``, ``12.5``, ``1 234,50 €``) → cents; ``ValueError`` with a
    readable message for negatives, zero, more than two decimals or anything else."""
    cleaned = (
        str(text or "")
        .strip()
        .replace("\u00a0", "")
        .replace("\u202f", "")
        .replace(" ", "")
        .replace("€", "")
        .replace(",", ".")
    )
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(_("Montant invalide : écrivez par exemple 12,50.")) from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError(_("Le montant doit être positif."))
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(_("Deux décimales au plus."))
    if amount > Decimal("100000"):
        raise ValueError(_("Montant trop élevé."))
    return int(amount * 100)
