"""A bounded, crash-safe on-disk queue of log lines (SQLite, WAL, synchronous=FULL).

Lines are written before any attempt to send them, sent oldest first in batches, and deleted
only after the server acknowledged the batch. When the queue is full the oldest lines are
dropped and a status line says how many. The same database keeps the agent's small state
(node key, per-query counters) so they change atomically with the queue.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    log_type TEXT NOT NULL,
    line TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class Spool:
    def __init__(self, path: str, *, max_entries: int = 10000, max_bytes: int = 20 * 1024 * 1024):
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.path = path
        self.max_entries = max(10, max_entries)
        self.max_bytes = max(64 * 1024, max_bytes)
        self._lock = threading.RLock()  # re-entrant: put() may build a status line
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            os.chmod(path, 0o600)
        except OSError:
            pass
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self.dropped = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- state -----------------------------------------------------------------------------
    def get(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._db.execute("DELETE FROM state WHERE key = ?", (key,))
            else:
                self._db.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def next_counter(self, name: str) -> int:
        """Per-query execution counter, persisted (unique across restarts)."""
        key = f"counter:{name}"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
                value = int(row[0]) + 1 if row else 0
                self._db.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, str(value)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return value

    # -- queue -----------------------------------------------------------------------------
    def put(self, log_type: str, lines: list[dict[str, Any]], *, status_line=None) -> int:
        """Append lines (one transaction). Returns how many old lines were dropped to fit.

        ``status_line(message)`` builds the status line recorded when lines are dropped.
        """
        encoded = [json.dumps(line, separators=(",", ":"), ensure_ascii=False) for line in lines]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO spool (log_type, line, size) VALUES (?, ?, ?)",
                    [(log_type, text, len(text.encode("utf-8"))) for text in encoded],
                )
                dropped = self._trim()
                if dropped and status_line is not None:
                    text = json.dumps(
                        status_line(f"spool full: dropped {dropped} oldest log lines"),
                        separators=(",", ":"),
                    )
                    self._db.execute(
                        "INSERT INTO spool (log_type, line, size) VALUES ('status', ?, ?)",
                        (text, len(text)),
                    )
                    dropped += self._trim(keep_newest=1)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self.dropped += dropped
        return dropped

    def _trim(self, keep_newest: int = 0) -> int:
        count, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool"
        ).fetchone()
        dropped = 0
        if count > self.max_entries:
            excess = count - self.max_entries
            self._db.execute(
                "DELETE FROM spool WHERE id IN (SELECT id FROM spool ORDER BY id LIMIT ?)",
                (excess,),
            )
            dropped += excess
            count -= excess
        if size > self.max_bytes:
            rows = self._db.execute("SELECT id, size FROM spool ORDER BY id").fetchall()
            cut = None
            for index, (row_id, row_size) in enumerate(rows):
                if size <= self.max_bytes or len(rows) - index <= keep_newest:
                    break
                size -= row_size
                cut = row_id
                dropped += 1
            if cut is not None:
                self._db.execute("DELETE FROM spool WHERE id <= ?", (cut,))
        return dropped

    def peek(self, *, max_lines: int, max_bytes: int) -> tuple[str, list[int], list[dict]]:
        """The oldest batch: lines of the oldest line's log type, in order, within limits."""
        with self._lock:
            first = self._db.execute("SELECT log_type FROM spool ORDER BY id LIMIT 1").fetchone()
            if first is None:
                return "", [], []
            rows = self._db.execute(
                "SELECT id, line, size FROM spool WHERE log_type = ? ORDER BY id LIMIT ?",
                (first[0], max_lines),
            ).fetchall()
        ids, lines, total = [], [], 0
        for row_id, text, size in rows:
            if lines and total + size > max_bytes:
                break
            total += size
            ids.append(row_id)
            lines.append(json.loads(text))
        return first[0], ids, lines

    def ack(self, ids: list[int]) -> None:
        """Delete a batch the server acknowledged."""
        if not ids:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    marks = ",".join("?" for _ in chunk)
                    self._db.execute(f"DELETE FROM spool WHERE id IN ({marks})", chunk)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
