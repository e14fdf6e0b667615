"""``payments_audit``: the invariants of the books, checked on a live database.

1. Ledger = documents: each account's ledger entries are exactly what its documents say —
   one +amount per succeeded (or later reversed) payment, one −amount per succeeded refund,
   one −kept per reversal, the charges of each issued invoice (−total), the credit notes of each
   cancelled issued invoice (+total); adjustments and prepaid meal debits are ledger-only. So the
   balance (the sum of the entries) is what the documents add up to.
2. Each invoice's paid amount = the money its allocations applied (payments' allocations minus
   what refunds and reversals took back); a cancelled invoice holds nothing.
3. No invoice is paid twice: 0 ≤ paid ≤ total, status agrees with it, at most one open attempt.
4. Refunds never exceed what was captured: reserved = pending + succeeded refunds ≤ amount, and
   applied + refunded + reversed ≤ amount for every payment.
5. With Stripe reachable: every PaymentIntent we hold has the same amount and outcome at Stripe,
   the refunds Stripe made equal the refunds we recorded, and no succeeded PaymentIntent of ours
   is unknown here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from ..models import Invoice, LedgerEntry, Payment, PaymentAllocation, Refund


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    provider_checked: bool = False
    provider_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [
            "payments_audit: "
            + ", ".join(f"{k}={v}" for k, v in self.checked.items())
            + (
                " (Stripe compared)"
                if self.provider_checked
                else f" (Stripe not compared{': ' + self.provider_error if self.provider_error else ''})"
            )
        ]
        if self.ok:
            lines.append("OK: no finding.")
        else:
            lines.append(f"{len(self.problems)} finding(s):")
            lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


def _expected_ledger() -> dict[str, int]:
    """source_key → expected cents, from the documents."""
    expected: dict[str, int] = {}
    for pk, amount in Payment.objects.filter(status__in=Payment.MONEY_STATUSES).values_list(
        "pk", "amount_cents"
    ):
        expected[f"payment:{pk}"] = amount
    for pk, kept in Payment.objects.filter(status=Payment.Status.REVERSED).values_list(
        "pk", "reversed_cents"
    ):
        if kept:
            expected[f"reversal:{pk}"] = -kept
    for pk, amount in Refund.objects.filter(status=Refund.Status.SUCCEEDED).values_list(
        "pk", "amount_cents"
    ):
        expected[f"refund:{pk}"] = -amount
    return expected


def audit_books(*, provider: bool = False) -> AuditReport:
    report = AuditReport()
    problems = report.problems
    _check_money_entries(problems)  # 1. ledger = documents (payments, refunds, reversals)
    invoices = list(
        Invoice.objects.values_list(
            "pk", "number", "status", "total_cents", "paid_cents", "issued_at"
        )
    )
    _check_invoice_entries(problems, invoices)  # 1. ledger = documents (invoices)
    _check_invoices_paid(problems, invoices)  # 2 + 3. paid = applied; never over-paid
    _check_allocations(problems)
    payments = _check_refunds(problems)  # 4. refunds never exceed what was captured
    report.checked = {
        "invoices": len(invoices),
        "payments": payments,
        "ledger_entries": LedgerEntry.objects.count(),
    }
    if provider:
        _audit_provider(report)
    return report


def _check_money_entries(problems: list[str]) -> None:
    """Each payment, refund and reversal has exactly its ledger entry."""
    expected = _expected_ledger()
    entries = dict(
        LedgerEntry.objects.filter(
            Q(source_key__startswith="payment:")
            | Q(source_key__startswith="refund:")
            | Q(source_key__startswith="reversal:")
        ).values_list("source_key", "amount_cents")
    )
    for key in sorted(set(expected) | set(entries)):
        if expected.get(key) != entries.get(key):
            problems.append(
                _("ledger %(key)s: expected %(exp)s, ledger has %(got)s")
                % {"key": key, "exp": expected.get(key), "got": entries.get(key)}
            )


def _check_invoice_entries(problems: list[str], invoices: list[tuple]) -> None:
    """An issued invoice is charged its total; a cancelled one is credited it back."""
    invoice_sums: dict[int, dict[str, int]] = defaultdict(lambda: {"charge": 0, "credit": 0})
    for invoice_id, kind, total in (
        LedgerEntry.objects.filter(source_key__startswith="invoice:")
        .values("invoice_id", "kind")
        .annotate(total=Sum("amount_cents"))
        .values_list("invoice_id", "kind", "total")
    ):
        bucket = "credit" if kind == LedgerEntry.Kind.CREDIT_NOTE else "charge"
        invoice_sums[invoice_id][bucket] += total
    for pk, number, status, total, _paid, issued_at in invoices:
        sums = invoice_sums.get(pk, {"charge": 0, "credit": 0})
        issued = issued_at is not None and total > 0
        if sums["charge"] != (-total if issued else 0):
            problems.append(
                _("invoice %(n)s: charged %(got)s in the ledger, expected %(exp)s")
                % {"n": number, "got": sums["charge"], "exp": -total if issued else 0}
            )
        want_credit = total if issued and status == Invoice.Status.CANCELLED else 0
        if sums["credit"] != want_credit:
            problems.append(
                _("invoice %(n)s: credit notes %(got)s, expected %(exp)s")
                % {"n": number, "got": sums["credit"], "exp": want_credit}
            )


def _check_invoices_paid(problems: list[str], invoices: list[tuple]) -> None:
    """Invoice paid = applied allocations; never over-paid; its status agrees."""
    applied = dict(
        PaymentAllocation.objects.values("invoice_id")
        .annotate(t=Sum("applied_cents"))
        .values_list("invoice_id", "t")
    )
    for pk, number, status, total, paid, _issued in invoices:
        if paid != (applied.get(pk) or 0):
            problems.append(
                _("invoice %(n)s: paid %(paid)s but its allocations applied %(app)s")
                % {"n": number, "paid": paid, "app": applied.get(pk) or 0}
            )
        if paid < 0 or (paid > total):
            problems.append(
                _("invoice %(n)s: paid %(paid)s of %(total)s (paid twice?)")
                % {"n": number, "paid": paid, "total": total}
            )
        if status == Invoice.Status.CANCELLED and paid:
            problems.append(
                _("invoice %(n)s: cancelled but holds %(paid)s") % {"n": number, "paid": paid}
            )
        if status in Invoice.OPEN_STATUSES and total > 0 and paid >= total:
            problems.append(
                _("invoice %(n)s: fully paid but still %(s)s") % {"n": number, "s": status}
            )
        if status == Invoice.Status.PAID and paid < total:
            problems.append(
                _("invoice %(n)s: marked paid with %(paid)s of %(total)s")
                % {"n": number, "paid": paid, "total": total}
            )


def _check_allocations(problems: list[str]) -> None:
    """One open attempt per invoice at most; only succeeded payments pay invoices."""
    for row in (
        PaymentAllocation.objects.filter(is_open_attempt=True)
        .values("invoice_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ):
        problems.append(
            _("invoice #%(id)s: %(n)s open payment attempts")
            % {"id": row["invoice_id"], "n": row["n"]}
        )
    non_money = PaymentAllocation.objects.filter(applied_cents__gt=0).exclude(
        payment__status=Payment.Status.SUCCEEDED
    )
    for payment_id in non_money.values_list("payment_id", flat=True).distinct():
        problems.append(
            _("payment #%(p)s: not succeeded but applied to an invoice") % {"p": payment_id}
        )


def _check_refunds(problems: list[str]) -> int:
    """Refunds never exceed what was captured; returns how many payments were checked."""
    refunds: dict[int, dict[str, int]] = defaultdict(lambda: {"pending": 0, "succeeded": 0})
    for payment_id, status, total in (
        Refund.objects.values("payment_id", "status")
        .annotate(t=Sum("amount_cents"))
        .values_list("payment_id", "status", "t")
    ):
        if status in (Refund.Status.PENDING, Refund.Status.SUCCEEDED):
            refunds[payment_id][status] += total
    applied_by_payment = dict(
        PaymentAllocation.objects.values("payment_id")
        .annotate(t=Sum("applied_cents"))
        .values_list("payment_id", "t")
    )
    payments = list(
        Payment.objects.values_list(
            "pk", "status", "amount_cents", "refunded_cents", "reversed_cents"
        )
    )
    for pk, status, amount, refunded, reversed_ in payments:
        r = refunds.get(pk, {"pending": 0, "succeeded": 0})
        if refunded != r["pending"] + r["succeeded"]:
            problems.append(
                _("payment #%(p)s: refunded_cents %(a)s ≠ refunds %(b)s")
                % {"p": pk, "a": refunded, "b": r["pending"] + r["succeeded"]}
            )
        if r["succeeded"] and status not in Payment.MONEY_STATUSES:
            problems.append(_("payment #%(p)s: refunded but never captured") % {"p": pk})
        used = (applied_by_payment.get(pk) or 0) + r["succeeded"] + reversed_
        if status in Payment.MONEY_STATUSES and used > amount:
            problems.append(
                _("payment #%(p)s: applied + refunded + reversed = %(u)s > %(a)s")
                % {"p": pk, "u": used, "a": amount}
            )
    return len(payments)


def _audit_provider(report: AuditReport) -> None:
    """Money at Stripe = money recorded (PaymentIntents and refunds)."""
    import stripe
    from django.conf import settings

    from ..providers import stripe_configure

    if not settings.STRIPE_SECRET_KEY:
        report.provider_error = "no STRIPE_SECRET_KEY"
        return
    stripe_configure()
    try:
        intents, refunds_at = _provider_money()
    except stripe.StripeError as exc:
        report.provider_error = str(exc)
        return
    report.provider_checked = True
    _compare_recorded_payments(report.problems, intents, refunds_at)
    _find_unrecorded_intents(report.problems, intents)


def _provider_money() -> tuple[dict[str, dict], dict[str, int]]:
    """Every PaymentIntent at Stripe by id, and its succeeded refunds' total."""
    import stripe

    from ..providers import as_dict

    intents = {
        i["id"]: i
        for i in (as_dict(x) for x in stripe.PaymentIntent.list(limit=100).auto_paging_iter())
    }
    refunds_at: dict[str, int] = defaultdict(int)
    for item in stripe.Refund.list(limit=100).auto_paging_iter():
        r = as_dict(item)
        if r.get("status") == "succeeded" and r.get("payment_intent"):
            refunds_at[r["payment_intent"]] += int(r.get("amount") or 0)
    return intents, refunds_at


def _compare_recorded_payments(
    problems: list[str], intents: dict[str, dict], refunds_at: dict[str, int]
) -> None:
    """Each of our Stripe/SEPA payments: known at Stripe, same amount, same outcome, same
    refunds."""
    ours: dict[str, Payment] = {
        str(p.provider_reference): p
        for p in Payment.objects.filter(
            provider__in=[Payment.Provider.STRIPE, Payment.Provider.SEPA],
            provider_reference__isnull=False,
        )
    }
    refunded_here: dict[str, int] = {
        str(ref): total
        for ref, total in Refund.objects.filter(
            status=Refund.Status.SUCCEEDED, payment__provider_reference__isnull=False
        )
        .values("payment__provider_reference")
        .annotate(t=Sum("amount_cents"))
        .values_list("payment__provider_reference", "t")
    }
    for ref, payment in ours.items():
        intent = intents.get(ref)
        if intent is None:
            if payment.status in Payment.MONEY_STATUSES:
                problems.append(f"payment #{payment.pk}: {ref} unknown at Stripe")
            continue
        problems.extend(_payment_differences(payment, intent, ref, refunds_at, refunded_here))


def _payment_differences(
    payment: Payment,
    intent: dict,
    ref: str,
    refunds_at: dict[str, int],
    refunded_here: dict[str, int],
) -> list[str]:
    from ..providers import STRIPE_STATUS

    problems: list[str] = []
    there = STRIPE_STATUS.get(str(intent.get("status")), Payment.Status.PENDING)
    if intent.get("amount") != payment.amount_cents:
        problems.append(
            f"payment #{payment.pk}: amount {payment.amount_cents} ≠ Stripe {intent.get('amount')}"
        )
    captured_there = there == Payment.Status.SUCCEEDED
    captured_here = payment.status in Payment.MONEY_STATUSES
    if captured_there != captured_here:
        problems.append(
            f"payment #{payment.pk}: {payment.status} here, {intent.get('status')} at Stripe ({ref})"
        )
    if refunds_at.get(ref, 0) != (refunded_here.get(ref) or 0):
        problems.append(
            f"payment #{payment.pk}: refunded {refunded_here.get(ref) or 0} here, "
            f"{refunds_at.get(ref, 0)} at Stripe ({ref})"
        )
    return problems


def _find_unrecorded_intents(problems: list[str], intents: dict[str, dict]) -> None:
    """A PaymentIntent carrying one of our nonces that succeeded at Stripe for one of our payment
    rows but is not recorded as that payment's reference."""
    ours = {
        str(ref)
        for ref in Payment.objects.filter(
            provider__in=[Payment.Provider.STRIPE, Payment.Provider.SEPA],
            provider_reference__isnull=False,
        ).values_list("provider_reference", flat=True)
    }
    mine = {str(p) for p in Payment.objects.values_list("pk", flat=True)}
    nonces = set(Payment.objects.exclude(nonce="").values_list("nonce", flat=True))
    for ref, intent in intents.items():
        metadata = intent.get("metadata") or {}
        if ref in ours or metadata.get("minot_nonce") not in nonces:
            continue
        if intent.get("status") == "succeeded" and metadata.get("minot_payment_id") in mine:
            problems.append(
                f"{ref}: succeeded at Stripe for payment #{metadata.get('minot_payment_id')} but not recorded"
            )


def payments_audit_alert() -> int:
    """Run the audit (Stripe compared when configured); record and announce any finding."""
    from django.conf import settings
    from django.utils import timezone

    from .corrections import finding_record

    report = audit_books(provider=bool(settings.STRIPE_SECRET_KEY))
    if report.ok:
        return 0
    finding_record(
        key=f"audit:{timezone.localdate():%Y-%m-%d}",
        kind="audit",
        message=_("Le contrôle des comptes a trouvé %(n)s anomalie(s).")
        % {"n": len(report.problems)},
        data={"problems": report.problems[:200]},
    )
    return len(report.problems)
