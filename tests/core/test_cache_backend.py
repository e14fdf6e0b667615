"""The Redis cache backend of production (backend/core/cache.py), against the real Redis: the
same answers as Django's, one client per connection pool shared by threads."""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from backend.core.cache import RedisCache

REDIS = os.environ.get("MINOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def backend():
    cache = RedisCache(REDIS, {"KEY_PREFIX": f"t-{uuid.uuid4().hex}"})
    try:
        cache.get("probe")
    except Exception as exc:  # any connection failure: no Redis here
        if os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):  # CI: Redis is there
            raise
        pytest.skip(f"no Redis at {REDIS}: {exc}")
    yield cache
    cache.delete_many(["a", "b", "gen"])


def test_it_answers_as_django_s_backend(backend):
    reference = DjangoRedisCache(REDIS, {"KEY_PREFIX": backend.key_prefix})
    backend.set("a", {"menus": [1, 2]}, 30)
    assert reference.get("a") == {"menus": [1, 2]}
    reference.set("b", 7, 30)
    assert backend.get("b") == 7
    assert backend.get_or_set("gen", lambda: 41, None) == 41
    assert backend.incr("gen") == 42
    assert reference.get("gen") == 42
    assert backend.add("gen", 0) is False
    backend.delete("a")
    assert reference.get("a") is None


def test_one_client_per_pool_shared_by_threads(backend):
    clients = set()

    def work(n: int) -> None:
        for i in range(50):
            backend.set("a", n * 100 + i, 30)
            assert backend.get("a") is not None
        clients.add(id(backend._cache.get_client(write=True)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clients) == 1
    assert backend._cache.get_client() is backend._cache.get_client()
