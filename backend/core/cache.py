"""Django's Redis cache backend, with one Redis client per connection pool instead of one per
operation.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every ``get`` or
``set``; building it fills a table of ~170 response callbacks, which cost more CPU than the
command itself on a local Redis. A ``redis.Redis`` is safe to share between threads (each
command takes a connection from the pool), so each pool gets one, made on first use.
``CACHE_URL=rediscache://…`` selects this backend (backend/settings/base.py).
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        clients: dict[int, Any] = self.__dict__.setdefault("_clients_by_pool", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
