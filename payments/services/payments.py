"""Payments: online (Stripe, SEPA), at the counter, refunds. State moves only forward."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind, AuditEvent
from backend.core.money import format_money
from backend.core.services import audit_record, notification_send

from ..declines import decline_reason_key
from ..models import Account, Invoice, LedgerEntry, Payment, PaymentAllocation, Refund
from ..providers import ProviderError, ProviderResult, ProviderUnknown, provider_for
from .ledger import ledger_entry_add

if TYPE_CHECKING:
    from backend.accounts.models import User

logger = logging.getLogger(__name__)

RANK = Payment.STATUS_RANK


def _lower_statuses(new_status: str) -> list[str]:
    return [s for s, rank in RANK.items() if rank < RANK[new_status]]


def _allocate(invoices: list[Invoice], amount_cents: int) -> list[tuple[Invoice, int]]:
    """Spread an amount over invoices, oldest first, up to what each still owes."""
    allocations = []
    left = amount_cents
    for invoice in sorted(invoices, key=lambda i: (i.period, i.pk)):
        take = min(left, invoice.outstanding_cents)
        if take > 0:
            allocations.append((invoice, take))
            left -= take
    return allocations


def _open_invoices_of(invoices: list[Invoice]) -> Account:
    if not invoices:
        raise ApplicationError(_("Choisissez au moins une facture à payer."))
    accounts = {i.account_id for i in invoices}
    if len(accounts) != 1:
        raise ApplicationError(
            _("Les factures choisies n'ont pas le même payeur : payez-les séparément.")
        )
    for invoice in invoices:
        if not invoice.is_open or invoice.outstanding_cents <= 0:
            raise ApplicationError(
                _("La facture %(number)s n'est pas à payer (%(status)s).")
                % {"number": invoice.number, "status": invoice.get_status_display()}
            )
    return invoices[0].account


IN_FLIGHT = dt.timedelta(minutes=2)


def payment_start_online(
    *,
    actor: User,
    invoices: list[Invoice],
    payment_method: str | None = None,
    provider: str = Payment.Provider.STRIPE,
) -> Payment:
    """Pay one or several invoices online in one payment (one attempt).

    An invoice has at most one open attempt, whatever set of invoices each attempt covers
    (tabs, devices): the invoices are locked, earlier attempts on any of them are closed first
    (their PaymentIntents cancelled at Stripe, so they can no longer be confirmed), and a partial
    unique index on the open allocations refuses a concurrent second one. The payment row, its
    allocations and its idempotency key are committed before Stripe is called. A double click on
    the Payment Element page reuses the same attempt.

    The caller has already checked access (``permissions.invoice_for_user``).
    """
    _open_invoices_of(invoices)
    ids = sorted({i.pk for i in invoices})
    amount = sum(i.outstanding_cents for i in invoices)
    reused = _close_previous_attempts(invoice_ids=ids, amount=amount, payment_method=payment_method)
    if reused is not None:
        return reused
    base = f"minot:invoices:{'-'.join(map(str, ids))}"
    with transaction.atomic():
        locked = list(Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        account = _open_invoices_of(locked)
        amount = sum(i.outstanding_cents for i in locked)
        attempt = Payment.objects.filter(idempotency_key__startswith=base + ":").count() + 1
        payment = Payment(
            account=account,
            household_id=account.household_id,
            provider=provider,
            amount_cents=amount,
            currency=account.currency,
            idempotency_key=f"{base}:attempt:{attempt}",
            nonce=uuid.uuid4().hex,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        try:
            with transaction.atomic():
                payment.save(force_insert=True)
                PaymentAllocation.objects.bulk_create(
                    [
                        PaymentAllocation(
                            payment=payment, invoice=i, amount_cents=c, is_open_attempt=True
                        )
                        for i, c in _allocate(locked, amount)
                    ]
                )
        except IntegrityError:  # another tab or a double submit opened an attempt first
            raise ApplicationError(_("Un paiement de ces factures est déjà en cours."))
        audit_record(
            action="payments.payment_start",
            actor=actor,
            target=payment,
            household_id=account.household_id,
            data={"invoices": ids, "amount_cents": amount, "provider": provider},
        )
    return _call_provider(payment, payment_method=payment_method)


def _close_previous_attempts(
    *, invoice_ids: list[int], amount: int, payment_method: str | None
) -> Payment | None:
    """Close every earlier attempt touching these invoices; return one to reuse, if any.

    Open attempts (pending) are cancelled at Stripe; declined ones whose PaymentIntent could
    still be confirmed with another card are cancelled too. A processing attempt (a SEPA debit
    or a card being confirmed) refuses the new one; so does one that turns out to have succeeded.
    """
    previous = (
        Payment.objects.filter(allocations__invoice_id__in=invoice_ids)
        .filter(
            Q(allocations__is_open_attempt=True)
            | Q(
                status=Payment.Status.FAILED,
                provider_reference__isnull=False,
                intent_canceled_at__isnull=True,
            )
        )
        .distinct()
        .order_by("pk")
    )
    for payment in previous:
        if payment.status == Payment.Status.PROCESSING:
            raise ApplicationError(
                _("Un paiement de ces factures est déjà en cours de traitement.")
            )
        if payment.status == Payment.Status.PENDING:
            same = (
                sorted(payment.allocations.values_list("invoice_id", flat=True)) == invoice_ids
                and payment.amount_cents == amount
            )
            if same and payment.provider_reference and payment_method is None:
                return payment  # the Payment Element on the page confirms this PaymentIntent
            if _call_may_be_running(payment):
                raise ApplicationError(_("Un paiement de ces factures est déjà en cours."))
        payment_close_attempt(payment=payment)
        payment.refresh_from_db()
        if payment.status == Payment.Status.SUCCEEDED:
            raise ApplicationError(_("Ces factures viennent d'être payées."))
        if payment.status == Payment.Status.PROCESSING:
            raise ApplicationError(
                _("Un paiement de ces factures est déjà en cours de traitement.")
            )
    return None


PROVIDER_UNREACHABLE = "payments.payment_provider_unreachable"


def _call_may_be_running(payment: Payment) -> bool:
    """A pending attempt without a PaymentIntent whose create call may not have come back yet
    (another tab, between its commit and Stripe's answer): closing it now could race that call.

    An attempt whose call ended in a provider error (recorded in the audit log by
    ``_call_provider``) is not running: the family told "réessayez dans un instant" may try again
    at once, and closing the attempt first looks for a PaymentIntent Stripe made anyway.
    """
    if payment.provider_reference or payment.created_at <= timezone.now() - IN_FLIGHT:
        return False
    return not AuditEvent.objects.filter(
        action=PROVIDER_UNREACHABLE,
        target_type=Payment._meta.label_lower,
        target_id=str(payment.pk),
    ).exists()


def payment_close_attempt(*, payment: Payment) -> None:
    """Make sure an attempt can no longer take money: cancel its PaymentIntent at the provider.

    If the provider says it already succeeded or is processing, that status is applied instead
    (a success is never lost). A provider that cannot be reached refuses to go on.
    """
    if payment.provider not in (Payment.Provider.STRIPE, Payment.Provider.SEPA):
        return
    provider = provider_for(payment.provider)
    try:
        if not payment.provider_reference:
            found = provider.find_payment(payment=payment)
            if found is not None:
                payment = payment_record_result(payment=payment, result=found)
        if payment.provider_reference:
            result = provider.cancel_payment(payment=payment)
            if result.status == Payment.Status.CANCELED:
                Payment.objects.filter(pk=payment.pk).update(intent_canceled_at=timezone.now())
            payment_apply_status(
                payment_id=payment.pk, status=result.status, failure_message=result.failure_message
            )
        else:  # never reached the provider
            payment_apply_status(payment_id=payment.pk, status=Payment.Status.CANCELED)
    except ProviderError as exc:
        logger.warning("payment %s: cannot close the attempt: %s", payment.pk, exc)
        raise ApplicationError(
            _("Le service de paiement ne répond pas ; réessayez dans un instant.")
        ) from exc


def _call_provider(
    payment: Payment, *, payment_method: str | None, off_session: bool = False
) -> Payment:
    try:
        result = provider_for(payment.provider).create_payment(
            payment=payment, payment_method=payment_method, off_session=off_session
        )
    except ProviderError as exc:
        # The row stays pending with its key: the catch-up finds the PaymentIntent (by the
        # row's id and nonce) or, for a SEPA debit, replays the call with the same key.
        logger.warning("payment %s: provider error %s", payment.pk, exc)
        audit_record(  # the call is over: a retry may close this attempt (_call_may_be_running)
            action=PROVIDER_UNREACHABLE,
            actor_kind=ActorKind.SYSTEM,
            target=payment,
            household_id=payment.household_id,
            data={"error": str(exc)[:200]},
        )
        raise ApplicationError(
            _(
                "Le service de paiement ne répond pas. Aucun montant n'a été débité ; réessayez dans un instant."
            )
        )
    return payment_record_result(payment=payment, result=result)


def payment_record_result(*, payment: Payment, result: ProviderResult) -> Payment:
    """Store what the provider answered (reference, client secret) and apply its status."""
    fields = {}
    if result.reference and not payment.provider_reference:
        fields["provider_reference"] = result.reference
    if result.client_secret and not payment.client_secret:
        fields["client_secret"] = result.client_secret
    if fields:
        Payment.objects.filter(pk=payment.pk).update(**fields)
    payment_apply_status(
        payment_id=payment.pk, status=result.status, failure_message=result.failure_message
    )
    payment.refresh_from_db()
    return payment


def payment_apply_status(*, payment_id: int, status: str, failure_message: str = "") -> bool:
    """Move a payment forward to ``status``; never backwards. Returns whether it moved.

    The move is one conditional UPDATE (safe on SQLite and PostgreSQL alike). Success writes the
    ledger entry (once: unique source key) and applies the money to the invoices, in the same
    transaction. ``reversed`` is not reached here: see :func:`payment_reverse`.
    """
    if status not in RANK or status == Payment.Status.REVERSED:
        raise ValueError(status)
    with transaction.atomic():
        now = timezone.now()
        changes = {"status": status, "updated_at": now}
        if status == Payment.Status.SUCCEEDED:
            changes["succeeded_at"] = now
        if status == Payment.Status.FAILED:
            changes["failure_message"] = (failure_message or _("Paiement refusé par la banque."))[
                :255
            ]
        moved = Payment.objects.filter(pk=payment_id, status__in=_lower_statuses(status)).update(
            **changes
        )
        if not moved:
            return False
        if status in (Payment.Status.CANCELED, Payment.Status.FAILED):
            PaymentAllocation.objects.filter(payment_id=payment_id).update(is_open_attempt=False)
        payment = Payment.objects.select_related("account__guardian__user").get(pk=payment_id)
        user = payment.account.guardian.user
        if status == Payment.Status.SUCCEEDED:
            _on_success(payment)
            # Stored as keys + parameters, rendered in the reader's language (core/text.py).
            params = {
                "amount": _fmt(payment.amount_cents, payment.currency),
                "number": payment.receipt_number,
            }
            subject_key = gettext_noop("Paiement reçu : %(amount)s")
            body_key = gettext_noop(
                "Merci. Votre reçu %(number)s est disponible dans l'historique des paiements."
            )
            notification_send(
                user=user,
                subject=_(subject_key) % params,
                body=_(body_key) % params,
                url=f"/paiements/historique/{payment.pk}/",
                subject_key=subject_key,
                body_key=body_key,
                params=params,
            )
        elif status == Payment.Status.FAILED:
            # The reason is a key too (the provider's code mapped to our sentence), so an
            # English reader gets it in English.
            failed_params = {
                "amount": _fmt(payment.amount_cents, payment.currency),
                "reason_key": decline_reason_key(payment.failure_message),
            }
            failed_body = gettext_noop(
                "Votre paiement de %(amount)s n'a pas abouti. %(reason)s Vos factures restent à "
                "régler."
            )
            if payment.provider == Payment.Provider.SEPA:
                failed_body = gettext_noop(
                    "Le prélèvement de %(amount)s a été rejeté. %(reason)s La facture est de nouveau "
                    "à régler ; vous pouvez la payer en ligne ou au guichet."
                )
            notification_send(
                user=user,
                subject_key=gettext_noop("Paiement non abouti"),
                body_key=failed_body,
                params=failed_params,
                url="/paiements/",
                category="payments",
            )
        audit_record(
            action=f"payments.payment_{status}",
            actor_kind=ActorKind.SYSTEM,
            actor_label=payment.provider,
            target=payment,
            household_id=payment.household_id,
            data={"amount_cents": payment.amount_cents, "status": status},
        )
    return True


def _fmt(cents: int, currency: str) -> str:
    return format_money(cents, currency)


def invoice_add_paid(*, invoice_id: int, delta: int) -> None:
    """Add ``delta`` (may be negative) to an invoice's paid amount and set its status from it:
    paid when nothing is left, partially paid, or issued again (reopened)."""
    if delta:
        Invoice.objects.filter(pk=invoice_id).update(paid_cents=F("paid_cents") + delta)
    active = Invoice.objects.filter(pk=invoice_id).exclude(
        status__in=[Invoice.Status.DRAFT, Invoice.Status.CANCELLED]
    )
    active.filter(paid_cents__gte=F("total_cents")).exclude(status=Invoice.Status.PAID).update(
        status=Invoice.Status.PAID
    )
    active.filter(paid_cents__gt=0, paid_cents__lt=F("total_cents")).exclude(
        status=Invoice.Status.PARTIALLY_PAID
    ).update(status=Invoice.Status.PARTIALLY_PAID)
    active.filter(paid_cents__lte=0, total_cents__gt=0).exclude(
        status=Invoice.Status.ISSUED
    ).update(status=Invoice.Status.ISSUED)


def _on_success(payment: Payment) -> None:
    """Ledger entry, then the money applied to each invoice up to what it still owes. What an
    invoice no longer owes (paid meanwhile by another tab, a cheque, a SEPA debit) is an
    overpayment: recorded, shown to staff, refunded or kept as credit — never silently lost."""
    from ..models import PaymentSettings

    if PaymentSettings.current().mode == PaymentSettings.Mode.PREPAID:
        from .prepaid import prepaid_check_alerts

        transaction.on_commit(lambda: prepaid_check_alerts(account_ids=[payment.account_id]))
    ledger_entry_add(
        account=payment.account,
        kind=LedgerEntry.Kind.PAYMENT,
        amount_cents=payment.amount_cents,
        source_key=f"payment:{payment.pk}",
        label=_("Paiement %(number)s (%(provider)s)")
        % {"number": payment.receipt_number, "provider": payment.get_provider_display()},
        payment=payment,
    )
    excess = 0
    overpaid: list[int] = []
    # Refunds already seen (a refund event delivered before the success event) are not applied.
    budget = payment.amount_cents - (
        payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(t=Sum("amount_cents"))["t"]
        or 0
    )
    allocations = payment.allocations.order_by("invoice__period", "invoice_id")
    for allocation in allocations:
        invoice = Invoice.objects.select_for_update().get(pk=allocation.invoice_id)
        room = invoice.total_cents - invoice.paid_cents if invoice.is_open else 0
        applied = max(0, min(allocation.amount_cents, room, budget))
        budget -= applied
        PaymentAllocation.objects.filter(pk=allocation.pk).update(
            applied_cents=applied, is_open_attempt=False
        )
        invoice_add_paid(invoice_id=invoice.pk, delta=applied)
        # What the invoice could not take is an overpayment (what the budget could not cover
        # was refunded before we heard of the success: not an overpayment).
        if allocation.amount_cents > max(room, 0):
            excess += allocation.amount_cents - max(room, 0)
            overpaid.append(invoice.pk)
    if excess:
        from .corrections import overpayment_record

        overpayment_record(payment=payment, amount_cents=excess, invoice_ids=overpaid)


def payment_reverse(*, payment_id: int, reason: str, source: str) -> bool:
    """Money we counted comes back out: a SEPA return or failure after success, a dispute.

    The payment becomes ``reversed``; a ledger entry takes back what was kept (paid minus
    refunded); the invoices it paid are reopened; staff get a finding; the family is told.
    Idempotent (conditional update, unique ledger key).
    """
    from ..models import Finding

    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None or payment.status != Payment.Status.SUCCEEDED:
            return False
        # Refunds still pending count as given back (a lost answer may be confirmed later):
        # never reverse more than the payment minus every refund reserved on it.
        kept = payment.amount_cents - payment.refunded_cents
        Payment.objects.filter(pk=payment.pk, status=Payment.Status.SUCCEEDED).update(
            status=Payment.Status.REVERSED, reversed_cents=kept, updated_at=timezone.now()
        )
        ledger_entry_add(
            account=payment.account,
            kind=LedgerEntry.Kind.REVERSAL,
            amount_cents=-kept,
            source_key=f"reversal:{payment.pk}",
            label=_("Paiement %(number)s rejeté") % {"number": payment.receipt_number},
            reason=reason[:255],
            payment=payment,
        )
        for allocation in payment.allocations.filter(applied_cents__gt=0):
            PaymentAllocation.objects.filter(pk=allocation.pk).update(applied_cents=0)
            invoice_add_paid(invoice_id=allocation.invoice_id, delta=-allocation.applied_cents)
        Finding.objects.get_or_create(
            key=f"reversal:{payment.pk}",
            defaults={
                "kind": Finding.Kind.REVERSAL,
                "household_id": payment.household_id,
                "payment": payment,
                "amount_cents": kept,
                "message": (
                    _("Paiement %(number)s rejeté après encaissement (%(source)s) : %(reason)s")
                    % {"number": payment.receipt_number, "source": source, "reason": reason}
                )[:500],
            },
        )
        user = payment.account.guardian.user
        notification_send(
            user=user,
            subject_key=gettext_noop("Paiement rejeté par la banque"),
            body_key=gettext_noop(
                "Le paiement %(number)s de %(amount)s a été rejeté par votre banque (%(reason)s). "
                "Les factures concernées sont de nouveau à régler."
            ),
            params={
                "number": payment.receipt_number,
                "amount": _fmt(kept, payment.currency),
                "reason": reason,
            },
            category="payments",
            url="/paiements/",
        )
        audit_record(
            action="payments.payment_reversed",
            actor_kind=ActorKind.SYSTEM,
            actor_label=payment.provider,
            target=payment,
            household_id=payment.household_id,
            data={"amount_cents": kept, "source": source, "reason": reason},
        )
        transaction.on_commit(lambda: _alert_finance_later(payment.pk))
    return True


def _alert_finance_later(payment_id: int) -> None:
    from .corrections import finance_alert

    finance_alert(
        subject=_("Paiement rejeté après encaissement"),
        body=_("Un paiement a été rejeté après encaissement : voir les anomalies de paiement."),
        url="/paiements/gestion/anomalies/",
    )


def payment_record_counter(
    *,
    actor: User | None,
    account: Account,
    method: str,
    amount_cents: int,
    invoices: list[Invoice] | None = None,
    reference: str = "",
    idempotency_key: str | None = None,
) -> Payment:
    """Cash or cheque taken by staff at the counter, for a family (audited)."""
    key = f"minot:counter:{idempotency_key or uuid.uuid4()}"
    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing:
        return existing  # the same form submitted twice
    if method not in (Payment.Provider.CASH, Payment.Provider.CHEQUE):
        raise ApplicationError(_("Moyen de paiement au guichet inconnu."))
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ApplicationError(_("Le montant doit être un nombre positif de centimes."))
    if method == Payment.Provider.CHEQUE and not reference.strip():
        raise ApplicationError(_("Indiquez le numéro du chèque."))
    invoices = invoices or []
    for invoice in invoices:
        if invoice.account_id != account.pk:
            raise ApplicationError(
                _("La facture %(number)s n'est pas celle de ce payeur.")
                % {"number": invoice.number}
            )
        if not invoice.is_open:
            raise ApplicationError(
                _("La facture %(number)s n'est pas à payer.") % {"number": invoice.number}
            )
    with transaction.atomic():
        payment = Payment.objects.create(
            account=account,
            household_id=account.household_id,
            provider=method,
            amount_cents=amount_cents,
            currency=account.currency,
            idempotency_key=key,
            counter_reference=reference.strip()[:64],
            created_by=actor,
        )
        PaymentAllocation.objects.bulk_create(
            [
                PaymentAllocation(payment=payment, invoice=i, amount_cents=c)
                for i, c in _allocate(invoices, amount_cents)
            ]
        )
        audit_record(
            action="payments.counter_payment",
            actor=actor,
            actor_kind=ActorKind.STAFF_FOR_FAMILY,
            target=payment,
            household_id=account.household_id,
            data={
                "amount_cents": amount_cents,
                "method": method,
                "invoices": [i.pk for i in invoices],
            },
        )
        payment_apply_status(payment_id=payment.pk, status=Payment.Status.SUCCEEDED)
    payment.refresh_from_db()
    return payment


def payment_top_up(
    *,
    actor: User,
    account: Account,
    amount_cents: int,
    payment_method: str | None = None,
    token: str | None = None,
) -> Payment:
    """Prepaid mode: credit the account online (no invoice).

    ``token`` comes from the form: the same form submitted twice is one payment, one key.
    """
    if not isinstance(amount_cents, int) or amount_cents < 100:
        raise ApplicationError(_("Le rechargement minimum est de 1,00 €."))
    key = f"minot:topup:{account.pk}:{token or uuid.uuid4().hex}"
    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        payment = Payment(
            account=account,
            household_id=account.household_id,
            provider=Payment.Provider.STRIPE,
            amount_cents=amount_cents,
            currency=account.currency,
            is_top_up=True,
            idempotency_key=key,
            nonce=uuid.uuid4().hex,
            created_by=actor,
        )
        payment.save(force_insert=True)
    return _call_provider(payment, payment_method=payment_method)


# --- Refunds ------------------------------------------------------------------------------

DUPLICATE_WINDOW = dt.timedelta(minutes=2)


def refund_create(
    *,
    actor: User | None,
    payment: Payment,
    amount_cents: int,
    reason: str,
    token: str | None = None,
) -> Refund:
    """Refund part or all of a payment. Never more than what is left of it.

    ``token`` (the form's hidden token, or the API's ``Idempotency-Key``) makes a double submit
    one refund. Without a token, the same refund (payment, amount, reason) asked again within two
    minutes is refused. The row and its idempotency key (derived from the row) are committed
    before the provider is called; a lost response leaves it *pending* (the catch-up resolves it
    from Stripe), never failed.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Indiquez le motif du remboursement."))
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ApplicationError(_("Le montant du remboursement doit être positif."))
    token = (token or "").strip()[:100] or None
    if token:
        existing = Refund.objects.filter(request_token=token).first()
        if existing is not None:
            if existing.payment_id != payment.pk:
                raise ApplicationError(_("Ce formulaire a déjà servi pour un autre paiement."))
            return existing
    elif Refund.objects.filter(
        payment=payment,
        amount_cents=amount_cents,
        reason=reason[:255],
        created_at__gte=timezone.now() - DUPLICATE_WINDOW,
    ).exists():
        raise ApplicationError(
            _(
                "Un remboursement identique vient d'être demandé pour ce paiement : il n'a pas été "
                "refait. Vérifiez l'historique avant de recommencer."
            ),
            status_code=409,
        )
    try:
        with transaction.atomic():
            reserved = Payment.objects.filter(
                pk=payment.pk,
                status=Payment.Status.SUCCEEDED,
                refunded_cents__lte=F("amount_cents") - amount_cents,
            ).update(refunded_cents=F("refunded_cents") + amount_cents)
            if not reserved:
                payment.refresh_from_db()
                raise ApplicationError(
                    _("Remboursement impossible : il reste %(left)s remboursables sur ce paiement.")
                    % {"left": _fmt(payment.refundable_cents, payment.currency)}
                )
            refund = Refund.objects.create(
                payment=payment,
                amount_cents=amount_cents,
                currency=payment.currency,
                reason=reason[:255],
                idempotency_key=f"minot:refund:new:{uuid.uuid4().hex}",
                request_token=token,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            refund.idempotency_key = f"minot:refund:{refund.pk}:{uuid.uuid4().hex[:12]}"
            Refund.objects.filter(pk=refund.pk).update(idempotency_key=refund.idempotency_key)
            audit_record(
                action="payments.refund_create",
                actor=actor if getattr(actor, "pk", None) else None,
                actor_kind=ActorKind.STAFF_FOR_FAMILY
                if getattr(actor, "pk", None)
                else ActorKind.SYSTEM,
                target=refund,
                household_id=payment.household_id,
                data={"payment": payment.pk, "amount_cents": amount_cents, "reason": reason},
            )
    except IntegrityError:  # the same token submitted twice at once: the first one wins
        existing = Refund.objects.filter(request_token=token).first() if token else None
        if existing is None:
            raise
        return existing
    refund = refund_submit(refund=refund)
    if refund.status == Refund.Status.FAILED:
        raise ApplicationError(
            _("Le remboursement a été refusé par le prestataire : %(reason)s")
            % {"reason": refund.failure_message}
        )
    return refund


def refund_submit(*, refund: Refund) -> Refund:
    """Send (or resend, with the same key) a pending refund to the provider."""
    try:
        result = provider_for(refund.payment.provider).refund(refund=refund)
    except ProviderUnknown as exc:
        logger.warning("refund %s: outcome unknown, left pending: %s", refund.pk, exc)
        refund.refresh_from_db()
        return refund
    except ProviderError as exc:
        result = ProviderResult(status=Refund.Status.FAILED, failure_message=str(exc))
    refund_apply_result(refund_id=refund.pk, result=result)
    refund.refresh_from_db()
    return refund


def refund_resolve_pending(*, refund: Refund) -> Refund:
    """Catch-up for a refund whose answer was lost: look for it at the provider (by its key in
    the metadata); if the provider never saw it, send it again with the same key."""
    if refund.status != Refund.Status.PENDING:
        return refund
    provider = provider_for(refund.payment.provider)
    try:
        found = provider.find_refund(refund=refund)
    except ProviderError as exc:
        logger.warning("refund %s: cannot look it up: %s", refund.pk, exc)
        return refund
    if found is not None:
        refund_apply_result(refund_id=refund.pk, result=found)
        refund.refresh_from_db()
        return refund
    return refund_submit(refund=refund)


def _unapply_for_refund(payment: Payment, refund: Refund) -> None:
    """A refund takes back first what the payment did not apply to any invoice (credit,
    overpayment), then what it paid on its invoices, latest first (those reopen)."""
    applied = payment.allocations.aggregate(t=Sum("applied_cents"))["t"] or 0
    earlier = (
        payment.refunds.filter(status=Refund.Status.SUCCEEDED)
        .exclude(pk=refund.pk)
        .aggregate(t=Sum("amount_cents"))["t"]
        or 0
    )
    free = max(0, payment.amount_cents - applied - earlier)
    to_take = max(0, refund.amount_cents - free)
    for allocation in payment.allocations.filter(applied_cents__gt=0).order_by(
        "-invoice__period", "-invoice_id"
    ):
        if to_take <= 0:
            break
        take = min(to_take, allocation.applied_cents)
        PaymentAllocation.objects.filter(pk=allocation.pk).update(
            applied_cents=F("applied_cents") - take
        )
        invoice_add_paid(invoice_id=allocation.invoice_id, delta=-take)
        to_take -= take


def refund_apply_result(*, refund_id: int, result: ProviderResult) -> None:
    with transaction.atomic():
        if result.status == Refund.Status.SUCCEEDED:
            moved = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
                status=Refund.Status.SUCCEEDED,
                provider_reference=result.reference or None,
                succeeded_at=timezone.now(),
            )
            if moved:
                refund = Refund.objects.select_related("payment__account").get(pk=refund_id)
                ledger_entry_add(
                    account=refund.payment.account,
                    kind=LedgerEntry.Kind.REFUND,
                    amount_cents=-refund.amount_cents,
                    source_key=f"refund:{refund.pk}",
                    label=_("Remboursement du paiement %(number)s")
                    % {"number": refund.payment.receipt_number},
                    reason=refund.reason,
                    refund=refund,
                    payment=refund.payment,
                )
                _unapply_for_refund(refund.payment, refund)
        elif result.status == Refund.Status.FAILED:
            refund = Refund.objects.get(pk=refund_id)
            moved = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
                status=Refund.Status.FAILED, failure_message=(result.failure_message or "")[:255]
            )
            if moved:  # give the reserved amount back
                Payment.objects.filter(pk=refund.payment_id).update(
                    refunded_cents=F("refunded_cents") - refund.amount_cents
                )
        elif result.reference:
            Refund.objects.filter(pk=refund_id, provider_reference__isnull=True).update(
                provider_reference=result.reference
            )


def refund_record_from_provider(
    *, payment: Payment, provider_refund_id: str, amount_cents: int, metadata: dict
) -> bool:
    """A refund seen at the provider (ours, or made in its dashboard). Recorded once.

    Ours is recognised by its key in the metadata (not by an id alone) and confirmed: a pending
    refund whose answer was lost becomes succeeded here. One larger than what is left of the
    payment is not dropped: it becomes a finding for staff.
    """
    from .corrections import finding_record

    key = (metadata or {}).get("minot_refund_key")
    own = Refund.objects.filter(idempotency_key=key, payment=payment).first() if key else None
    if own is not None:
        if own.amount_cents != amount_cents:
            finding_record(
                key=f"refund-amount:{provider_refund_id}",
                kind="event_mismatch",
                payment=payment,
                amount_cents=amount_cents,
                message=_(
                    "Le remboursement %(ref)s chez le prestataire (%(amount)s) ne correspond pas "
                    "au remboursement enregistré."
                )
                % {"ref": provider_refund_id, "amount": _fmt(amount_cents, payment.currency)},
            )
            return False
        refund_apply_result(
            refund_id=own.pk,
            result=ProviderResult(status=Refund.Status.SUCCEEDED, reference=provider_refund_id),
        )
        return False
    if Refund.objects.filter(provider_reference=provider_refund_id).exists():
        return False
    try:
        with transaction.atomic():
            # Any status but reversed: a refund event may arrive before the success event; after
            # a reversal, the bank already took everything back (then it is a finding).
            reserved = (
                Payment.objects.filter(
                    pk=payment.pk, refunded_cents__lte=F("amount_cents") - amount_cents
                )
                .exclude(status=Payment.Status.REVERSED)
                .update(refunded_cents=F("refunded_cents") + amount_cents)
            )
            if not reserved:
                payment.refresh_from_db()
                finding_record(
                    key=f"refund-exceeds:{provider_refund_id}",
                    kind="refund_exceeds",
                    payment=payment,
                    amount_cents=amount_cents,
                    message=_(
                        "Remboursement %(ref)s de %(amount)s fait chez le prestataire, alors qu'il "
                        "ne reste que %(left)s remboursables sur le paiement %(number)s."
                    )
                    % {
                        "ref": provider_refund_id,
                        "amount": _fmt(amount_cents, payment.currency),
                        "left": _fmt(payment.refundable_cents, payment.currency),
                        "number": payment.receipt_number,
                    },
                )
                return False
            refund = Refund.objects.create(
                payment=payment,
                amount_cents=amount_cents,
                currency=payment.currency,
                reason=_("Remboursement effectué chez le prestataire"),
                idempotency_key=f"provider:{provider_refund_id}",
            )
            refund_apply_result(
                refund_id=refund.pk,
                result=ProviderResult(status=Refund.Status.SUCCEEDED, reference=provider_refund_id),
            )
    except IntegrityError:  # recorded concurrently by another delivery: nothing to add
        return False
    return True
