"""Money that went somewhere unexpected: overpayments, credit, findings for staff.

- A success for an invoice already paid is an *overpayment*: a finding, then refunded at once
  (``PaymentSettings.overpayment_policy = refund``) or kept as credit (``credit``).
- Credit (money of a succeeded payment not applied to any invoice and not refunded) is applied
  to the payer's next issued invoice — this is also how a paid invoice that is cancelled and
  billed again keeps its money: the replacing version is paid from it, and a SEPA debit only
  takes what is still due.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.services import notification_send

from ..models import Finding, Invoice, Payment, PaymentAllocation, PaymentSettings

logger = logging.getLogger(__name__)

ONLINE = (Payment.Provider.STRIPE, Payment.Provider.SEPA)


def finding_record(
    *,
    key: str,
    kind: str,
    message: str,
    payment: Payment | None = None,
    invoice: Invoice | None = None,
    household_id: int | None = None,
    amount_cents: int = 0,
    data: dict | None = None,
) -> tuple[Finding, bool]:
    """Record a finding once (``key`` is unique) and alert finance after commit when new."""
    finding, created = Finding.objects.get_or_create(
        key=key[:200],
        defaults={
            "kind": kind,
            "message": message[:500],
            "payment": payment,
            "invoice": invoice,
            "household_id": household_id
            or (payment.household_id if payment else None)
            or (invoice.household_id if invoice else None),
            "amount_cents": amount_cents,
            "data": data or {},
        },
    )
    if created:
        logger.warning("payments finding %s: %s", key, message)
        if kind != Finding.Kind.OVERPAYMENT:
            transaction.on_commit(
                lambda: finance_alert(
                    subject=_("Anomalie de paiement : %(kind)s")
                    % {"kind": finding.get_kind_display()},
                    body=message,
                    url="/paiements/gestion/anomalies/",
                )
            )
    return finding, created


def finance_alert(*, subject: str, body: str, url: str = "") -> int:
    """One in-app message (and email) to each finance user."""
    from ..permissions import finance_users

    users = finance_users()
    for user in users:
        notification_send(user=user, subject=subject, body=body, url=url)
    return len(users)


def overpayment_record(*, payment: Payment, amount_cents: int, invoice_ids: list[int]) -> Finding:
    """Called inside the success transaction, when part of a payment found nothing left to pay."""
    policy = PaymentSettings.current().overpayment_policy
    refund_it = policy == PaymentSettings.OverpaymentPolicy.REFUND and payment.provider in ONLINE
    finding, created = finding_record(
        key=f"overpayment:{payment.pk}",
        kind=Finding.Kind.OVERPAYMENT,
        payment=payment,
        amount_cents=amount_cents,
        message=_(
            "Le paiement %(number)s a reçu %(amount)s de plus que ce que devaient encore ses "
            "factures (déjà réglées entre-temps)."
        )
        % {"number": payment.receipt_number, "amount": _fmt(amount_cents, payment.currency)},
        data={"invoices": invoice_ids, "policy": policy if refund_it else "credit"},
    )
    if created and refund_it:
        from backend.core.outbox import enqueue

        from ..tasks import overpayment_refund_task

        enqueue(overpayment_refund_task, finding.pk)
    elif created:
        Finding.objects.filter(pk=finding.pk).update(
            status=Finding.Status.RESOLVED,
            resolution=_("Gardé en avoir : déduit de la prochaine facture."),
            resolved_at=timezone.now(),
        )
    return finding


def overpayment_refund(*, finding_id: int) -> Finding:
    """Refund an overpayment to the card or account it came from (once: the refund's token)."""
    from .payments import refund_create

    finding = Finding.objects.select_related("payment").get(pk=finding_id)
    if finding.status == Finding.Status.RESOLVED or finding.payment is None:
        return finding
    try:
        refund = refund_create(
            actor=None,
            payment=finding.payment,
            amount_cents=finding.amount_cents,
            reason=_("Trop-perçu remboursé automatiquement"),
            token=f"overpayment:{finding.pk}",
        )
    except ApplicationError as exc:
        Finding.objects.filter(pk=finding.pk).update(resolution=str(exc.message)[:255])
        return finding
    Finding.objects.filter(pk=finding.pk).update(
        refund=refund,
        status=Finding.Status.RESOLVED,
        resolution=_("Remboursé automatiquement."),
        resolved_at=timezone.now(),
    )
    finding.refresh_from_db()
    return finding


def credit_available(*, account_ids) -> dict[int, list[tuple[int, int]]]:
    """Per account, ``[(payment_id, cents)]`` of money received but not applied nor refunded,
    oldest first. Prepaid top-ups (spent by meal debits) and overpayments waiting for their
    refund are not credit."""
    waiting = Finding.objects.filter(
        kind=Finding.Kind.OVERPAYMENT, status=Finding.Status.OPEN
    ).values("payment_id")
    rows = (
        Payment.objects.filter(
            account_id__in=list(account_ids), status=Payment.Status.SUCCEEDED, is_top_up=False
        )
        .exclude(pk__in=waiting)
        .annotate(applied=Coalesce(Sum("allocations__applied_cents"), 0))
        .filter(amount_cents__gt=F("applied") + F("refunded_cents"))
        .order_by("succeeded_at", "pk")
        .values_list("account_id", "pk", "amount_cents", "applied", "refunded_cents")
    )
    out: dict[int, list[tuple[int, int]]] = {}
    for account_id, pk, amount, applied, refunded in rows:
        out.setdefault(account_id, []).append((pk, amount - applied - refunded))
    return out


def credit_apply(*, invoice_ids: list[int]) -> int:
    """Pay open invoices from their payer's credit, oldest money first. Returns cents applied."""
    from .payments import invoice_add_paid

    invoices = list(
        Invoice.objects.filter(pk__in=invoice_ids, status__in=Invoice.OPEN_STATUSES).order_by(
            "period", "pk"
        )
    )
    if not invoices:
        return 0
    credits = credit_available(account_ids={i.account_id for i in invoices})
    total = 0
    with transaction.atomic():
        for invoice in invoices:
            pool = credits.get(invoice.account_id) or []
            due = invoice.total_cents - invoice.paid_cents
            while due > 0 and pool:
                payment_id, cents = pool[0]
                take = min(due, cents)
                allocation, created = PaymentAllocation.objects.get_or_create(
                    payment_id=payment_id,
                    invoice=invoice,
                    defaults={"amount_cents": take, "applied_cents": take},
                )
                if not created:
                    PaymentAllocation.objects.filter(pk=allocation.pk).update(
                        amount_cents=F("amount_cents") + take,
                        applied_cents=F("applied_cents") + take,
                    )
                invoice_add_paid(invoice_id=invoice.pk, delta=take)
                due -= take
                total += take
                if take == cents:
                    pool.pop(0)
                else:
                    pool[0] = (payment_id, cents - take)
    return total


def invoice_release_payments(*, invoice: Invoice) -> int:
    """A paid invoice is cancelled: what its payments applied to it becomes the payer's credit
    (for the replacing version). Returns the cents released."""
    from .payments import invoice_add_paid

    released = 0
    for allocation in PaymentAllocation.objects.filter(invoice=invoice, applied_cents__gt=0):
        PaymentAllocation.objects.filter(pk=allocation.pk).update(applied_cents=0)
        released += allocation.applied_cents
    if released:
        invoice_add_paid(invoice_id=invoice.pk, delta=-released)
    return released


def _fmt(cents: int, currency: str) -> str:
    from ..selectors import format_cents

    return format_cents(cents, currency)
