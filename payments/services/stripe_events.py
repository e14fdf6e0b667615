"""Stripe webhook events: verify, store once, process after commit, catch up on missed ones."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.safejson import loads_limited

from ..declines import decline_code
from ..models import Account, Finding, Payment, Refund, StripeEvent
from ..providers import ProviderError, StripeProvider, as_dict, livemode, stripe_configure
from .corrections import finding_record
from .payments import (
    payment_apply_status,
    payment_record_result,
    payment_reverse,
    refund_record_from_provider,
    refund_resolve_pending,
)

logger = logging.getLogger(__name__)

PAYMENT_INTENT_STATUS = {
    "payment_intent.succeeded": Payment.Status.SUCCEEDED,
    "payment_intent.processing": Payment.Status.PROCESSING,
    "payment_intent.payment_failed": Payment.Status.FAILED,
    "payment_intent.canceled": Payment.Status.CANCELED,
}
# Money taken back after success: a SEPA return or late failure, a card or SEPA dispute.
REVERSAL_TYPES = {"charge.failed", "charge.dispute.created", "charge.dispute.funds_withdrawn"}
HANDLED_TYPES = (
    set(PAYMENT_INTENT_STATUS) | REVERSAL_TYPES | {"charge.refunded", "setup_intent.succeeded"}
)


class WebhookNotConfigured(Exception):
    pass


def stripe_event_verify(
    *, payload: bytes, signature: str | None, tolerance: int = 300
) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` header against the raw body, then parse it.

    Raises ``ValueError`` (including ``JSONLimitError``) or ``stripe.SignatureVerificationError``
    for anything not signed by Stripe within ``tolerance`` seconds — in the past *or the future*
    (the library only checks the past) — and for a signed body that is not one event object.
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookNotConfigured
    if not signature:
        raise stripe.SignatureVerificationError("missing signature", signature, payload)
    stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    timestamps = [
        part.split("=", 1)[1] for part in signature.split(",") if part.strip().startswith("t=")
    ]
    if not timestamps or not timestamps[0].strip().isdigit():
        raise stripe.SignatureVerificationError("no timestamp", signature, payload)
    if int(timestamps[0]) > time.time() + tolerance:
        raise stripe.SignatureVerificationError("timestamp in the future", signature, payload)
    data = loads_limited(payload)
    if not isinstance(data, dict):
        raise ValueError("not an event")
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise ValueError("not an event")
    if not isinstance(data.get("data"), dict):
        raise ValueError("not an event")
    return data


def stripe_event_store(*, event: dict[str, Any]) -> tuple[StripeEvent, bool]:
    """Store an event once (its id is unique) and enqueue its processing after commit."""
    from backend.core.outbox import enqueue

    from ..tasks import stripe_event_process_task

    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                event_id=event["id"][:255],
                type=str(event["type"])[:100],
                payload=event,
                livemode=bool(event.get("livemode")),
            )
            pk = stored.pk
            enqueue(stripe_event_process_task, pk)
    except IntegrityError:
        return StripeEvent.objects.get(event_id=event["id"]), False
    return stored, True


def _intent_reference(obj: dict[str, Any]) -> str | None:
    if obj.get("object") == "payment_intent":
        ref = obj.get("id")
    else:
        ref = obj.get("payment_intent")
        if ref is None and obj.get("object") == "dispute" and isinstance(obj.get("charge"), str):
            ref = _intent_of_charge(obj["charge"])
    return ref if isinstance(ref, str) and ref else None


def _intent_of_charge(charge_id: str) -> str | None:
    stripe_configure()
    try:
        return as_dict(stripe.Charge.retrieve(charge_id)).get("payment_intent")
    except stripe.StripeError:
        return None


def _find_payment(obj: dict[str, Any]) -> Payment | None:
    """Our payment for a provider object: by the PaymentIntent id we stored, only.

    A PaymentIntent whose create response we lost (our row has no reference yet) is adopted
    when its metadata names the row *and* carries the row's nonce; an id alone (reused after a
    backup restore, or from a shared test account) is never believed.
    """
    reference = _intent_reference(obj)
    if reference is None:
        return None
    payment = Payment.objects.filter(provider_reference=reference).first()
    if payment is not None or obj.get("object") != "payment_intent":
        return payment
    metadata = obj.get("metadata") or {}
    own_id, nonce = str(metadata.get("minot_payment_id") or ""), metadata.get("minot_nonce")
    if not (own_id.isdigit() and isinstance(nonce, str) and nonce):
        return None
    candidate = Payment.objects.filter(
        pk=int(own_id), nonce=nonce, provider_reference__isnull=True
    ).first()
    if candidate is None:
        return None
    if Payment.objects.filter(pk=candidate.pk, provider_reference__isnull=True).update(
        provider_reference=reference
    ):
        candidate.refresh_from_db()
        return candidate
    return Payment.objects.filter(provider_reference=reference).first()


def _mismatch(payment: Payment, obj: dict[str, Any], event: StripeEvent) -> str:
    """Why this object cannot be about this payment ('' when it can)."""
    if bool(event.livemode) != livemode():
        return "livemode differs"
    if str(obj.get("currency", "")).lower() != payment.currency.lower():
        return "currency differs"
    if obj.get("object") == "payment_intent":
        if obj.get("amount") != payment.amount_cents:
            return "amount differs"
        household = (obj.get("metadata") or {}).get("minot_household_id")
        if household is not None and str(household) != str(payment.household_id):
            return "household differs"
    elif obj.get("object") == "charge":
        if obj.get("amount") != payment.amount_cents:
            return "amount differs"
    return ""


def stripe_event_process(*, event_pk: int) -> str:
    """Apply one stored event. Safe to run twice and in any order with other events."""
    with transaction.atomic():
        event = StripeEvent.objects.select_for_update().filter(pk=event_pk).first()
        if event is None or event.status in (
            StripeEvent.Status.PROCESSED,
            StripeEvent.Status.IGNORED,
        ):
            return event.status if event else "missing"
        status, error = _handle(event)
        event.status = status
        event.error = error
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "error", "processed_at"])
        return status


def _handle(event: StripeEvent) -> tuple[str, str]:
    obj = ((event.payload or {}).get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        return StripeEvent.Status.IGNORED, "no object"
    kind = event.type
    if kind in PAYMENT_INTENT_STATUS or kind in REVERSAL_TYPES or kind == "charge.refunded":
        payment = _find_payment(obj)
        if payment is None:
            return StripeEvent.Status.IGNORED, "unknown payment"
        why = _mismatch(payment, obj, event)
        if why:
            finding_record(
                key=f"event:{event.event_id}",
                kind=Finding.Kind.EVENT_MISMATCH,
                payment=payment,
                message=_(
                    "L'événement %(event)s (%(type)s) ne correspond pas au paiement %(number)s : "
                    "%(why)s. Il n'a pas été appliqué."
                )
                % {
                    "event": event.event_id,
                    "type": kind,
                    "number": payment.receipt_number,
                    "why": why,
                },
            )
            return StripeEvent.Status.FAILED, why
        if kind in PAYMENT_INTENT_STATUS:
            return _apply_intent_event(payment, kind, obj)
        if kind in REVERSAL_TYPES:
            return _apply_reversal_event(payment, kind, obj)
        for refund in (obj.get("refunds") or {}).get("data") or []:
            if refund.get("status", "succeeded") == "succeeded" and isinstance(
                refund.get("amount"), int
            ):
                refund_record_from_provider(
                    payment=payment,
                    provider_refund_id=refund["id"],
                    amount_cents=refund["amount"],
                    metadata=refund.get("metadata") or {},
                )
        return StripeEvent.Status.PROCESSED, ""
    if kind == "setup_intent.succeeded":
        account_id = (obj.get("metadata") or {}).get("minot_account_id")
        pm = obj.get("payment_method")
        if account_id and str(account_id).isdigit() and isinstance(pm, str):
            Account.objects.filter(pk=int(account_id), sepa_payment_method_id="").update(
                sepa_payment_method_id=pm, sepa_mandate_at=timezone.now()
            )
            return StripeEvent.Status.PROCESSED, ""
        return StripeEvent.Status.IGNORED, "no account"
    return StripeEvent.Status.IGNORED, ""


def _late_sepa_failure(payment: Payment) -> bool:
    """A failure event for a payment we counted as succeeded: a real SEPA return only when the
    provider says so *now* (a card's older failed attempt delivered late must not reverse a
    success). Stripe unreachable: raise, the task is retried."""
    if payment.provider != Payment.Provider.SEPA or payment.status != Payment.Status.SUCCEEDED:
        return False
    current = StripeProvider().retrieve_payment(payment=payment)
    return current.status != Payment.Status.SUCCEEDED


def _apply_intent_event(payment: Payment, kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    error = obj.get("last_payment_error") or {}
    message = decline_code(  # the provider's code, shown in French, never its English text
        code=error.get("code") or "",
        decline_code=error.get("decline_code") or "",
        message=error.get("message") or "",
    )
    status = PAYMENT_INTENT_STATUS[kind]
    if status == Payment.Status.FAILED and _late_sepa_failure(payment):
        payment_reverse(
            payment_id=payment.pk, reason=message or _("prélèvement rejeté"), source=kind
        )
        return StripeEvent.Status.PROCESSED, "reversed"
    payment_apply_status(payment_id=payment.pk, status=status, failure_message=message)
    return StripeEvent.Status.PROCESSED, ""


def _apply_reversal_event(payment: Payment, kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    if kind == "charge.failed":
        if _late_sepa_failure(payment):
            reason = str(obj.get("failure_message") or _("prélèvement rejeté"))
            payment_reverse(payment_id=payment.pk, reason=reason, source=kind)
            return StripeEvent.Status.PROCESSED, "reversed"
        if payment.status != Payment.Status.SUCCEEDED:
            payment_apply_status(
                payment_id=payment.pk,
                status=Payment.Status.FAILED,
                failure_message=str(obj.get("failure_message") or ""),
            )
        return StripeEvent.Status.PROCESSED, ""
    # A dispute (card chargeback, SEPA return within 8 weeks or unauthorised within 13 months).
    reason = str(obj.get("reason") or kind)
    payment_reverse(payment_id=payment.pk, reason=reason, source=kind)
    return StripeEvent.Status.PROCESSED, ""


STALE_UNREFERENCED = dt.timedelta(minutes=30)


def stripe_catch_up(
    *,
    since: dt.timedelta = dt.timedelta(days=3),
    stale_after: dt.timedelta = dt.timedelta(minutes=10),
) -> dict[str, int]:
    """What webhooks may have missed or lost responses left undecided:

    - recent events listed and stored (deduplicated by id) and processed like webhooks;
    - payments pending/processing for more than ``stale_after`` re-polled;
    - payments without a reference (the create response was lost): found at Stripe by their id
      and nonce; a SEPA debit never seen by Stripe is sent again with the same key; a card
      attempt never seen is cancelled after 30 minutes;
    - refunds left pending (lost response): found by their key, or sent again with it.
    """
    stripe_configure()
    fetched = stored = repolled = resolved = 0
    created_gte = int((timezone.now() - since).timestamp())
    try:
        for event in stripe.Event.list(created={"gte": created_gte}, limit=100).auto_paging_iter():
            fetched += 1
            data = as_dict(event)
            if data.get("type") not in HANDLED_TYPES:
                continue
            _stored, created = stripe_event_store(event=data)
            stored += int(created)
    except stripe.StripeError as exc:
        logger.warning("stripe catch-up: cannot list events: %s", exc)
    provider = StripeProvider()
    cutoff = timezone.now() - stale_after
    online = [Payment.Provider.STRIPE, Payment.Provider.SEPA]
    stale = Payment.objects.filter(
        provider__in=online,
        status__in=Payment.OPEN_STATUSES,
        provider_reference__isnull=False,
        updated_at__lt=cutoff,
    )
    for payment in stale.iterator():
        try:
            result = provider.retrieve_payment(payment=payment)
        except ProviderError as exc:
            logger.warning("stripe catch-up: payment %s: %s", payment.pk, exc)
            continue
        if result.status != payment.status:
            repolled += int(
                payment_apply_status(
                    payment_id=payment.pk,
                    status=result.status,
                    failure_message=result.failure_message,
                )
            )
    unreferenced = Payment.objects.filter(
        provider__in=online,
        status=Payment.Status.PENDING,
        provider_reference__isnull=True,
        created_at__lt=cutoff,
    ).select_related("account")
    for payment in unreferenced:
        resolved += int(payment_resolve_unreferenced(payment=payment))
    for refund in Refund.objects.filter(
        status=Refund.Status.PENDING, created_at__lt=cutoff
    ).select_related("payment"):
        resolved += int(refund_resolve_pending(refund=refund).status != Refund.Status.PENDING)
    return {"fetched": fetched, "stored": stored, "repolled": repolled, "resolved": resolved}


def payment_resolve_unreferenced(*, payment: Payment) -> bool:
    """A payment row whose PaymentIntent create got no answer. Returns whether it was decided."""
    provider = StripeProvider()
    try:
        found = provider.find_payment(payment=payment)
    except ProviderError as exc:
        logger.warning("stripe catch-up: payment %s: %s", payment.pk, exc)
        return False
    if found is not None:
        payment_record_result(payment=payment, result=found)
        return True
    if payment.provider == Payment.Provider.SEPA:
        if not payment.account.sepa_payment_method_id:
            payment_apply_status(payment_id=payment.pk, status=Payment.Status.CANCELED)
            return True
        try:  # never reached Stripe: the same call again, with the same key
            result = provider.create_payment(
                payment=payment,
                payment_method=payment.account.sepa_payment_method_id,
                off_session=True,
            )
        except ProviderError as exc:
            logger.warning("sepa debit %s still not created: %s", payment.pk, exc)
            return False
        payment_record_result(payment=payment, result=result)
        return True
    if payment.created_at < timezone.now() - STALE_UNREFERENCED:
        payment_apply_status(payment_id=payment.pk, status=Payment.Status.CANCELED)
        return True
    return False
