"""Stripe webhook events: verify, store once, process after commit, catch up on missed ones."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..declines import decline_code
from ..models import Account, Payment, StripeEvent
from ..providers import ProviderError, StripeProvider, as_dict, stripe_configure
from .payments import payment_apply_status, refund_record_from_provider

logger = logging.getLogger(__name__)

PAYMENT_INTENT_STATUS = {
    "payment_intent.succeeded": Payment.Status.SUCCEEDED,
    "payment_intent.processing": Payment.Status.PROCESSING,
    "payment_intent.payment_failed": Payment.Status.FAILED,
    "payment_intent.canceled": Payment.Status.CANCELED,
}
HANDLED_TYPES = set(PAYMENT_INTENT_STATUS) | {"charge.refunded", "setup_intent.succeeded"}


class WebhookNotConfigured(Exception):
    pass


def stripe_event_verify(
    *, payload: bytes, signature: str | None, tolerance: int = 300
) -> dict[str, Any]:
    """Check the ``Stripe-Signature`` header against the raw body. Raises ``ValueError`` or
    ``stripe.SignatureVerificationError`` for anything not signed by Stripe within ``tolerance``."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookNotConfigured
    if not signature:
        raise stripe.SignatureVerificationError("missing signature", signature, payload)
    event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=tolerance)
    data = event.to_dict() if hasattr(event, "to_dict") else dict(event)
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
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


def _find_payment(obj: dict[str, Any]) -> Payment | None:
    metadata = obj.get("metadata") or {}
    own_id = metadata.get("minot_payment_id")
    reference = (
        obj.get("payment_intent") if obj.get("object") in ("charge", "refund") else obj.get("id")
    )
    payment = None
    if own_id and str(own_id).isdigit():
        payment = Payment.objects.filter(pk=int(own_id)).first()
    if payment is None and reference:
        payment = Payment.objects.filter(provider_reference=reference).first()
    if payment is not None and reference and obj.get("object") == "payment_intent":
        if payment.provider_reference and payment.provider_reference != reference:
            return None  # metadata says ours but another intent: do not trust it
        if not payment.provider_reference:
            Payment.objects.filter(pk=payment.pk, provider_reference__isnull=True).update(
                provider_reference=reference
            )
    return payment


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
    kind = event.type
    if kind in PAYMENT_INTENT_STATUS:
        payment = _find_payment(obj)
        if payment is None:
            return StripeEvent.Status.IGNORED, "unknown payment"
        if (
            obj.get("amount") != payment.amount_cents
            or str(obj.get("currency", "")).lower() != payment.currency.lower()
        ):
            return StripeEvent.Status.FAILED, "amount or currency differs from our payment"
        error = obj.get("last_payment_error") or {}
        message = decline_code(
            code=error.get("code") or "",
            decline_code=error.get("decline_code") or "",
            message=error.get("message") or "",
        )
        payment_apply_status(
            payment_id=payment.pk, status=PAYMENT_INTENT_STATUS[kind], failure_message=message
        )
        return StripeEvent.Status.PROCESSED, ""
    if kind == "charge.refunded":
        payment = _find_payment(obj)
        if payment is None:
            return StripeEvent.Status.IGNORED, "unknown payment"
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


def stripe_catch_up(
    *,
    since: dt.timedelta = dt.timedelta(days=3),
    stale_after: dt.timedelta = dt.timedelta(minutes=10),
) -> dict[str, int]:
    """Fetch recent events we may have missed, and re-poll payments left pending or processing."""
    stripe_configure()
    fetched = stored = repolled = 0
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
    stale = Payment.objects.filter(
        provider__in=[Payment.Provider.STRIPE, Payment.Provider.SEPA],
        status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING],
        provider_reference__isnull=False,
        updated_at__lt=timezone.now() - stale_after,
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
    return {"fetched": fetched, "stored": stored, "repolled": repolled}
