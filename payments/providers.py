"""Payment providers behind one interface.

``StripeProvider`` uses PaymentIntents (the Payment Element confirms them on the page in
production; in the demo and tests against localstripe the PaymentIntent is created with a test
PaymentMethod and confirmed server-side). ``CounterProvider`` records cash and cheques taken at
the counter. A public-treasury provider (PayFiP, a redirect) would be a third implementation.
Every create call carries the idempotency key stored on our row before the call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import stripe
from django.conf import settings

from .declines import decline_code
from .models import Payment, Refund


@dataclass
class ProviderResult:
    status: str  # a Payment.Status (or Refund.Status for refunds)
    reference: str = ""
    client_secret: str = ""
    failure_message: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class ProviderError(Exception):
    """The provider could not be reached or refused the request for a technical reason."""


class ProviderUnknown(ProviderError):
    """The request may or may not have been applied (lost response, timeout, provider 5xx).

    The local row stays *pending* with its idempotency key; the catch-up resolves it from the
    provider (retrieve by metadata, or the same call replayed with the same key)."""


def livemode() -> bool:
    """Whether our secret key is a live one: an event's ``livemode`` must say the same."""
    return str(getattr(settings, "STRIPE_SECRET_KEY", "") or "").startswith(("sk_live", "rk_live"))


class PaymentProvider(Protocol):
    name: str

    def create_payment(
        self, *, payment: Payment, payment_method: str | None = None, off_session: bool = False
    ) -> ProviderResult: ...

    def retrieve_payment(self, *, payment: Payment) -> ProviderResult: ...

    def refund(self, *, refund: Refund) -> ProviderResult: ...

    def cancel_payment(self, *, payment: Payment) -> ProviderResult: ...

    def find_payment(self, *, payment: Payment) -> ProviderResult | None: ...

    def find_refund(self, *, refund: Refund) -> ProviderResult | None: ...


class CounterProvider:
    """Cash or cheque handed to staff: the money is already there."""

    name = "counter"

    def create_payment(self, *, payment, payment_method=None, off_session=False) -> ProviderResult:
        return ProviderResult(status=Payment.Status.SUCCEEDED)

    def retrieve_payment(self, *, payment) -> ProviderResult:
        return ProviderResult(status=payment.status)

    def refund(self, *, refund) -> ProviderResult:
        return ProviderResult(status=Refund.Status.SUCCEEDED)

    def cancel_payment(self, *, payment) -> ProviderResult:
        return ProviderResult(status=payment.status)

    def find_payment(self, *, payment) -> ProviderResult | None:
        return None

    def find_refund(self, *, refund) -> ProviderResult | None:
        return None


# --- Stripe -------------------------------------------------------------------------------

STRIPE_STATUS = {
    "succeeded": Payment.Status.SUCCEEDED,
    "processing": Payment.Status.PROCESSING,
    "canceled": Payment.Status.CANCELED,
    "requires_payment_method": Payment.Status.PENDING,
    "requires_confirmation": Payment.Status.PENDING,
    "requires_action": Payment.Status.PENDING,
    "requires_capture": Payment.Status.PROCESSING,
}


def stripe_configure() -> None:
    """Point the stripe library at Stripe, or at localstripe when ``STRIPE_API_BASE`` is set."""
    stripe.api_key = settings.STRIPE_SECRET_KEY
    stripe.api_base = settings.STRIPE_API_BASE or "https://api.stripe.com"
    stripe.max_network_retries = 0


def to_provider_amount(amount_cents: int, currency: str) -> tuple[int, str]:
    """The one boundary where our money meets Stripe's: integer minor units, lower-case code."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise TypeError("amounts are integer cents")
    return amount_cents, currency.lower()


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _intent_result(intent: Any) -> ProviderResult:
    intent = as_dict(intent)
    status = STRIPE_STATUS.get(intent.get("status"), Payment.Status.PENDING)
    error = intent.get("last_payment_error") or {}
    message = ""
    if intent.get("status") == "requires_payment_method" and error:
        status = Payment.Status.FAILED
        message = decline_code(
            code=error.get("code") or "",
            decline_code=error.get("decline_code") or "",
            message=error.get("message") or "",
        )
    if intent.get("status") == "requires_action":
        message = "authentication_required"
    return ProviderResult(
        status=status,
        reference=intent.get("id") or "",
        client_secret=intent.get("client_secret") or "",
        failure_message=message,
        raw=dict(intent),
    )


class StripeProvider:
    name = "stripe"

    def create_payment(self, *, payment, payment_method=None, off_session=False) -> ProviderResult:
        stripe_configure()
        amount, currency = to_provider_amount(payment.amount_cents, payment.currency)
        method_type = "sepa_debit" if payment.provider == Payment.Provider.SEPA else "card"
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "payment_method_types": [method_type],
            "metadata": intent_metadata(payment),
        }
        if payment.account.stripe_customer_id:
            params["customer"] = payment.account.stripe_customer_id
        if payment_method:
            params["payment_method"] = payment_method
            params["confirm"] = True
            if off_session:
                params["off_session"] = True
        try:
            intent = stripe.PaymentIntent.create(
                **params, idempotency_key=payment.provider_idempotency_key
            )
        except stripe.CardError as exc:
            # The PaymentIntent exists (declined, still confirmable with another card): keep its
            # id so that the next attempt can cancel it.
            return ProviderResult(
                status=Payment.Status.FAILED,
                reference=_intent_of_card_error(exc),
                failure_message=decline_code(
                    code=exc.code or "",
                    decline_code=getattr(exc, "decline_code", "") or "",
                    message=exc.user_message or str(exc),
                ),
            )
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return _intent_result(intent)

    def retrieve_payment(self, *, payment) -> ProviderResult:
        stripe_configure()
        try:
            intent = stripe.PaymentIntent.retrieve(payment.provider_reference)
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return _intent_result(intent)

    def cancel_payment(self, *, payment) -> ProviderResult:
        """Cancel the PaymentIntent so that it can no longer be confirmed. When it is past
        cancelling (succeeded, processing), answer its actual state instead."""
        stripe_configure()
        try:
            return _intent_result(stripe.PaymentIntent.cancel(payment.provider_reference))
        except stripe.InvalidRequestError:
            return self.retrieve_payment(payment=payment)
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc

    def find_payment(self, *, payment) -> ProviderResult | None:
        """The PaymentIntent created for this row when its create response was lost: matched by
        the row id *and* its nonce in the metadata, never by the id alone."""
        for intent in _list_recent(stripe.PaymentIntent, since=payment.created_at):
            metadata = intent.get("metadata") or {}
            if (
                metadata.get("minot_payment_id") == str(payment.pk)
                and payment.nonce
                and metadata.get("minot_nonce") == payment.nonce
            ):
                return _intent_result(intent)
        return None

    def find_refund(self, *, refund) -> ProviderResult | None:
        stripe_configure()
        try:
            listing = stripe.Refund.list(
                payment_intent=refund.payment.provider_reference, limit=100
            )
            for item in listing.auto_paging_iter():
                data = as_dict(item)
                if (data.get("metadata") or {}).get("minot_refund_key") == refund.idempotency_key:
                    return _refund_result(data)
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return None

    def refund(self, *, refund) -> ProviderResult:
        stripe_configure()
        amount, _currency = to_provider_amount(refund.amount_cents, refund.currency)
        try:
            created = stripe.Refund.create(
                payment_intent=refund.payment.provider_reference,
                amount=amount,
                metadata={
                    "minot_refund_id": str(refund.pk),
                    "minot_refund_key": refund.idempotency_key,
                    "minot_payment_id": str(refund.payment_id),
                },
                idempotency_key=refund.idempotency_key,
            )
        except (stripe.APIConnectionError, stripe.APIError) as exc:
            # Lost response or provider error: Stripe may have refunded. The row stays pending.
            raise ProviderUnknown(str(exc)) from exc
        except stripe.StripeError as exc:
            return ProviderResult(
                status=Refund.Status.FAILED,
                failure_message=getattr(exc, "user_message", "") or str(exc),
            )
        return _refund_result(as_dict(created))


def _refund_result(result: dict[str, Any]) -> ProviderResult:
    status = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED}.get(
        str(result.get("status")), Refund.Status.PENDING
    )
    return ProviderResult(status=status, reference=result.get("id") or "", raw=dict(result))


def intent_metadata(payment: Payment) -> dict[str, str]:
    return {
        "minot_payment_id": str(payment.pk),
        "minot_household_id": str(payment.household_id),
        "minot_nonce": payment.nonce,
    }


def _intent_of_card_error(exc: Any) -> str:
    error = getattr(exc, "error", None)
    intent = getattr(error, "payment_intent", None) if error is not None else None
    if intent is not None:
        return str(getattr(intent, "id", None) or (intent if isinstance(intent, str) else ""))
    charge = getattr(error, "charge", None) if error is not None else None
    if isinstance(charge, str) and charge:
        try:
            return str(as_dict(stripe.Charge.retrieve(charge)).get("payment_intent") or "")
        except stripe.StripeError:
            return ""
    return ""


def _provider_error(exc: Exception) -> ProviderError:
    if isinstance(exc, (stripe.APIConnectionError, stripe.APIError)):
        return ProviderUnknown(str(exc))
    return ProviderError(str(exc))


def _list_recent(resource: Any, *, since) -> list[dict[str, Any]]:
    """Objects created since ``since`` (minus 5 minutes). Stripe filters by ``created``;
    localstripe refuses the filter ("Unexpected created"), so we filter here as well."""
    stripe_configure()
    gte = int(since.timestamp()) - 300
    try:
        try:
            listing = resource.list(created={"gte": gte}, limit=100)
        except stripe.InvalidRequestError:
            listing = resource.list(limit=100)
        return [
            as_dict(item)
            for item in listing.auto_paging_iter()
            if int(as_dict(item).get("created") or 0) >= gte
        ]
    except stripe.StripeError as exc:
        raise _provider_error(exc) from exc


def provider_for(provider: str) -> PaymentProvider:
    if provider in (Payment.Provider.STRIPE, Payment.Provider.SEPA):
        return StripeProvider()
    if provider in (Payment.Provider.CASH, Payment.Provider.CHEQUE):
        return CounterProvider()
    raise ValueError(f"unknown provider {provider}")
