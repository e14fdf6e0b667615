"""Reads of payment data, for this app's pages and for other apps."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.money import format_money

from .models import Account, Invoice, LedgerEntry, Payment, PaymentSettings


def booking_block_reason(*, household) -> str | None:
    """Why this household may not make new bookings, or ``None``.

    The optional city rule "block new bookings past N days overdue": ``None`` whenever the rule is
    off (``PaymentSettings.block_bookings_after_days`` empty) or no invoice is that late. Meals
    already booked and meals eaten without a booking are never refused.
    """
    days = PaymentSettings.current().block_bookings_after_days
    if days is None:
        return None
    limit = timezone.localdate() - dt.timedelta(days=days)
    oldest = (
        Invoice.objects.filter(
            household_id=getattr(household, "pk", household),
            status__in=Invoice.OPEN_STATUSES,
            due_date__lt=limit,
        )
        .order_by("due_date")
        .first()
    )
    if oldest is None:
        return None
    return _(
        "La facture %(number)s est impayée depuis le %(due)s : les nouvelles réservations sont "
        "suspendues jusqu'à son règlement. Les repas déjà réservés restent servis."
    ) % {
        "number": oldest.number,
        "due": oldest.due_date.strftime("%d/%m/%Y") if oldest.due_date else "",
    }


def account_balance_cents(*, account: Account) -> int:
    return account.entries.aggregate(total=Sum("amount_cents"))["total"] or 0


def balances_for_accounts(*, account_ids) -> dict[int, int]:
    rows = (
        LedgerEntry.objects.filter(account_id__in=list(account_ids))
        .values("account_id")
        .annotate(total=Sum("amount_cents"))
    )
    return {row["account_id"]: row["total"] or 0 for row in rows}


def household_balance_cents(*, household) -> int:
    return (
        LedgerEntry.objects.filter(household=household).aggregate(total=Sum("amount_cents"))[
            "total"
        ]
        or 0
    )


def open_invoices(*, accounts: QuerySet[Account] | list[Account]) -> QuerySet[Invoice]:
    return Invoice.objects.filter(account__in=accounts, status__in=Invoice.OPEN_STATUSES).order_by(
        "period"
    )


def pending_debit_invoice_ids(*, invoice_ids) -> set[int]:
    """Invoices with a SEPA debit (or card payment) still settling."""
    return set(
        Payment.objects.filter(
            allocations__invoice_id__in=list(invoice_ids),
            status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING],
        )
        .filter(Q(provider=Payment.Provider.SEPA) | Q(status=Payment.Status.PROCESSING))
        .values_list("allocations__invoice_id", flat=True)
    )


def format_cents(cents: int, currency: str = "EUR") -> str:
    return format_money(cents, currency)
