from celery import shared_task


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notification_email_task(notification_id: int) -> None:
    from .services import notification_email

    notification_email(notification_id=notification_id)


@shared_task(ignore_result=True)
def email_deliver_task(email_id: int) -> None:
    """Send one stored email; a failure is retried by the outbox relay (see backend/core/mail.py)."""
    from .mail import email_deliver

    email_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def outbox_purge_task() -> int:
    from .outbox import outbox_purge

    return outbox_purge()


@shared_task(ignore_result=True)
def retention_task() -> None:
    """Nightly: delete or anonymise personal data past its retention date, and expired API
    tokens (a request only checks the token it presents)."""
    from .account.services import api_tokens_purge_expired
    from .retention import retention_apply

    retention_apply()
    api_tokens_purge_expired()
