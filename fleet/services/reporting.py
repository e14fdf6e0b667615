from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from backend.accounts.models import User
from backend.core.services import notification_send

from ..reports import weekly_report_frame, weekly_report_message


def weekly_report_send() -> int:
    """Email the weekly fleet report to every active technician (in-app message + email)."""
    body_key, params = weekly_report_message(weekly_report_frame())
    subject_key = gettext_noop("Rapport hebdomadaire du parc — semaine du %(d)s")
    params["d"] = timezone.localdate().isoformat()
    subject = _(subject_key) % params
    count = 0
    for user in User.objects.filter(role="technician", is_active=True):
        notification_send(
            user=user,
            subject=subject,
            url=reverse("fleet:report"),
            subject_key=subject_key,
            body_key=body_key,
            params=params,
        )
        count += 1
    return count
