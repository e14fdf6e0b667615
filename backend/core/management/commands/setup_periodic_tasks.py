"""Declare every periodic task in django-celery-beat's database scheduler (idempotent).

Each app lists its periodic tasks in ``<app>/schedule.py`` as ``PERIODIC_TASKS``: a list of
``{"name": str, "task": "dotted.task.name", "crontab": {...}}`` or ``"every_seconds": int``.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def periodic_task_definitions() -> list[dict]:
    definitions = []
    for path in settings.MINOT_SCHEDULES:
        definitions.extend(import_string(path))  # a wrong path in settings fails loudly
    return definitions


class Command(BaseCommand):
    help = "Create or update the periodic tasks of every app."

    @transaction.atomic
    def handle(self, *args, **options):
        names = []
        for definition in periodic_task_definitions():
            defaults = {
                "task": definition["task"],
                "enabled": True,
                "kwargs": json.dumps(definition.get("kwargs", {})),
            }
            if "crontab" in definition:
                crontab, _ = CrontabSchedule.objects.get_or_create(
                    timezone=settings.TIME_ZONE,
                    **{k: str(v) for k, v in definition["crontab"].items()},
                )
                defaults.update(crontab=crontab, interval=None)
            else:
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=definition["every_seconds"], period=IntervalSchedule.SECONDS
                )
                defaults.update(interval=interval, crontab=None)
            PeriodicTask.objects.update_or_create(name=definition["name"], defaults=defaults)
            names.append(definition["name"])
        self.stdout.write(f"{len(names)} periodic task(s) declared.")
