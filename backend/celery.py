"""The one Celery app. Tasks live in each app's tasks.py and are found by autodiscovery.

Every task runs through ``MinotTask``: it carries the request id of the web request that enqueued
it into the logs, skips a copy whose outbox row says it already ran (a redelivery after a worker
was killed, or a publish repeated by the relay), and marks the row done when it succeeds.
"""

import os
from typing import Any

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.local")


class MinotTask(Task):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from backend.core import context
        from backend.core.outbox import outbox_already_done, outbox_mark_done

        request = self.request
        task_id = request.id or ""
        request_id = getattr(request, "request_id", None) or (request.headers or {}).get(
            "request_id", ""
        )
        with context.bound(request=request_id, task=task_id):
            if outbox_already_done(task_id=task_id):
                return None
            result = super().__call__(*args, **kwargs)
            outbox_mark_done(task_id=task_id)
            return result


app = Celery("minot", task_cls=MinotTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
