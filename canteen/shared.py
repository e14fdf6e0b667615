"""Cache of what every family shares: deadline rules, tariffs, school calendars, menus.

Each entry lives under ``canteen:<topic>:<generation>:<args>``; any write to a model of the
topic (``post_save``/``post_delete`` signals, plus explicit :func:`bump` after bulk writes that
bypass signals) increments the topic's generation, so the next read misses and reloads. The
generation is bumped at the write and again once the transaction commits.
Lifetime: :data:`LIFETIME` seconds, the bound on staleness when the cache is per-process
(locmem); with a shared cache (``CACHE_URL=rediscache://…``, production) invalidation is
immediate for every worker. See docs/performance.md, "What is cached".

Each process also keeps the values it read (:data:`LOCAL_ENTRIES` at most, same lifetime)
under the same key: a request then asks the shared cache only for the generation, not for the
value (unpickling a week of menus cost more than loading the rest of a calendar). The key holds
the generation, so a write still invalidates every process at once; a generation starts at a
random number, so a flushed or restarted shared cache never gives back an old key.
Values are shared between the threads of a process: callers only read them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
LIFETIME = 300
TOPICS = ("rules", "tariffs", "calendar", "menus")
LOCAL_ENTRIES = 512
_local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_local_lock = threading.Lock()


def _generation_key(topic: str) -> str:
    return f"canteen:gen:{topic}"


def bump(topic: str) -> None:
    """Invalidate every entry of ``topic``: now (reads later in this transaction see the
    write) and again once the transaction commits (a concurrent read that cached the old rows
    meanwhile is dropped)."""

    def _bump() -> None:
        key = _generation_key(topic)
        cache.add(key, _first_generation(), None)
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, None)

    _bump()
    transaction.on_commit(_bump)


def _first_generation() -> int:
    return secrets.randbits(48)


def cached(topic: str, args: tuple, load: Callable[[], T]) -> T:
    """``load()`` once per ``LIFETIME`` for ``args`` unless ``topic`` changed meanwhile."""
    generation = cache.get_or_set(_generation_key(topic), _first_generation, None)
    key = f"canteen:{topic}:{generation}:" + ":".join(str(a) for a in args)
    now = time.monotonic()
    with _local_lock:
        hit = _local.get(key)
        if hit is not None and hit[0] > now:
            _local.move_to_end(key)
            return hit[1]
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, LIFETIME)
    with _local_lock:
        _local[key] = (now + LIFETIME, value)
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)
    return value


def connect_signals() -> None:
    """Bump a topic whenever one of its models is written (called from the app's ready())."""
    from family.models import CalendarClosure, School, SchoolYear

    from .models import DeadlineRule, Dish, Menu, Service, Tariff, TariffLine, Unit

    watched = {
        DeadlineRule: ("rules",),
        Service: ("rules", "tariffs"),
        Unit: ("tariffs",),
        Tariff: ("tariffs",),
        TariffLine: ("tariffs",),
        CalendarClosure: ("calendar",),
        SchoolYear: ("calendar",),
        School: ("calendar",),
        Menu: ("menus",),
        Dish: ("menus",),
    }
    for model, topics in watched.items():

        def on_write(sender: Any, topics: tuple[str, ...] = topics, **kwargs: Any) -> None:
            for topic in topics:
                bump(topic)

        for signal in (post_save, post_delete):
            signal.connect(on_write, sender=model, weak=False, dispatch_uid=f"shared-{model}")
