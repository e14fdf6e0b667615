"""Transactional outbox: a task to run after a write is stored in the write's own transaction and
published to the broker by ``manage.py outbox_relay``, which backs off while the broker is down.

A request therefore answers as soon as its transaction commits, whatever the broker's state, and
a task asked for by a committed change is never lost. Delivery is at least once: every task stays
idempotent, and ``MinotTask`` (backend/celery.py) skips a copy whose outbox row is already done.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import context
from .models import OutboxMessage

logger = logging.getLogger("minot.outbox")
TASK_ID_PREFIX = "outbox-"
BACKOFF_MAX_SECONDS = 300


def enqueue(task: Any, *args: Any, **kwargs: Any) -> OutboxMessage:
    """Record ``task(*args, **kwargs)`` to run once the current transaction commits.

    ``task`` is a Celery task or its name; arguments must be JSON values (ids, not objects).
    """
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(
        task=name, args=list(args), kwargs=kwargs, request_id=context.request_id.get()
    )
    from backend.celery import app

    if app.conf.task_always_eager:
        # Tests and the eager demo: run it right after commit, as .delay() did.
        transaction.on_commit(lambda: outbox_relay_once(ids=[message.pk]))
    return message


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def outbox_id_from_task_id(task_id: str | None) -> int | None:
    if task_id and task_id.startswith(TASK_ID_PREFIX):
        rest = task_id[len(TASK_ID_PREFIX) :]
        return int(rest) if rest.isdigit() else None
    return None


def _publish(message: OutboxMessage, producer: Any) -> None:
    from backend.celery import app

    app.tasks[message.task].apply_async(
        args=message.args,
        kwargs=message.kwargs,
        task_id=f"{TASK_ID_PREFIX}{message.pk}",
        headers={"request_id": message.request_id},
        producer=producer,
        retry=False,
    )


def outbox_relay_once(*, ids: list[int] | None = None, limit: int = 200) -> int:
    """Publish the due rows (oldest first); on the first broker error, back the rest off.

    Rows are locked with SKIP LOCKED, so several relays may run side by side.
    Returns the number of rows published.
    """
    from backend.celery import app

    now = timezone.now()
    due = OutboxMessage.objects.filter(published_at__isnull=True, next_attempt_at__lte=now)
    if ids is not None:
        due = due.filter(pk__in=ids)
    published = 0
    with transaction.atomic():
        rows = list(
            due.select_for_update(skip_locked=True).order_by("next_attempt_at", "id")[:limit]
        )
        if not rows:
            return 0
        error = ""
        try:
            if app.conf.task_always_eager:
                for row in rows:
                    # "Publishing" runs the task here: a savepoint keeps a failed run's writes out.
                    with transaction.atomic():
                        _publish(row, None)
                    row.published_at = timezone.now()
                    published += 1
            else:
                with app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, interval_start=0, timeout=5)
                    producer = app.amqp.Producer(conn, auto_declare=True)
                    for row in rows:
                        _publish(row, producer)
                        row.published_at = timezone.now()
                        published += 1
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:2000]
            logger.warning(
                "outbox: broker refused, %d row(s) wait", len(rows) - published, exc_info=True
            )
        for row in rows[published:]:
            row.attempts += 1
            row.last_error = error
            row.next_attempt_at = now + backoff(row.attempts)
        OutboxMessage.objects.bulk_update(
            rows, ["published_at", "attempts", "last_error", "next_attempt_at"]
        )
    return published


def outbox_mark_done(*, task_id: str | None) -> None:
    outbox_id = outbox_id_from_task_id(task_id)
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).update(
            done_at=timezone.now()
        )


def outbox_already_done(*, task_id: str | None) -> bool:
    outbox_id = outbox_id_from_task_id(task_id)
    return (
        outbox_id is not None
        and OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=False).exists()
    )


def outbox_purge(*, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Delete rows published and done long ago (the table stays small)."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxMessage.objects.filter(
        published_at__lt=cutoff, done_at__isnull=False
    ).delete()
    return deleted
