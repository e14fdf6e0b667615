"""``POST /payments/stripe/webhook/``: verify the raw body, store the event once, answer fast.

Processing happens in a Celery task enqueued after commit. A bad or stale signature answers 400
and writes nothing. An unconfigured secret answers 503 (nothing can be verified).
"""

from __future__ import annotations

import logging

import stripe
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services.stripe_events import WebhookNotConfigured, stripe_event_store, stripe_event_verify

logger = logging.getLogger(__name__)

MAX_BODY = 512 * 1024


@csrf_exempt
@require_POST
def stripe_webhook(request):
    payload = request.body
    if len(payload) > MAX_BODY:
        return JsonResponse({"message": "payload too large"}, status=413)
    try:
        event = stripe_event_verify(
            payload=payload, signature=request.headers.get("Stripe-Signature")
        )
    except WebhookNotConfigured:
        logger.error("STRIPE_WEBHOOK_SECRET is not set: webhook refused")
        return JsonResponse({"message": "webhook not configured"}, status=503)
    except (ValueError, stripe.SignatureVerificationError, TypeError, KeyError):
        return JsonResponse({"message": "invalid signature or payload"}, status=400)
    stripe_event_store(event=event)
    return HttpResponse(status=200)  # a duplicate delivery is acknowledged the same way
