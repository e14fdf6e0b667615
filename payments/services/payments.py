"""Payments: online (Stripe, SEPA), at the counter, refunds. State moves only forward."""

from __future__ import annotations

import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.models import ActorKind
from backend.core.money import format_money
from backend.core.services import audit_record, notification_send

from ..declines import decline_reason
from ..models import Account, Invoice, LedgerEntry, Payment, PaymentAllocation, Refund
from ..providers import ProviderError, ProviderResult, provider_for
from .ledger import ledger_entry_add

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


def payment_start_online(
    *,
    actor,
    invoices: list[Invoice],
    payment_method: str | None = None,
    provider: str = Payment.Provider.STRIPE,
) -> Payment:
    """Pay one or several invoices online in one payment.

    The caller has already checked access (``permissions.invoice_for_user``). The payment row and
    its deterministic idempotency key are committed before Stripe is called; a double submit of
    the same invoices reuses the same row and key.
    """
    account = _open_invoices_of(invoices)
    amount = sum(i.outstanding_cents for i in invoices)
    ids = sorted(i.pk for i in invoices)
    base = f"minot:invoices:{'-'.join(map(str, ids))}"
    with transaction.atomic():
        previous = list(
            Payment.objects.select_for_update().filter(idempotency_key__startswith=base + ":")
        )
        for p in previous:
            if p.status == Payment.Status.PROCESSING:
                raise ApplicationError(
                    _("Un paiement de ces factures est déjà en cours de traitement.")
                )
            if p.status == Payment.Status.SUCCEEDED:
                raise ApplicationError(_("Ces factures ont déjà été payées."))
        reusable = [
            p for p in previous if p.status == Payment.Status.PENDING and p.amount_cents == amount
        ]
        if reusable and (not reusable[0].provider_reference or payment_method is None):
            payment = reusable[0]
        else:
            payment = Payment(
                account=account,
                household_id=account.household_id,
                provider=provider,
                amount_cents=amount,
                currency=account.currency,
                idempotency_key=f"{base}:attempt:{len(previous) + 1}",
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            try:
                with transaction.atomic():
                    payment.save(force_insert=True)
            except IntegrityError:  # a concurrent double submit created it first
                payment = Payment.objects.get(idempotency_key=payment.idempotency_key)
                return payment
            PaymentAllocation.objects.bulk_create(
                [
                    PaymentAllocation(payment=payment, invoice=i, amount_cents=c)
                    for i, c in _allocate(invoices, amount)
                ]
            )
            audit_record(
                action="payments.payment_start",
                actor=actor,
                target=payment,
                household_id=account.household_id,
                data={"invoices": ids, "amount_cents": amount, "provider": provider},
            )
    if payment.provider_reference and payment_method is None:
        return payment  # the Payment Element on the page confirms the existing PaymentIntent
    return _call_provider(payment, payment_method=payment_method)


def _call_provider(
    payment: Payment, *, payment_method: str | None, off_session: bool = False
) -> Payment:
    try:
        result = provider_for(payment.provider).create_payment(
            payment=payment, payment_method=payment_method, off_session=off_session
        )
    except ProviderError as exc:
        logger.warning("payment %s: provider error %s", payment.pk, exc)
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
    ledger entry (once: unique source key) and the invoices' paid amounts, in the same transaction.
    """
    if status not in RANK:
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
        payment = Payment.objects.select_related("account__guardian__user").get(pk=payment_id)
        user = payment.account.guardian.user
        if status == Payment.Status.SUCCEEDED:
            _on_success(payment)
            notification_send(
                user=user,
                subject=_("Paiement reçu : %(amount)s")
                % {"amount": _fmt(payment.amount_cents, payment.currency)},
                body=_(
                    "Merci. Votre reçu %(number)s est disponible dans l'historique des paiements."
                )
                % {"number": payment.receipt_number},
                url=f"/paiements/historique/{payment.pk}/",
            )
        elif status == Payment.Status.FAILED:
            body = _(
                "Votre paiement de %(amount)s n'a pas abouti : %(reason)s. Vos factures restent à régler."
            ) % {
                "amount": _fmt(payment.amount_cents, payment.currency),
                "reason": decline_reason(payment.failure_message).rstrip("."),
            }
            if payment.provider == Payment.Provider.SEPA:
                body = _(
                    "Le prélèvement de %(amount)s a été rejeté : %(reason)s. La facture est de nouveau à "
                    "régler ; vous pouvez la payer en ligne ou au guichet."
                ) % {
                    "amount": _fmt(payment.amount_cents, payment.currency),
                    "reason": decline_reason(payment.failure_message).rstrip("."),
                }
            notification_send(
                user=user, subject=_("Paiement non abouti"), body=body, url="/paiements/"
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


def _on_success(payment: Payment) -> None:
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
    for allocation in payment.allocations.all():
        Invoice.objects.filter(pk=allocation.invoice_id, status__in=Invoice.OPEN_STATUSES).update(
            paid_cents=F("paid_cents") + allocation.amount_cents
        )
        Invoice.objects.filter(
            pk=allocation.invoice_id,
            status__in=Invoice.OPEN_STATUSES,
            paid_cents__gte=F("total_cents"),
        ).update(status=Invoice.Status.PAID)
        Invoice.objects.filter(
            pk=allocation.invoice_id,
            status=Invoice.Status.ISSUED,
            paid_cents__gt=0,
            paid_cents__lt=F("total_cents"),
        ).update(status=Invoice.Status.PARTIALLY_PAID)


def payment_record_counter(
    *,
    actor,
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
    actor,
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
            created_by=actor,
        )
        payment.save(force_insert=True)
    return _call_provider(payment, payment_method=payment_method)


# --- Refunds ------------------------------------------------------------------------------


def refund_create(*, actor, payment: Payment, amount_cents: int, reason: str) -> Refund:
    """Refund part or all of a payment. Never more than what is left of it."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Indiquez le motif du remboursement."))
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise ApplicationError(_("Le montant du remboursement doit être positif."))
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
        count = Refund.objects.filter(payment=payment).count()
        refund = Refund.objects.create(
            payment=payment,
            amount_cents=amount_cents,
            currency=payment.currency,
            reason=reason[:255],
            idempotency_key=f"minot:payment:{payment.pk}:refund:{count + 1}",
            created_by=actor,
        )
        audit_record(
            action="payments.refund_create",
            actor=actor,
            actor_kind=ActorKind.STAFF_FOR_FAMILY,
            target=refund,
            household_id=payment.household_id,
            data={"payment": payment.pk, "amount_cents": amount_cents, "reason": reason},
        )
    # Committed (with its idempotency key) before the provider is called.
    try:
        result = provider_for(payment.provider).refund(refund=refund)
    except ProviderError as exc:
        result = ProviderResult(status=Refund.Status.FAILED, failure_message=str(exc))
    refund_apply_result(refund_id=refund.pk, result=result)
    refund.refresh_from_db()
    if refund.status == Refund.Status.FAILED:
        raise ApplicationError(
            _("Le remboursement a été refusé par le prestataire : %(reason)s")
            % {"reason": refund.failure_message}
        )
    return refund


def refund_apply_result(*, refund_id: int, result: ProviderResult) -> None:
    with transaction.atomic():
        if result.status == Refund.Status.SUCCEEDED:
            moved = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
                status=Refund.Status.SUCCEEDED, provider_reference=result.reference or None
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
    """A refund seen in a provider event (ours, or made in the provider's dashboard). Once."""
    own_id = (metadata or {}).get("minot_refund_id")
    if own_id and Refund.objects.filter(pk=own_id, payment=payment).exists():
        refund_apply_result(
            refund_id=int(own_id),
            result=ProviderResult(status=Refund.Status.SUCCEEDED, reference=provider_refund_id),
        )
        return False
    if Refund.objects.filter(provider_reference=provider_refund_id).exists():
        return False
    try:
        with transaction.atomic():
            reserved = Payment.objects.filter(
                pk=payment.pk, refunded_cents__lte=F("amount_cents") - amount_cents
            ).update(refunded_cents=F("refunded_cents") + amount_cents)
            if not reserved:
                logger.error(
                    "provider refund %s exceeds payment %s", provider_refund_id, payment.pk
                )
                return False
            refund = Refund.objects.create(
                payment=payment,
                amount_cents=amount_cents,
                currency=payment.currency,
                reason=_("Remboursement effectué chez le prestataire"),
                idempotency_key=f"provider:{provider_refund_id}",
                provider_reference=provider_refund_id,
            )
            refund_apply_result(
                refund_id=refund.pk,
                result=ProviderResult(status=Refund.Status.SUCCEEDED, reference=provider_refund_id),
            )
    except IntegrityError:  # recorded concurrently by another delivery: nothing to add
        return False
    return True
