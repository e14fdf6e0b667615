"""The cache of what every family shares (canteen/shared.py): each process keeps what it read,
and still sees every write at once — its own, another process's, or a flushed shared cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from canteen import shared

pytestmark = pytest.mark.django_db


def _read(loads: list[int], value: int) -> int:
    def load() -> int:
        loads.append(value)
        return value

    return shared.cached("menus", ("school", 1), load)


def test_a_process_reads_its_own_copy_until_the_topic_changes():
    loads: list[int] = []
    assert _read(loads, 1) == 1
    generation = cache.get("canteen:gen:menus")
    cache.delete(f"canteen:menus:{generation}:school:1")  # not even asked to the shared cache
    assert _read(loads, 2) == 1
    assert loads == [1]
    shared.bump("menus")  # a write here (signals or an explicit bump)
    assert _read(loads, 3) == 3
    assert loads == [1, 3]


def test_a_write_by_another_process_is_seen_at_once():
    loads: list[int] = []
    _read(loads, 1)
    cache.incr("canteen:gen:menus")  # what another worker's bump does to the shared cache
    assert _read(loads, 2) == 2


def test_a_flushed_shared_cache_never_gives_back_an_old_entry():
    loads: list[int] = []
    _read(loads, 1)
    cache.clear()  # Redis restarted empty: the generation starts again, elsewhere
    assert _read(loads, 2) == 2
    assert loads == [1, 2]


def test_the_process_copy_is_bounded(monkeypatch):
    monkeypatch.setattr(shared, "LOCAL_ENTRIES", 3)
    for n in range(10):
        shared.cached("menus", ("bound", n), lambda n=n: n)
    assert len(shared._local) <= 3
