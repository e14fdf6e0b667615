"""The cache for the agent hot path (node keys, rate-limit counters, config).

``CACHES["fleet"]`` when configured; else the default cache when it is shared (Redis, Memcached);
else a process-local cache sized for a fleet. (Django's default locmem cache keeps only 300
entries, so with a few hundred devices node keys were culled constantly and every request hit the
database; it also pickles every value.) The process-local cache stores values as they are — only
immutable values (tuples, strings, numbers) and dicts nobody mutates go in.
"""

from __future__ import annotations

import threading
import time
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache


class ProcessCache:
    """A minimal thread-safe TTL cache with the subset of Django's cache API used here."""

    def __init__(self, max_entries: int = 500_000):
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> tuple[float, Any] | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] < now:
            self._data.pop(key, None)
            return None
        return item

    def _room(self) -> None:
        if len(self._data) >= self.max_entries:
            now = time.monotonic()
            self._data = {k: v for k, v in self._data.items() if v[0] >= now}
            if len(self._data) >= self.max_entries:
                self._data.clear()

    def get(self, key: str, default: Any = None) -> Any:
        item = self._live(key, time.monotonic())
        return default if item is None else item[1]

    def set(self, key: str, value: Any, timeout: float = 300) -> None:
        with self._lock:
            self._room()
            self._data[key] = (time.monotonic() + timeout, value)

    def add(self, key: str, value: Any, timeout: float = 300) -> bool:
        with self._lock:
            if self._live(key, time.monotonic()) is not None:
                return False
            self._room()
            self._data[key] = (time.monotonic() + timeout, value)
            return True

    def incr(self, key: str, delta: int = 1) -> int:
        with self._lock:
            item = self._live(key, time.monotonic())
            if item is None:
                raise ValueError(f"Key '{key}' not found")
            value = item[1] + delta
            self._data[key] = (item[0], value)
            return value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@memoize
def _local() -> ProcessCache:
    return ProcessCache()


def fleet_cache() -> BaseCache | ProcessCache:
    if "fleet" in settings.CACHES:
        return caches["fleet"]
    default = caches["default"]
    if isinstance(default, LocMemCache):
        return _local()
    return default
