"""Optional log queue: with FLEET_LOG_QUEUE_URL (redis://…), the log endpoint validates a batch and
pushes it to a Redis list (one RPUSH) instead of writing to PostgreSQL; a drainer
(`manage.py fleet_log_worker` or the Celery beat task) ingests hundreds of batches per transaction.

Without it (the default, SQLite demo, tests), logs are ingested inline by the request.
A batch is only removed from the queue once its transaction committed: the drainer moves a chunk
to a processing list (LMOVE), ingests it, then deletes it; a crashed drainer's chunk is requeued.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from functools import cache
from typing import Any

from django.db import DatabaseError, transaction

from .. import conf
from ..protocol import ResultRow, StatusLine
from .inventory import relaxed_commit, results_ingest_many, status_bulk

logger = logging.getLogger(__name__)
QUEUE = "fleet:logs"
PROCESSING = "fleet:logs:processing"
LOCK = "fleet:logs:drain-lock"


def queue_enabled() -> bool:
    return bool(conf.get("FLEET_LOG_QUEUE_URL"))


@cache
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def client():
    return _client(conf.get("FLEET_LOG_QUEUE_URL"))


def log_enqueue(*, device_id: int, serial: str, log_type: str, lines: list) -> None:
    if log_type == "status":
        encoded = [
            [x.at.timestamp(), x.severity, x.filename, x.line, x.message, x.version] for x in lines
        ]
    else:
        encoded = [[x.name, x.action, x.rows, x.at.timestamp(), x.decorations] for x in lines]
    client().rpush(
        QUEUE,
        json.dumps(
            {"d": device_id, "s": serial, "t": log_type, "l": encoded}, separators=(",", ":")
        ),
    )


def _decode(item: bytes) -> tuple[int, str, str, list]:
    data = json.loads(item)
    when = lambda ts: dt.datetime.fromtimestamp(ts, tz=dt.UTC)  # noqa: E731
    lines: list[Any]
    if data["t"] == "status":
        lines = [StatusLine(when(a), s, f, n, m, v) for a, s, f, n, m, v in data["l"]]
    else:
        lines = [ResultRow(n, a, r, when(t), d) for n, a, r, t, d in data["l"]]
    return data["d"], data["s"], data["t"], lines


def log_queue_drain(*, max_items: int = 1000) -> int:
    """Ingest up to ``max_items`` queued batches in one transaction. Returns how many."""
    redis_client = client()
    if not redis_client.set(LOCK, "1", nx=True, ex=60):
        return 0
    try:
        # a previous drainer died mid-chunk: put its chunk back first
        while redis_client.lmove(PROCESSING, QUEUE, "RIGHT", "LEFT") is not None:
            pass
        chunk = []
        for _ in range(max_items):
            item = redis_client.lmove(QUEUE, PROCESSING, "LEFT", "RIGHT")
            if item is None:
                break
            chunk.append(item)
        if not chunk:
            return 0
        status_by_device: dict[int, list] = {}
        results: list[tuple[int, str, list]] = []
        for item in chunk:
            try:
                device_id, serial, log_type, lines = _decode(item)
            except (ValueError, KeyError, TypeError):
                logger.warning("fleet: dropping an undecodable queued log batch")
                continue
            if log_type == "status":
                status_by_device.setdefault(device_id, []).extend(lines)
            else:
                results.append((device_id, serial, lines))
        try:
            with transaction.atomic():
                relaxed_commit()
                from ..models import Device

                existing = set(
                    Device.objects.filter(
                        pk__in={*status_by_device, *(r[0] for r in results)}
                    ).values_list("pk", flat=True)
                )
                # device rows are locked in id order (like the last-seen flush): no deadlock cycle
                results.sort(key=lambda r: r[0])
                status_bulk(
                    [
                        (device_id, line)
                        for device_id, lines in status_by_device.items()
                        if device_id in existing
                        for line in lines
                    ]
                )
                results_ingest_many([r for r in results if r[0] in existing])
        except DatabaseError:
            logger.exception("fleet: log drain failed, batches requeued")
            while redis_client.lmove(PROCESSING, QUEUE, "RIGHT", "LEFT") is not None:
                pass
            raise
        redis_client.delete(PROCESSING)
        return len(chunk)
    finally:
        redis_client.delete(LOCK)


def log_queue_length() -> int:
    return int(client().llen(QUEUE)) if queue_enabled() else 0
