"""Queries through osquery: osquery-python's ExtensionClient on osqueryd's extension socket,
or an osqueryd spawned for the purpose when only the binary is installed."""

from __future__ import annotations

import logging
import os
import sys

from .native import NativeBackend, QueryError, Row, tables_in

logger = logging.getLogger("minot_agent.osquery")


def default_socket() -> str:
    if sys.platform == "win32":
        return r"\\.\pipe\osquery.em"
    return "/var/osquery/osquery.em"


class OsqueryBackend:
    """One connection to an osquery extension manager. Reconnects once per query on failure."""

    name = "osquery"

    def __init__(self, socket_path: str, *, timeout: float = 1.0, spawn=None):
        self.socket_path = socket_path
        self.timeout = timeout
        self._spawn = spawn
        self._client = None
        self._manager = None

    def open(self) -> bool:
        from osquery import ExtensionClient

        client = ExtensionClient(path=self.socket_path)
        if not client.open(timeout=self.timeout, interval=0.05):
            return False
        self._client = client
        self._manager = client.extension_manager_client()
        return True

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass
        self._client = None
        self._manager = None
        if self._spawn is not None and getattr(self._spawn, "instance", None) is not None:
            try:
                self._spawn.instance.kill()
                self._spawn.instance.wait(5)
            except Exception:  # noqa: BLE001
                pass

    def query(self, sql: str) -> list[Row]:
        from thrift.Thrift import TException

        for attempt in (1, 2):
            if self._manager is None and not self.open():
                raise QueryError(f"osquery extension socket {self.socket_path} is not reachable")
            try:
                response = self._manager.query(sql)
            except (TException, OSError, EOFError) as exc:
                logger.warning("osquery connection lost, reconnecting", extra={"error": str(exc)})
                self._client = self._manager = None
                if attempt == 2:
                    raise QueryError(f"osquery connection failed: {exc}")
                continue
            status = response.status
            if status is not None and status.code != 0:
                raise QueryError(status.message or f"osquery status {status.code}")
            return [
                {str(k): "" if v is None else str(v) for k, v in row.items()}
                for row in (response.response or [])
            ]
        raise QueryError("unreachable")  # pragma: no cover


class CombinedBackend:
    """osquery first; native collectors for tables osquery lacks (e.g. ``battery`` on Linux)."""

    def __init__(self, primary: OsqueryBackend, fallback: NativeBackend):
        self.primary = primary
        self.fallback = fallback
        self.name = "osquery"

    @property
    def collector_errors(self) -> list[str]:
        return self.fallback.collector_errors

    def query(self, sql: str) -> list[Row]:
        try:
            return self.primary.query(sql)
        except QueryError as exc:
            message = str(exc)
            missing_table = "no such table" in message
            unreachable = "not reachable" in message or "connection failed" in message
            if (missing_table or unreachable) and tables_in(sql):
                logger.info("native fallback", extra={"reason": message, "tables": tables_in(sql)})
                return self.fallback.query(sql)
            raise

    def close(self) -> None:
        self.primary.close()


def make_backend(mode: str = "auto", socket_path: str = "", binary: str = "", providers=None):
    """Choose how to collect: ``never`` → native only; ``auto`` → osqueryd's socket if it
    answers, else a spawned osqueryd if the binary exists, else native; ``always`` → fail
    if osquery is not usable."""
    native = NativeBackend(providers)
    if mode == "never":
        return native
    path = socket_path or default_socket()
    if os.path.exists(path) or sys.platform == "win32":
        backend = OsqueryBackend(path)
        if backend.open():
            return CombinedBackend(backend, native)
    spawned = _spawn(binary)
    if spawned is not None:
        return CombinedBackend(spawned, native)
    if mode == "always":
        raise QueryError(f"osquery is not available (socket {path}, binary {binary or 'default'})")
    return native


def _spawn(binary: str) -> OsqueryBackend | None:
    try:
        from osquery import SpawnInstance
    except ImportError:  # pragma: no cover
        return None
    instance = SpawnInstance(binary or None)
    if not os.path.exists(instance.path):
        return None
    try:
        instance.open()
    except Exception as exc:  # noqa: BLE001 - fall back to native collectors
        logger.warning("could not spawn osqueryd", extra={"error": str(exc)})
        return None
    backend = OsqueryBackend(instance._socket[1], spawn=instance)
    backend._client = instance.connection
    backend._manager = instance.client
    return backend
