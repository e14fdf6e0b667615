"""Reads of payment data, for this app's pages and for other apps."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum
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
    """Invoices with a SEPA debit submitted to the bank (or a card payment) still settling.

    A debit that never reached the provider (no reference) does not hide the invoice: the
    family can still pay it while the debit is retried."""
    return set(
        Payment.objects.filter(
            allocations__invoice_id__in=list(invoice_ids),
            allocations__is_open_attempt=True,
            status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING],
            provider_reference__isnull=False,
        )
        .filter(Q(provider=Payment.Provider.SEPA) | Q(status=Payment.Status.PROCESSING))
        .values_list("allocations__invoice_id", flat=True)
    )


def format_cents(cents: int, currency: str = "EUR") -> str:
    return format_money(cents, currency)


def household_modes(*, period: dt.date) -> tuple[str, dict[int, str]]:
    """The city's default billing mode and each household's own mode for the month of
    ``period`` (the latest change effective on or before its 1st)."""
    from .models import BillingModeChange

    first = period.replace(day=1)
    modes: dict[int, str] = {}
    for household_id, mode in (
        BillingModeChange.objects.filter(effective_from__lte=first)
        .order_by("household_id", "effective_from")
        .values_list("household_id", "mode")
    ):
        modes[household_id] = mode
    return PaymentSettings.current().mode, modes


def household_is_prepaid(*, period: dt.date):
    """A predicate ``household_id -> bool`` for the month of ``period`` (two queries once)."""
    default, modes = household_modes(period=period)

    def is_prepaid(household_id: int) -> bool:
        return modes.get(household_id, default) == PaymentSettings.Mode.PREPAID

    return is_prepaid


def billing_mode_of(*, household_id: int, period: dt.date) -> str:
    return (
        PaymentSettings.Mode.PREPAID
        if household_is_prepaid(period=period)(household_id)
        else PaymentSettings.Mode.POSTPAID
    )


def amount_due_for_user(*, user) -> dict:
    """What a parent owes now: open invoices (a SEPA debit still settling is not "due") and
    their total. Feeds the parent's home page."""
    from .permissions import invoices_for_user

    invoices = list(
        invoices_for_user(user).filter(status__in=Invoice.OPEN_STATUSES).order_by("due_date")
    )
    pending = pending_debit_invoice_ids(invoice_ids=[i.pk for i in invoices])
    due = [i for i in invoices if i.pk not in pending]
    return {
        "invoices": due,
        "total_cents": sum(i.outstanding_cents for i in due),
        "next_due": min((i.due_date for i in due if i.due_date), default=None),
    }


def unpaid_by_month(*, months: int = 6):
    """City dashboard (pandas): unpaid amount and number of open invoices per billing month, with
    how many dunning reminders were sent for them."""
    import pandas as pd

    from .models import DunningReminder

    rows = list(
        Invoice.objects.filter(status__in=Invoice.OPEN_STATUSES).values_list(
            "pk", "period", "total_cents", "paid_cents"
        )
    )
    frame = pd.DataFrame(rows, columns=["invoice", "period", "total", "paid"])
    if frame.empty:
        return pd.DataFrame(columns=["period", "unpaid_cents", "invoices", "reminders"])
    reminders = dict(
        DunningReminder.objects.filter(invoice_id__in=frame["invoice"].tolist())
        .values("invoice_id")
        .annotate(n=Count("id"))
        .values_list("invoice_id", "n")
    )
    frame["unpaid_cents"] = (frame["total"] - frame["paid"]).clip(lower=0)
    frame["reminders"] = frame["invoice"].map(reminders).fillna(0).astype(int)
    out = (
        frame.groupby("period", as_index=False)
        .agg(
            unpaid_cents=("unpaid_cents", "sum"),
            invoices=("invoice", "count"),
            reminders=("reminders", "sum"),
        )
        .sort_values("period")
        .tail(months)
        .reset_index(drop=True)
    )
    return out
