"""Hot path helpers for the agent endpoints: cached node-key lookup, batched last-seen, rate limits.

The cache is fleet.cache.fleet_cache(): a large process-local LocMemCache by default, or the shared
default cache (Redis via CACHE_URL) or CACHES["fleet"] when configured.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.db import DatabaseError, transaction
from django.utils import timezone

from .. import conf
from ..cache import fleet_cache
from ..models import Device, DeviceStatus
from ..protocol import key_hash

_MISS = "-"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Node:
    device_id: int
    school_id: int | None
    serial: str
    online: bool = False  # as stored when the key was looked up


def _cache_key(hashed: str) -> str:
    return f"fleet:nk:{hashed}"


def node_lookup(node_key: str) -> Node | None:
    """The enrolled, non-revoked device holding ``node_key``; cached (positive and negative)."""
    hashed = key_hash(node_key)
    cached = fleet_cache().get(_cache_key(hashed))
    if cached == _MISS:
        return None
    if cached is not None:
        return Node(*cached)
    row = (
        Device.objects.filter(node_key_hash=hashed, revoked_at__isnull=True)
        .values_list("id", "school_id", "serial", "status")
        .first()
    )
    if row is None:
        fleet_cache().set(_cache_key(hashed), _MISS, conf.get("FLEET_NODE_NEGATIVE_CACHE_SECONDS"))
        return None
    node = (row[0], row[1], row[2], row[3] == DeviceStatus.ONLINE)
    fleet_cache().set(_cache_key(hashed), node, conf.get("FLEET_NODE_CACHE_SECONDS"))
    return Node(*node)


def node_forget(hashed: str | None) -> None:
    if hashed:
        fleet_cache().delete(_cache_key(hashed))


# --- last seen, batched -------------------------------------------------------------------------

_seen: dict[int, float] = {}
_seen_lock = threading.Lock()
_last_flush = [time.monotonic()]


_written: set[int] = set()  # devices this process has already marked online


def node_seen(node: Node | int) -> None:
    """Remember a check-in; buffered check-ins are written at most every
    FLEET_LAST_SEEN_FLUSH_SECONDS. A device that was not online when its key was looked up is
    written at once (it shows online immediately); the others wait for the batch."""
    device_id = node if isinstance(node, int) else node.device_id
    immediate = not isinstance(node, int) and not node.online and device_id not in _written
    now = time.time()
    with _seen_lock:
        _seen[device_id] = now
        due = immediate or time.monotonic() - _last_flush[0] >= conf.get(
            "FLEET_LAST_SEEN_FLUSH_SECONDS"
        )
    if due:
        last_seen_flush()


def last_seen_flush() -> int:
    """Write buffered check-ins in one UPDATE. Rows are locked in id order so that concurrent
    flushes from several workers cannot deadlock; a failed flush puts the check-ins back."""
    with _seen_lock:
        batch = dict(_seen)
        _seen.clear()
        _last_flush[0] = time.monotonic()
    if not batch:
        return 0
    try:
        with transaction.atomic():
            from .inventory import relaxed_commit

            relaxed_commit()
            ids = list(
                Device.objects.filter(pk__in=batch)
                .order_by("pk")
                .select_for_update(no_key=True)
                .values_list("pk", flat=True)
            )
            changed = set(
                Device.objects.filter(pk__in=ids)
                .exclude(status=DeviceStatus.ONLINE)
                .values_list("pk", flat=True)
            )
            now = timezone.now()
            devices = [
                Device(
                    pk=pk,
                    last_seen_at=dt.datetime.fromtimestamp(batch[pk], tz=dt.UTC),
                    status=DeviceStatus.ONLINE,
                    status_expected=False,
                    status_changed_at=now,
                )
                for pk in ids
            ]
            Device.objects.bulk_update(
                [d for d in devices if d.pk not in changed], ["last_seen_at", "status_expected"]
            )
            Device.objects.bulk_update(
                [d for d in devices if d.pk in changed],
                ["last_seen_at", "status", "status_expected", "status_changed_at"],
            )
        with _seen_lock:
            if len(_written) > 500_000:
                _written.clear()
            _written.update(ids)
    except DatabaseError:
        logger.warning("fleet: last-seen flush failed, will retry", exc_info=True)
        with _seen_lock:
            for pk, ts in batch.items():
                _seen[pk] = max(ts, _seen.get(pk, 0.0))
        return 0
    return len(devices)


# --- client address -----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(meta) -> str:
    """The device's address: REMOTE_ADDR, or, when the request came through a proxy listed in
    FLEET_TRUSTED_PROXIES, the last X-Forwarded-For hop that is not one of those proxies (the
    hops before it could be forged by the client)."""
    remote = meta.get("REMOTE_ADDR", "") or "-"
    trusted = conf.get("FLEET_TRUSTED_PROXIES")
    if isinstance(trusted, str):
        trusted = trusted.split(",")
    networks = _networks(tuple(trusted or ()))
    if not networks or not _trusted(remote, networks):
        return remote
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return remote


# --- rate limits --------------------------------------------------------------------------------


def rate_limited(scope: str, ident: str, per_minute: int) -> bool:
    """Fixed one-minute window counter in the cache. True when the limit is exceeded."""
    if per_minute <= 0:
        return False
    window = int(time.time() // 60)
    key = f"fleet:rl:{scope}:{ident}:{window}"
    if fleet_cache().add(key, 1, 70):
        return False
    try:
        count = fleet_cache().incr(key)
    except ValueError:
        fleet_cache().set(key, 1, 70)
        return False
    return count > per_minute
