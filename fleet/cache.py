"""The cache for the agent hot path (node keys, rate-limit counters, config).

``CACHES["fleet"]`` when configured; else the default cache when it is shared (Redis, Memcached);
else a process-local LocMemCache sized for a fleet. (Django's default locmem cache keeps only 300
entries: with a few hundred devices, node keys would be culled constantly and every request would
hit the database.)
"""

from __future__ import annotations

from functools import cache as memoize

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache


@memoize
def _local() -> LocMemCache:
    return LocMemCache("minot-fleet", {"OPTIONS": {"MAX_ENTRIES": 500_000, "CULL_FREQUENCY": 10}})


def fleet_cache():
    if "fleet" in settings.CACHES:
        return caches["fleet"]
    default = caches["default"]
    if isinstance(default, LocMemCache):
        return _local()
    return default
