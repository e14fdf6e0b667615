"""Optional log queue: with FLEET_LOG_QUEUE_URL (redis://…), the log endpoint validates a batch and
appends it to a Redis **stream** (one XADD) instead of writing to PostgreSQL; drainers
(`manage.py fleet_log_worker`, or the Celery beat task) ingest hundreds of batches per transaction.

Without it (the default, SQLite demo, tests), logs are ingested inline by the request.

Durability (docs/fleet.md, "Durable ingestion"):
- Redis streams with a consumer group. A drainer reads entries into its pending list (XREADGROUP),
  writes them to PostgreSQL in one transaction committed with ``synchronous_commit`` on (the
  default; nothing on this path turns it off), and only then acknowledges and deletes them
  (XACK + XDEL). A drainer that dies leaves its entries pending; the next drainer of that
  partition claims them (XAUTOCLAIM) before reading new ones. A PostgreSQL error leaves them
  pending too. So an entry leaves Redis only after PostgreSQL has it on disk.
- Surviving a Redis restart needs Redis persistence: ``appendonly yes`` (AOF). With
  ``appendfsync always`` an acknowledged batch survives a crash of the Redis host; with
  ``everysec`` (Redis' default) the last second may be lost on a host crash, never on a restart.
  The drainer logs a warning once when AOF is off.
- Partitioned by device: FLEET_LOG_QUEUE_PARTITIONS streams, device id modulo the count. One
  drainer at a time per partition (a lock with expiry), so a device's batches are applied in
  order; several drainer processes, on one machine or many, share the partitions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, transaction

from .. import conf
from ..protocol import ResultRow, StatusLine
from .bulk_sql import pks_existing
from .inventory import results_ingest_many, status_bulk

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)
STREAM = "fleet:logs:{}"
GROUP = "drainers"
LOCK = "fleet:logs:lock:{}"
LOCK_SECONDS = 60


def queue_enabled() -> bool:
    return bool(conf.get("FLEET_LOG_QUEUE_URL"))


def partitions() -> int:
    return max(1, int(conf.get("FLEET_LOG_QUEUE_PARTITIONS")))


@cache
def _client(url: str) -> redis.Redis:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5)


def client() -> redis.Redis:
    return _client(conf.get("FLEET_LOG_QUEUE_URL"))


def partition_of(device_id: int) -> int:
    return device_id % partitions()


def _encode(device_id: int, serial: str, log_type: str, lines: list) -> str:
    if log_type == "status":
        encoded = [
            [x.at.timestamp(), x.severity, x.filename, x.line, x.message, x.version] for x in lines
        ]
    else:
        encoded = [[x.name, x.action, x.rows, x.at.timestamp(), x.decorations] for x in lines]
    return json.dumps(
        {"d": device_id, "s": serial, "t": log_type, "l": encoded}, separators=(",", ":")
    )


def log_enqueue(*, device_id: int, serial: str, log_type: str, lines: list) -> None:
    """One XADD; the caller answers osqueryd only after it returned."""
    key = STREAM.format(partition_of(device_id))
    client().xadd(key, {"b": _encode(device_id, serial, log_type, lines)})


def _decode(item: bytes) -> tuple[int, str, str, list]:
    data = json.loads(item)
    when = lambda ts: dt.datetime.fromtimestamp(ts, tz=dt.UTC)  # noqa: E731
    lines: list[Any]
    if data["t"] == "status":
        lines = [StatusLine(when(a), s, f, n, m, v) for a, s, f, n, m, v in data["l"]]
    else:
        lines = [ResultRow(n, a, r, when(t), d) for n, a, r, t, d in data["l"]]
    return data["d"], data["s"], data["t"], lines


_checked_persistence: set[str] = set()


def _ensure_group(redis_client: redis.Redis, key: str) -> None:
    import redis

    try:
        redis_client.xgroup_create(key, GROUP, id="0", mkstream=True)
    except redis.exceptions.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _warn_without_aof(redis_client: redis.Redis) -> None:
    """Once per process and Redis: queued batches survive a Redis restart only with AOF."""
    import redis

    url = conf.get("FLEET_LOG_QUEUE_URL")
    if url in _checked_persistence:
        return
    _checked_persistence.add(url)
    try:
        if redis_client.config_get("appendonly").get("appendonly") != "yes":
            logger.warning(
                "fleet: Redis runs without AOF (appendonly no): queued log batches do not "
                "survive a Redis restart; see docs/fleet.md, Durable ingestion"
            )
    except redis.exceptions.RedisError:
        pass  # CONFIG may be disabled (managed Redis)


def _consumer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _ingest(entries: list[tuple[bytes, dict]]) -> None:
    status_by_device: dict[int, list] = {}
    results: list[tuple[int, str, list]] = []
    for _entry_id, fields in entries:
        try:
            device_id, serial, log_type, lines = _decode(fields[b"b"])
        except (ValueError, KeyError, TypeError):
            logger.warning("fleet: dropping an undecodable queued log batch")
            continue
        if log_type == "status":
            status_by_device.setdefault(device_id, []).extend(lines)
        else:
            results.append((device_id, serial, lines))
    # synchronous_commit stays on: the entries are deleted from Redis right after this commit
    with transaction.atomic():
        from ..models import Device

        existing = set(pks_existing(Device, {*status_by_device, *(r[0] for r in results)}))
        status_bulk(
            [
                (device_id, line)
                for device_id, lines in sorted(status_by_device.items())
                if device_id in existing
                for line in lines
            ]
        )
        # stable sort: a device's batches keep their stream order
        results.sort(key=lambda r: r[0])
        results_ingest_many([r for r in results if r[0] in existing])


def _claim_and_read(redis_client: redis.Redis, key: str, me: str, max_items: int) -> list:
    """Up to ``max_items`` entries: first the pending ones (XAUTOCLAIM: we hold the partition, so
    every pending entry belongs to a drainer that is gone, or to our own failed pass), then new
    ones (XREADGROUP), in stream order. Both commands go in one round trip; new entries read
    beyond ``max_items`` stay pending to us and are claimed first by the next pass."""
    import redis

    for _attempt in range(2):
        pipe = redis_client.pipeline(transaction=False)
        pipe.xautoclaim(key, GROUP, me, min_idle_time=0, start_id="0-0", count=max_items)
        pipe.xreadgroup(GROUP, me, {key: ">"}, count=max_items)
        claim_reply, fresh = pipe.execute(raise_on_error=False)
        errors = [r for r in (claim_reply, fresh) if isinstance(r, redis.exceptions.ResponseError)]
        if not errors:
            _next, claimed, *_rest = claim_reply
            entries = [(entry_id, fields) for entry_id, fields in claimed if fields]
            for _stream, items in fresh or []:
                entries.extend(items)
            return entries[:max_items]
        if "NOGROUP" not in str(errors[0]):
            raise errors[0]
        _ensure_group(redis_client, key)  # a new (or deleted and re-created) stream
    return []


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def _release(redis_client: redis.Redis, lock: str, me: str) -> None:
    """Delete the partition lock if it is still ours (compare and delete in one round trip)."""
    redis_client.eval(_RELEASE, 1, lock, me)


def _acknowledge(redis_client: redis.Redis, key: str, ids: list[bytes]) -> None:
    """After the commit only: the entries leave the pending list and the stream."""
    pipe = redis_client.pipeline(transaction=True)
    pipe.xack(key, GROUP, *ids)
    pipe.xdel(key, *ids)
    pipe.execute()


def log_queue_drain_partition(partition: int, *, max_items: int = 1000) -> int:
    """Ingest up to ``max_items`` entries of one partition in one transaction (0 when another
    drainer holds the partition). Pending entries of a dead drainer come first."""
    redis_client = client()
    key = STREAM.format(partition)
    lock = LOCK.format(partition)
    me = _consumer()
    if not redis_client.set(lock, me, nx=True, ex=LOCK_SECONDS):
        return 0
    try:
        _warn_without_aof(redis_client)
        entries = _claim_and_read(redis_client, key, me, max_items)
        if not entries:
            return 0
        try:
            _ingest(entries)
        except DatabaseError:
            logger.exception("fleet: log drain failed, entries stay pending")
            raise
        _acknowledge(redis_client, key, [entry_id for entry_id, _fields in entries])
        return len(entries)
    finally:
        _release(redis_client, lock, me)


def log_queue_drain(*, max_items: int = 1000, only: list[int] | None = None) -> int:
    """One pass over the partitions (``only``: a subset, e.g. one worker's share)."""
    total = 0
    for partition in only if only is not None else range(partitions()):
        total += log_queue_drain_partition(partition, max_items=max_items)
    return total


def log_queue_length() -> int:
    """Entries not yet ingested (new and pending), over every partition."""
    if not queue_enabled():
        return 0
    return sum(int(client().xlen(STREAM.format(p))) for p in range(partitions()))


def log_queue_clear() -> None:
    """Tests and benchmarks only."""
    keys = [STREAM.format(p) for p in range(partitions())] + [
        LOCK.format(p) for p in range(partitions())
    ]
    client().delete(*keys)
