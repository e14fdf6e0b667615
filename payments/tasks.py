"""Celery tasks: take ids, call one service. Delivered twice, they do no harm."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def stripe_event_process_task(event_pk: int) -> str:
    from .services.stripe_events import stripe_event_process

    return stripe_event_process(event_pk=event_pk)


@shared_task(acks_late=True)
def stripe_catch_up_task() -> dict:
    from .services.stripe_events import stripe_catch_up

    return stripe_catch_up()


@shared_task(acks_late=True)
def billing_run_task(period: str, user_id: int | None = None, issue: bool = False) -> int:
    from backend.accounts.models import User

    from .services.billing import billing_run_for_period, parse_period

    actor = User.objects.filter(pk=user_id).first() if user_id else None
    return billing_run_for_period(period=parse_period(period), actor=actor, issue=issue).pk


@shared_task(acks_late=True)
def billing_run_previous_month_task() -> int:
    """Beat: on the 1st, bill the month that just ended (drafts; staff issue them)."""
    import datetime as dt

    from django.utils import timezone

    from .services.billing import billing_run_for_period

    first = timezone.localdate().replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    return billing_run_for_period(period=previous).pk


@shared_task(acks_late=True)
def sepa_debits_task() -> int:
    from .services.sepa import sepa_debits_create_due

    return sepa_debits_create_due()


@shared_task(acks_late=True)
def dunning_task() -> int:
    from .services.accounting import dunning_send_reminders

    return dunning_send_reminders()


@shared_task(acks_late=True)
def prepaid_debit_task() -> int:
    from .services.prepaid import prepaid_debit_meals

    return prepaid_debit_meals()


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def overpayment_refund_task(finding_id: int) -> str:
    from .services.corrections import overpayment_refund

    return overpayment_refund(finding_id=finding_id).status


@shared_task(acks_late=True)
def payments_audit_task() -> int:
    """Nightly: check the money invariants; any finding alerts finance (admins)."""
    from .services.audit import payments_audit_alert

    return payments_audit_alert()
