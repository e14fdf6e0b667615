"""The on-disk spool: oldest first, acknowledged batches only, bounded, survives reopening."""

from __future__ import annotations

from minot_agent.spool import Spool


def line(n, size=0):
    return {"name": "q", "counter": n, "pad": "x" * size}


def status(message):
    return {"message": message, "severity": 1}


def test_batches_are_oldest_first_and_deleted_only_when_acknowledged(tmp_path):
    spool = Spool(str(tmp_path / "s.db"))
    spool.put("result", [line(1), line(2)])
    spool.put("status", [status("hello")])
    spool.put("result", [line(3)])

    log_type, ids, lines = spool.peek(max_lines=10, max_bytes=10**6)
    assert log_type == "result"
    assert [x["counter"] for x in lines] == [1, 2, 3]

    # not acknowledged (send failed): the same batch comes back
    assert spool.peek(max_lines=10, max_bytes=10**6)[1] == ids
    spool.ack(ids)
    assert spool.peek(max_lines=10, max_bytes=10**6)[0] == "status"
    assert len(spool) == 1


def test_batch_limits(tmp_path):
    spool = Spool(str(tmp_path / "s.db"))
    spool.put("result", [line(n, size=100) for n in range(10)])

    assert len(spool.peek(max_lines=4, max_bytes=10**6)[1]) == 4
    assert len(spool.peek(max_lines=100, max_bytes=350)[1]) == 2
    # a single line larger than the byte limit still goes (alone)
    assert len(spool.peek(max_lines=100, max_bytes=10)[1]) == 1


def test_survives_reopening(tmp_path):
    path = str(tmp_path / "s.db")
    spool = Spool(path)
    spool.put("result", [line(1)])
    spool.set("node_key", "abc")
    assert spool.next_counter("q") == 0
    assert spool.next_counter("q") == 1
    spool.close()

    spool = Spool(path)
    assert [x["counter"] for x in spool.peek(max_lines=10, max_bytes=10**6)[2]] == [1]
    assert spool.get("node_key") == "abc"
    assert spool.next_counter("q") == 2


def test_full_spool_drops_oldest_and_says_so(tmp_path):
    spool = Spool(str(tmp_path / "s.db"), max_entries=10)
    for n in range(15):
        spool.put("result", [line(n)], status_line=status)

    assert len(spool) == 10
    _type, _ids, lines = spool.peek(max_lines=100, max_bytes=10**6)
    counters = [x["counter"] for x in lines]
    assert counters == sorted(counters)
    assert counters[-1] == 14
    _type, ids, _lines = spool.peek(max_lines=100, max_bytes=10**6)
    spool.ack(ids)
    log_type, _ids, statuses = spool.peek(max_lines=100, max_bytes=10**6)
    assert log_type == "status"
    assert statuses[-1]["message"].startswith("spool full: dropped")
    assert spool.dropped >= 5


def test_byte_bound(tmp_path):
    spool = Spool(str(tmp_path / "s.db"), max_entries=10**6, max_bytes=64 * 1024)
    for n in range(100):
        spool.put("result", [line(n, size=2000)], status_line=status)

    kept = []
    while True:
        _type, ids, lines = spool.peek(max_lines=1000, max_bytes=10**7)
        if not ids:
            break
        kept.extend(lines)
        spool.ack(ids)
    results = [x for x in kept if "pad" in x]
    assert sum(len(x["pad"]) for x in results) <= 64 * 1024
    assert results[-1]["counter"] == 99
    assert any(x.get("message", "").startswith("spool full") for x in kept)
