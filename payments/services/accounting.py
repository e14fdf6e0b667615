"""Treasury export, reconciliation against the provider, dunning reminders."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exports import csv_bytes
from backend.core.money import plain_amount
from backend.core.services import notification_send

from ..models import DunningReminder, Invoice, LedgerEntry, Payment, PaymentSettings
from ..providers import as_dict, stripe_configure
from ..selectors import format_cents
from .billing import period_bounds

logger = logging.getLogger(__name__)

SERVICES = ("all", "restauration", "periscolaire", "encaissements", "regularisations")


def service_of(kind: str, source_key: str) -> str:
    """Every ledger entry belongs to exactly one service, so the per-service exports add up to
    the "all" export: charges and their credit notes to the service billed, payments, refunds
    and reversals to "encaissements", manual adjustments to "regularisations"."""
    if kind == LedgerEntry.Kind.ACTIVITY_CHARGE:
        return "periscolaire"
    if kind == LedgerEntry.Kind.MEAL_CHARGE:
        return "restauration"
    if kind == LedgerEntry.Kind.CREDIT_NOTE:
        return "periscolaire" if source_key.endswith(":activity:credit_note") else "restauration"
    if kind == LedgerEntry.Kind.ADJUSTMENT:
        return "regularisations"
    return "encaissements"


def _service_filter(service: str) -> Q:
    credit = Q(kind=LedgerEntry.Kind.CREDIT_NOTE)
    activity_credit = credit & Q(source_key__endswith=":activity:credit_note")
    return {
        "restauration": Q(kind=LedgerEntry.Kind.MEAL_CHARGE) | (credit & ~activity_credit),
        "periscolaire": Q(kind=LedgerEntry.Kind.ACTIVITY_CHARGE) | activity_credit,
        "encaissements": Q(
            kind__in=[LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.REFUND, LedgerEntry.Kind.REVERSAL]
        ),
        "regularisations": Q(kind=LedgerEntry.Kind.ADJUSTMENT),
    }.get(service, Q())


EXPORT_COLUMNS = [
    "date",
    "ecriture",
    "service",
    "type",
    "foyer_id",
    "foyer",
    "payeur",
    "facture",
    "paiement",
    "moyen",
    "reference_prestataire",
    "montant_centimes",
    "montant",
    "devise",
    "motif",
]


def treasury_export_rows(*, period: dt.date, service: str = "all") -> tuple[list[list], int]:
    """Every ledger entry of the period for ``service`` (one row each, signed cents) and the
    total."""
    if service not in SERVICES:
        raise ValueError(service)
    start, end = period_bounds(period)
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    qs = (
        LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until)
        .filter(_service_filter(service))
        .select_related("household", "account__guardian__user", "invoice", "payment")
        .order_by("created_at", "id")
    )
    rows, total = [], 0
    for e in qs.iterator(chunk_size=2000):
        total += e.amount_cents
        rows.append(
            [
                timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
                e.pk,
                service_of(e.kind, e.source_key),
                e.kind,
                e.household_id,
                e.household.name,
                e.account.guardian.user.get_full_name() or e.account.guardian.user.email,
                e.invoice.number if e.invoice else "",
                e.payment.receipt_number if e.payment else "",
                e.payment.provider if e.payment else "",
                (e.payment.provider_reference or e.payment.counter_reference) if e.payment else "",
                e.amount_cents,
                plain_amount(e.amount_cents),
                e.currency,
                e.reason,
            ]
        )
    return rows, total


def treasury_export_csv(*, period: dt.date, service: str = "all") -> bytes:
    """The treasury CSV (through the project's safe export helper: no cell can run a formula),
    ending with a TOTAL row."""
    rows, total = treasury_export_rows(period=period, service=service)
    blank = [""] * 8
    rows.append(["TOTAL", "", service, *blank, total, plain_amount(total), "", ""])
    return csv_bytes(rows, header=EXPORT_COLUMNS)


@dataclass
class ReconciliationReport:
    matched: list[dict] = field(default_factory=list)
    missing_in_ledger: list[dict] = field(default_factory=list)  # provider succeeded, we did not
    missing_at_provider: list[dict] = field(
        default_factory=list
    )  # we say succeeded, provider does not
    amount_mismatch: list[dict] = field(default_factory=list)
    provider_error: str = ""

    @property
    def ok(self) -> bool:
        return not (
            self.missing_in_ledger
            or self.missing_at_provider
            or self.amount_mismatch
            or self.provider_error
        )


def reconcile(*, provider_items: list[dict], payments: list[Payment]) -> ReconciliationReport:
    """Match provider payments (``{"reference", "amount", "status"}``) against our payments."""
    report = ReconciliationReport()
    ours = {p.provider_reference: p for p in payments if p.provider_reference}
    seen = set()
    for item in provider_items:
        ref = item["reference"]
        payment = ours.get(ref)
        succeeded_there = item.get("status") == "succeeded"
        if payment is None:
            if succeeded_there:
                report.missing_in_ledger.append(item)
            continue
        seen.add(ref)
        succeeded_here = payment.status in Payment.MONEY_STATUSES
        row = {
            "reference": ref,
            "payment": payment.pk,
            "amount": item["amount"],
            "ours": payment.amount_cents,
        }
        if succeeded_there != succeeded_here:
            (report.missing_in_ledger if succeeded_there else report.missing_at_provider).append(
                row
            )
        elif item["amount"] != payment.amount_cents:
            report.amount_mismatch.append(row)
        elif succeeded_here:
            report.matched.append(row)
    for ref, payment in ours.items():
        if ref not in seen and payment.status in Payment.MONEY_STATUSES:
            report.missing_at_provider.append(
                {"reference": ref, "payment": payment.pk, "ours": payment.amount_cents}
            )
    return report


def reconcile_stripe_period(*, period: dt.date) -> ReconciliationReport:
    """Compare the PaymentIntents Stripe knows for the period with our Stripe/SEPA payments."""
    start, end = period_bounds(period)
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    payments = list(
        Payment.objects.filter(
            provider__in=[Payment.Provider.STRIPE, Payment.Provider.SEPA],
            created_at__gte=since,
            created_at__lt=until,
        )
    )
    items: list[dict] = []
    stripe_configure()
    gte, lt = int(since.timestamp()), int(until.timestamp())
    try:
        try:
            listing = stripe.PaymentIntent.list(created={"gte": gte, "lt": lt}, limit=100)
        except stripe.InvalidRequestError:
            # localstripe (the demo) refuses the ``created`` filter: list and filter here.
            listing = stripe.PaymentIntent.list(limit=100)
        for item in listing.auto_paging_iter():
            intent = as_dict(item)
            if not gte <= int(intent.get("created") or 0) < lt:
                continue
            items.append(
                {"reference": intent["id"], "amount": intent["amount"], "status": intent["status"]}
            )
    except stripe.StripeError as exc:
        report = reconcile(provider_items=[], payments=[])
        report.provider_error = str(exc)
        return report
    return reconcile(provider_items=items, payments=payments)


def dunning_send_reminders(*, today: dt.date | None = None) -> int:
    """Remind payers of overdue invoices at each configured level (7, 21, 45 days...), once each."""
    conf = PaymentSettings.current()
    today = today or timezone.localdate()
    levels = sorted(int(d) for d in (conf.dunning_days or []) if str(d).isdigit())
    sent = 0
    if not levels:
        return 0
    overdue = Invoice.objects.filter(
        status__in=Invoice.OPEN_STATUSES, due_date__lt=today - dt.timedelta(days=levels[0] - 1)
    ).select_related("account__guardian__user")
    for invoice in overdue.iterator(chunk_size=500):
        if invoice.due_date is None:
            continue
        late = (today - invoice.due_date).days
        reached = [i for i, days in enumerate(levels, start=1) if late >= days]
        if not reached:
            continue
        level = reached[-1]
        try:
            with transaction.atomic():
                DunningReminder.objects.create(invoice=invoice, level=level)
                notification_send(
                    user=invoice.account.guardian.user,
                    subject=_("Rappel : facture %(number)s impayée") % {"number": invoice.number},
                    body=_(
                        "La facture %(number)s (%(amount)s restant dû) était à régler avant le %(due)s. "
                        "Vous pouvez la payer en ligne ou au guichet de la mairie."
                    )
                    % {
                        "number": invoice.number,
                        "amount": format_cents(invoice.outstanding_cents, invoice.currency),
                        "due": invoice.due_date.strftime("%d/%m/%Y"),
                    },
                    url=f"/paiements/factures/{invoice.pk}/",
                )
        except IntegrityError:
            continue  # this level was already sent
        sent += 1
    return sent
