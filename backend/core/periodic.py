"""Catch up on periodic work missed while beat was down.

django-celery-beat alone does not do it reliably: at start it only considers crontab entries whose
hour is within two hours of now, so a daily 03:15 run missed by a beat that comes back at 10:00
waits for the next night. ``manage.py beat_catch_up`` (run just before beat starts) enqueues,
through the outbox, each enabled periodic task that missed at least one run since its
``last_run_at`` — once, however many runs it missed — and records the run so beat does not repeat
it. The periodic tasks are state-based ("everything due up to now"), so one run catches up.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger("minot.periodic")


def periodic_catch_up() -> list[str]:
    """Enqueue each periodic task that missed a run; returns their names."""
    from django_celery_beat.models import PeriodicTask

    from .outbox import enqueue

    caught_up = []
    now = timezone.now()
    with transaction.atomic():
        tasks = PeriodicTask.objects.select_for_update(of=("self",)).filter(
            enabled=True, last_run_at__isnull=False
        )
        for task in tasks.select_related("crontab", "interval"):
            if task.crontab is None and task.interval is None:
                continue
            if not task.schedule.is_due(task.last_run_at).is_due:
                continue
            enqueue(task.task, *json.loads(task.args or "[]"), **json.loads(task.kwargs or "{}"))
            task.last_run_at = now
            task.save(update_fields=["last_run_at"])
            caught_up.append(task.name)
    if caught_up:
        logger.info("beat catch-up: %s", ", ".join(caught_up))
    return caught_up
