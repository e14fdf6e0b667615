"""SEPA Direct Debit: a mandate collected once (SetupIntent), then monthly off-session debits.

A debit stays ``processing`` until Stripe says it settled (``payment_intent.succeeded``); the
invoice is marked paid only then. A failure reopens it and the family is notified.
"""

from __future__ import annotations

import logging
import re
import uuid

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError
from backend.core.services import audit_record

from ..models import Account, Invoice, Payment, PaymentAllocation
from ..providers import ProviderError, as_dict, stripe_configure
from .payments import _call_provider

logger = logging.getLogger(__name__)

IBAN_RE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


def iban_normalise(value: str) -> str:
    iban = re.sub(r"\s+", "", value or "").upper()
    if not IBAN_RE.match(iban):
        raise ApplicationError(
            _("IBAN invalide : vérifiez le format (ex. FR76 3000 6000 0112 3456 7890 189).")
        )
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    if int(digits) % 97 != 1:
        raise ApplicationError(_("IBAN invalide : la clé de contrôle ne correspond pas."))
    return iban


def _ensure_customer(account: Account) -> str:
    if account.stripe_customer_id:
        return account.stripe_customer_id
    user = account.guardian.user
    customer = stripe.Customer.create(
        email=user.email,
        name=user.get_full_name() or user.email,
        metadata={"minot_account_id": str(account.pk)},
        idempotency_key=f"minot:account:{account.pk}:customer",
    )
    Account.objects.filter(pk=account.pk, stripe_customer_id="").update(
        stripe_customer_id=customer["id"]
    )
    account.refresh_from_db()
    return account.stripe_customer_id


def sepa_mandate_setup(*, actor, account: Account, iban: str) -> Account:
    """Collect the SEPA mandate once: a SetupIntent confirmed with the family's IBAN.

    In production the IBAN Element on the page confirms the SetupIntent in the browser; the demo
    (localstripe) confirms it server-side with the IBAN typed in the form.
    """
    iban = iban_normalise(iban)
    stripe_configure()
    try:
        customer = _ensure_customer(account)
        setup = stripe.SetupIntent.create(  # type: ignore[call-arg]
            customer=customer,
            payment_method_types=["sepa_debit"],
            metadata={"minot_account_id": str(account.pk)},
            idempotency_key=f"minot:account:{account.pk}:sepa-setup:{iban[-4:]}",
        )
        intent = as_dict(
            stripe.SetupIntent.confirm(
                setup["id"],
                payment_method_data={"type": "sepa_debit", "sepa_debit": {"iban": iban}},
            )
        )
    except stripe.StripeError as exc:
        logger.warning("sepa setup failed for account %s: %s", account.pk, exc)
        raise ApplicationError(
            _("Le mandat n'a pas pu être enregistré : %(reason)s")
            % {"reason": getattr(exc, "user_message", "") or str(exc)}
        )
    if intent.get("status") != "succeeded" or not intent.get("payment_method"):
        raise ApplicationError(_("Le mandat n'a pas pu être confirmé par la banque."))
    with transaction.atomic():
        Account.objects.filter(pk=account.pk).update(
            sepa_payment_method_id=intent["payment_method"],
            sepa_iban_last4=iban[-4:],
            sepa_mandate_at=timezone.now(),
        )
        audit_record(
            action="payments.sepa_mandate",
            actor=actor,
            target=account,
            household_id=account.household_id,
            data={"iban_last4": iban[-4:]},
        )
    account.refresh_from_db()
    return account


def sepa_mandate_revoke(*, actor, account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(
        sepa_payment_method_id="", sepa_iban_last4="", sepa_mandate_at=None
    )
    audit_record(
        action="payments.sepa_revoke",
        actor=actor,
        target=account,
        household_id=account.household_id,
    )


def sepa_debits_create_due(*, today=None) -> int:
    """Create the off-session debit of each issued invoice whose debit date has come.

    One debit per invoice ever (idempotency key ``minot:sepa:invoice:<id>``): after a failure
    the family pays another way, we never debit twice by ourselves.
    """
    today = today or timezone.localdate()
    already = PaymentAllocation.objects.filter(
        invoice=OuterRef("pk"), payment__provider=Payment.Provider.SEPA
    )
    due = (
        Invoice.objects.filter(status__in=Invoice.OPEN_STATUSES, debit_date__lte=today)
        .exclude(account__sepa_payment_method_id="")
        .filter(~Exists(already))
        .select_related("account")
    )
    created = 0
    for invoice in due:
        if invoice.outstanding_cents <= 0:
            continue
        key = f"minot:sepa:invoice:{invoice.pk}"
        try:
            with transaction.atomic():
                payment, was_created = Payment.objects.get_or_create(
                    idempotency_key=key,
                    defaults={
                        "account": invoice.account,
                        "household_id": invoice.household_id,
                        "provider": Payment.Provider.SEPA,
                        "amount_cents": invoice.outstanding_cents,
                        "currency": invoice.currency,
                        "nonce": uuid.uuid4().hex,
                    },
                )
                if was_created:
                    PaymentAllocation.objects.create(
                        payment=payment,
                        invoice=invoice,
                        amount_cents=payment.amount_cents,
                        is_open_attempt=True,
                    )
        except IntegrityError:  # the family is paying it online right now: no debit
            logger.info("sepa debit for invoice %s skipped: a payment is in progress", invoice.pk)
            continue
        if payment.provider_reference:
            continue
        try:
            _call_provider(
                payment, payment_method=invoice.account.sepa_payment_method_id, off_session=True
            )
            created += 1
        except (ApplicationError, ProviderError) as exc:
            logger.warning("sepa debit for invoice %s not created yet: %s", invoice.pk, exc)
    # Debits whose creation got no answer (provider down): retried until they have a reference.
    from .stripe_events import payment_resolve_unreferenced

    for payment in Payment.objects.filter(
        provider=Payment.Provider.SEPA,
        status=Payment.Status.PENDING,
        provider_reference__isnull=True,
    ).select_related("account"):
        created += int(payment_resolve_unreferenced(payment=payment))
    return created
