from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from backend.accounts.models import User
from backend.core.services import notification_send
from backend.core.text import render_text

from ..reports import weekly_report_frame, weekly_report_text


def weekly_report_send() -> int:
    """Email the weekly fleet report to every active technician (in-app message + email)."""
    text = weekly_report_text(weekly_report_frame())
    subject_key = gettext_noop("Rapport hebdomadaire du parc — semaine du %(d)s")
    params = {"d": timezone.localdate().isoformat()}
    count = 0
    for user in User.objects.filter(role="technician", is_active=True):
        notification_send(
            user=user,
            subject=render_text(subject_key, params),
            body=text,
            url=reverse("fleet:report"),
            category="general",
            subject_key=subject_key,
            params=params,
        )
        count += 1
    return count
