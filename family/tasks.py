"""Celery tasks: take ids, call one service. Delivered twice, they do no harm."""

from celery import shared_task


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def application_event_notify_task(event_id: int) -> None:
    from .services import application_event_notify

    application_event_notify(event_id=event_id)


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_email_task(invitation_id: int) -> None:
    from .services import invitation_email

    invitation_email(invitation_id=invitation_id)


@shared_task(ignore_result=True)
def invitations_expire_task() -> None:
    from .services.households import invitations_expire

    invitations_expire()


@shared_task(ignore_result=True)
def reenrolment_remind_task() -> None:
    """Daily: remind the families that have not answered the open campaign (once a day each)."""
    from .selectors import open_reenrolment_campaign
    from .services import reenrolment_remind

    campaign = open_reenrolment_campaign()
    if campaign is not None:
        reenrolment_remind(campaign=campaign)
