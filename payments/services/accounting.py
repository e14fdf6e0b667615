"""Treasury export, reconciliation against the provider, dunning reminders."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from backend.core.exports import csv_bytes
from backend.core.money import plain_amount
from backend.core.services import notification_send

from ..models import DunningReminder, Invoice, LedgerEntry, Payment, PaymentSettings, Refund
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
    refund_mismatch: list[dict] = field(default_factory=list)  # refunded there ≠ refunded here
    provider_error: str = ""
    # "balance_transactions" (money that moved through the provider's balance) or
    # "payment_intents" (the fallback when the balance history cannot be read)
    source: str = "payment_intents"
    payouts: list[dict] = field(default_factory=list)  # the provider's payouts of the period

    @property
    def ok(self) -> bool:
        return not (
            self.missing_in_ledger
            or self.missing_at_provider
            or self.amount_mismatch
            or self.refund_mismatch
            or self.provider_error
        )

    @property
    def mismatches(self) -> list[dict]:
        """Every difference, provider and ledger side by side, each with its ``problem``."""
        rows = []
        for problem, items in (
            ("missing_in_ledger", self.missing_in_ledger),
            ("missing_at_provider", self.missing_at_provider),
            ("amount_mismatch", self.amount_mismatch),
            ("refund_mismatch", self.refund_mismatch),
        ):
            rows += [
                {
                    # rows of the PaymentIntent fallback carry only ``amount`` and ``ours``
                    "provider_charged": row.get("amount", 0),
                    "ledger_charged": row.get("ours", 0),
                    "provider_refunded": 0,
                    "ledger_refunded": 0,
                    **row,
                    "problem": problem,
                }
                for row in items
            ]
        return rows


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


def _period_window(period: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start, end = period_bounds(period)
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return since, until


def _list_created_between(resource: Any, gte: int, lt: int, **params: Any) -> list[dict]:
    """``resource.list(created=…)``; localstripe refuses the ``created`` filter (and
    ``expand``) with "Unexpected …": then list everything and filter here."""
    try:
        listing = resource.list(created={"gte": gte, "lt": lt}, limit=100, **params)
    except stripe.InvalidRequestError:
        listing = resource.list(limit=100)
    items = (as_dict(x) for x in listing.auto_paging_iter())
    return [i for i in items if gte <= int(i.get("created") or 0) < lt]


def _intent_of_source(source: Any, cache: dict[str, str]) -> str:
    """The PaymentIntent behind a balance transaction's source (a charge ``ch_`` or a refund
    ``re_``, expanded by Stripe, an id with localstripe)."""
    if isinstance(source, dict):
        if source.get("payment_intent"):
            return str(source["payment_intent"])
        source = source.get("id") or ""
    source = str(source or "")
    if source in cache:
        return cache[source]
    intent = ""
    if source.startswith("ch_"):
        intent = str(as_dict(stripe.Charge.retrieve(source)).get("payment_intent") or "")
    elif source.startswith(("re_", "pyr_")):
        refund = as_dict(stripe.Refund.retrieve(source))
        intent = str(refund.get("payment_intent") or "")
        if not intent and refund.get("charge"):
            intent = _intent_of_source(str(refund["charge"]), cache)
    cache[source] = intent
    return intent


def _balance_by_intent(gte: int, lt: int) -> dict[str, dict[str, int]]:
    """Money that moved through the provider's balance in the window, per PaymentIntent:
    ``{"charged": gross charges, "refunded": refunds (positive), "fee": fees}``."""
    out: dict[str, dict[str, int]] = {}
    cache: dict[str, str] = {}
    for txn in _list_created_between(stripe.BalanceTransaction, gte, lt, expand=["data.source"]):
        kind = txn.get("type")
        if kind not in ("charge", "payment", "refund", "payment_refund"):
            continue  # payouts, fees, adjustments: not a family's payment
        intent = _intent_of_source(txn.get("source"), cache)
        if not intent:
            continue
        row = out.setdefault(intent, {"charged": 0, "refunded": 0, "fee": 0})
        amount = int(txn.get("amount") or 0)
        if kind in ("charge", "payment"):
            row["charged"] += amount
        else:
            row["refunded"] += -amount
        row["fee"] += int(txn.get("fee") or 0)
    return out


def _payouts(gte: int, lt: int) -> list[dict]:
    """The provider's payouts of the window (for the treasury: what reached the bank)."""
    try:
        rows = _list_created_between(stripe.Payout, gte, lt)
    except stripe.StripeError:
        return []
    return [
        {
            "reference": p.get("id"),
            "amount": int(p.get("amount") or 0),
            "status": p.get("status"),
            "arrival_date": p.get("arrival_date"),
        }
        for p in rows
    ]


def reconcile_balance(
    *,
    balance: dict[str, dict[str, int]],
    payments: list[Payment],
    refunded_here: dict[str, tuple[int, int]],
) -> ReconciliationReport:
    """Match the provider's balance movements of a period (per PaymentIntent: charged, refunded)
    against our Stripe/SEPA payments created in the period and the refunds made in the period
    (``refunded_here``: reference → (payment id, cents), whatever the payment's period). Every
    difference keeps both sides (``provider_*`` and ``ledger_*``)."""
    report = ReconciliationReport(source="balance_transactions")
    ours = {p.provider_reference: p for p in payments if p.provider_reference}
    for ref in sorted(set(balance) | set(ours) | set(refunded_here)):
        there = balance.get(ref, {"charged": 0, "refunded": 0, "fee": 0})
        payment = ours.get(ref)
        charged_here = (
            payment.amount_cents if payment and payment.status in Payment.MONEY_STATUSES else 0
        )
        payment_id, refunded = refunded_here.get(ref, (payment.pk if payment else None, 0))
        row = {
            "reference": ref,
            "payment": payment_id,
            "provider_charged": there["charged"],
            "provider_refunded": there["refunded"],
            "provider_fee": there["fee"],
            "ledger_charged": charged_here,
            "ledger_refunded": refunded,
            # the keys of the PaymentIntent listing, for the same template and callers
            "amount": there["charged"],
            "ours": payment.amount_cents if payment else 0,
        }
        if charged_here and not there["charged"]:
            report.missing_at_provider.append(row)
        elif there["charged"] and not charged_here:
            report.missing_in_ledger.append(row)
        elif there["charged"] != charged_here:
            report.amount_mismatch.append(row)
        elif there["refunded"] != refunded:
            report.refund_mismatch.append(row)
        elif charged_here or refunded:
            report.matched.append(row)
    return report


def _reconcile_intents(gte: int, lt: int, payments: list[Payment]) -> ReconciliationReport:
    """The fallback: PaymentIntents created in the period against our payments."""
    items = [
        {"reference": i["id"], "amount": i["amount"], "status": i["status"]}
        for i in _list_created_between(stripe.PaymentIntent, gte, lt)
    ]
    return reconcile(provider_items=items, payments=payments)


def reconcile_stripe_period(*, period: dt.date) -> ReconciliationReport:
    """Compare what moved through the provider in the period with our Stripe/SEPA payments.

    Real Stripe: the balance transactions of the period (charges and refunds, each traced back to
    its PaymentIntent) against our payments and the refunds made in the period, and the payouts
    of the period. When the balance history cannot be read, the PaymentIntents created in the
    period against our payments (what the demo's localstripe always supports)."""
    since, until = _period_window(period)
    gte, lt = int(since.timestamp()), int(until.timestamp())
    payments = list(
        Payment.objects.filter(
            provider__in=[Payment.Provider.STRIPE, Payment.Provider.SEPA],
            created_at__gte=since,
            created_at__lt=until,
        )
    )
    refunded_here: dict[str, tuple[int, int]] = {}
    for ref, payment_id, cents in Refund.objects.filter(
        payment__provider__in=[Payment.Provider.STRIPE, Payment.Provider.SEPA],
        payment__provider_reference__isnull=False,
        status=Refund.Status.SUCCEEDED,
        created_at__gte=since,
        created_at__lt=until,
    ).values_list("payment__provider_reference", "payment_id", "amount_cents"):
        before = refunded_here.get(str(ref), (payment_id, 0))[1]
        refunded_here[str(ref)] = (payment_id, before + cents)
    stripe_configure()
    try:
        try:
            balance = _balance_by_intent(gte, lt)
        except stripe.StripeError as exc:
            logger.info("balance history unavailable (%s): PaymentIntents instead", exc)
            return _reconcile_intents(gte, lt, payments)
        report = reconcile_balance(balance=balance, payments=payments, refunded_here=refunded_here)
        report.payouts = _payouts(gte, lt)
        return report
    except stripe.StripeError as exc:
        report = reconcile(provider_items=[], payments=[])
        report.provider_error = str(exc)
        return report


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
                    subject_key=gettext_noop("Rappel : facture %(number)s impayée"),
                    body_key=gettext_noop(
                        "La facture %(number)s (%(amount)s restant dû) était à régler avant le %(due)s. "
                        "Vous pouvez la payer en ligne ou au guichet de la mairie."
                    ),
                    params={
                        "number": invoice.number,
                        "amount": format_cents(invoice.outstanding_cents, invoice.currency),
                        "due": invoice.due_date.strftime("%d/%m/%Y"),
                    },
                    category="payments",
                    url=f"/paiements/factures/{invoice.pk}/",
                )
        except IntegrityError:
            continue  # this level was already sent
        sent += 1
    return sent
