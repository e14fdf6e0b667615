"""The agent: enroll, fetch config, run the schedule, spool and send logs, answer live queries."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid as uuid_module
from typing import Any, Callable

from . import __version__
from .config import Settings
from .native import QueryError, platform_mask, platform_name
from .spool import Spool
from .transport import NodeInvalid, Transport, TransportError

logger = logging.getLogger("minot_agent.agent")

HOST_DETAIL_TABLES = ("os_version", "osquery_info", "system_info", "platform_info")
# Never sent: host names often carry a child's name (the server drops them too).
PERSONAL_COLUMNS = frozenset({"hostname", "computer_name", "local_hostname"})
# Placeholder hardware UUIDs (osquery/core/system.cpp, kPlaceholderHardwareUUIDList).
PLACEHOLDER_UUIDS = frozenset(
    {
        "00000000-0000-0000-0000-000000000000",
        "03000200-0400-0500-0006-000700080009",
        "03020100-0504-0706-0809-0a0b0c0d0e0f",
        "10000000-0000-8000-0040-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    }
)
MAX_LIVE_QUERIES = 20
MAX_LIVE_ROWS = 10000  # rows per answer
MAX_LIVE_BYTES = 4 * 1024 * 1024  # JSON bytes per answer, before gzip
MAX_WRITE_ATTEMPTS = 3  # a live-query answer is dropped (with a status line) after this many
PLATFORM_ALIASES = {
    "linux": {"linux", "posix", "all", "any", ""},
    "darwin": {"darwin", "posix", "all", "any", ""},
    "windows": {"windows", "all", "any", ""},
}

# What `minot-agent check` collects when no server config is at hand (same SQL as the server's
# default schedule, see docs/fleet.md).
DEFAULT_QUERIES = {
    "minot_system": "SELECT hardware_serial, uuid, hardware_vendor, hardware_model, cpu_brand,"
    " physical_memory FROM system_info",
    "minot_os": "SELECT name, version, major, minor, patch, build, platform FROM os_version",
    "minot_battery": "SELECT percent_remaining, cycle_count, designed_capacity, max_capacity,"
    " charging FROM battery",
    "minot_disk": "SELECT blocks * blocks_size AS total_bytes, blocks_available * blocks_size"
    " AS free_bytes FROM mounts WHERE path = '/'",
    "minot_apps": "SELECT name, version FROM deb_packages UNION ALL SELECT name, version FROM"
    " rpm_packages UNION ALL SELECT name, bundle_short_version AS version FROM apps UNION ALL"
    " SELECT name, version FROM programs",
    "minot_network": "SELECT d.interface, d.mac, a.address FROM interface_details d LEFT JOIN"
    " interface_addresses a ON a.interface = d.interface",
}


def _capped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """At most MAX_LIVE_ROWS rows and about MAX_LIVE_BYTES of JSON per answer."""
    kept, size = [], 0
    for row in rows[:MAX_LIVE_ROWS]:
        size += len(json.dumps(row, separators=(",", ":"))) + 1
        if size > MAX_LIVE_BYTES:
            break
        kept.append(row)
    return kept


def _calendar_time(now: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime(now))


def _scheduled_entry(spec: Any, pack_platform: str, here: set[str]) -> tuple[str, float] | None:
    """(sql, interval) of one query spec, or None when it is malformed or for another platform."""
    if not isinstance(spec, dict):
        return None
    sql, interval = spec.get("query"), spec.get("interval", 3600)
    if not isinstance(sql, str) or not sql.strip():
        return None
    try:
        interval = float(interval)
    except (TypeError, ValueError):
        return None
    if interval <= 0:
        return None
    wanted = str(spec.get("platform") or pack_platform or "").lower()
    if wanted and not ({p.strip() for p in wanted.split(",")} & here):
        return None
    return sql, interval


def _scheduled_specs(config: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(name, spec, pack platform) of every query in ``schedule`` and ``packs``, in order."""
    specs: list[tuple[str, Any, str]] = []
    schedule = config.get("schedule")
    if isinstance(schedule, dict):
        specs.extend((str(name), spec, "") for name, spec in schedule.items())
    packs = config.get("packs")
    if isinstance(packs, dict):
        for pack_name, pack in packs.items():
            if isinstance(pack, dict) and isinstance(pack.get("queries"), dict):
                pack_platform = str(pack.get("platform") or "")
                specs.extend(
                    (f"pack/{pack_name}/{name}", spec, pack_platform)
                    for name, spec in pack["queries"].items()
                )
    return specs


def parse_schedule(config: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """name -> (sql, interval) from ``schedule`` and ``packs``, for this platform."""
    here = PLATFORM_ALIASES.get(platform_name(), {"all", "any", "", "posix"})
    result: dict[str, tuple[str, float]] = {}
    for name, spec, pack_platform in _scheduled_specs(config):
        entry = _scheduled_entry(spec, pack_platform, here)
        if entry is not None:
            result[name] = entry
    return result


class Agent:
    def __init__(
        self,
        settings: Settings,
        *,
        backend: Any = None,
        transport: Transport | None = None,
        spool: Spool | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.state_dir = settings.resolved_state_dir()
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        self.spool = spool or Spool(
            os.path.join(self.state_dir, "agent.sqlite3"),
            max_entries=settings.spool_max_entries,
            max_bytes=settings.spool_max_bytes,
        )
        if backend is None:
            from .osquery_backend import make_backend

            backend = make_backend(
                settings.osquery, settings.osquery_socket, settings.osquery_binary
            )
        self.backend = backend
        self.transport = transport or Transport(
            settings.server,
            api_prefix=settings.api_prefix,
            ca_bundle=settings.ca_bundle,
            timeout=settings.request_timeout,
            insecure_http=settings.insecure_http,
        )
        self.rng = rng or random.Random()
        self.clock = clock
        self.stop_event = threading.Event()
        self.schedule: dict[str, tuple[str, float]] = {}
        self.decorators: dict[str, list[str]] = {}
        self.decorations: dict[str, str] = {}
        self.intervals = {
            "config": settings.config_refresh,
            "distributed": settings.distributed_interval,
            "flush": settings.logger_period,
        }
        self.batch_max_lines = settings.batch_max_lines
        self.next_due: dict[str, float] = {}
        self.failures: dict[str, int] = {}
        self.accelerate_until = 0.0
        self.pending_write: dict[str, Any] | None = None
        self.write_failures = 0
        self._identifier: str | None = None
        cached = self.spool.get("config")
        if cached:
            try:
                self.apply_config(json.loads(cached), source="cache")
            except ValueError:
                pass

    # -- identity and enrollment ---------------------------------------------------------
    def _first_row(self, sql: str) -> dict[str, str]:
        try:
            rows = self.backend.query(sql)
        except QueryError as exc:
            logger.warning("query failed", extra={"sql": sql, "error": str(exc)})
            return {}
        return rows[0] if rows else {}

    def host_identifier(self) -> str:
        if self._identifier:
            return self._identifier
        mode = self.settings.host_identifier
        value = ""
        if mode == "specified":
            value = self.settings.specified_identifier
        elif mode == "uuid":
            value = self._first_row("SELECT uuid FROM system_info").get("uuid", "").strip()
            if value.lower() in PLACEHOLDER_UUIDS:
                value = ""
        if not value:  # "instance", or no usable UUID: a random id kept in the state dir
            value = self.instance_id()
        self._identifier = value
        return value

    def instance_id(self) -> str:
        value = self.spool.get("instance_id") or ""
        if not value:
            value = str(uuid_module.uuid4())
            self.spool.set("instance_id", value)
        return value

    def host_details(self) -> dict[str, dict[str, str]]:
        details = {}
        for table in HOST_DETAIL_TABLES:
            row = self._first_row(f"SELECT * FROM {table}")
            row = {k: v for k, v in row.items() if k not in PERSONAL_COLUMNS}
            if row:
                details[table] = row
        # lets the server tell this installation from a clone with the same hardware ids
        info = details.setdefault("osquery_info", {})
        if not info.get("instance_id"):
            info["instance_id"] = self.instance_id()
        return details

    @property
    def node_key(self) -> str | None:
        return self.spool.get("node_key")

    def enroll(self) -> str:
        body = {
            "enroll_secret": self.settings.enroll_secret_value(),
            "host_identifier": self.host_identifier(),
            "platform_type": platform_mask(),
            "host_details": self.host_details(),
        }
        answer = self.transport.post("/enroll", body)
        key = answer.get("node_key") or answer.get("id")
        if not isinstance(key, str) or not key:
            raise TransportError("/enroll: no node_key in the answer")
        self.spool.set("node_key", key)
        logger.info("enrolled", extra={"host_identifier": body["host_identifier"]})
        return key

    def call(self, endpoint: str, body: dict[str, Any], *, compress: bool = False) -> dict:
        """POST with the node key; on ``node_invalid`` drop the key, re-enroll, retry once."""
        key = self.node_key or self.enroll()
        try:
            return self.transport.post(
                endpoint, {**body, "node_key": key}, node_key=key, compress=compress
            )
        except NodeInvalid:
            logger.warning("node key refused, re-enrolling", extra={"endpoint": endpoint})
            self.spool.set("node_key", None)
            key = self.enroll()
            return self.transport.post(
                endpoint, {**body, "node_key": key}, node_key=key, compress=compress
            )

    # -- config ----------------------------------------------------------------------------
    def fetch_config(self) -> None:
        answer = self.call("/config", {})
        self.apply_config(answer, source="server")
        self.spool.set("config", json.dumps(answer, separators=(",", ":")))

    def apply_config(self, config: dict[str, Any], *, source: str) -> None:
        self.schedule = parse_schedule(config)
        options = config.get("options") if isinstance(config.get("options"), dict) else {}
        for option, task in (
            ("distributed_interval", "distributed"),
            ("logger_tls_period", "flush"),
            ("config_refresh", "config"),
            ("config_tls_refresh", "config"),
        ):
            value = options.get(option)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                self.intervals[task] = float(value)
        lines = options.get("logger_tls_max_lines")
        if isinstance(lines, int) and not isinstance(lines, bool) and lines > 0:
            self.batch_max_lines = min(lines, self.settings.batch_max_lines)
        decorators = config.get("decorators") if isinstance(config.get("decorators"), dict) else {}
        self.decorators = {
            kind: [q for q in decorators.get(kind, []) if isinstance(q, str)]
            for kind in ("load", "always")
            if isinstance(decorators.get(kind), list)
        }
        self.decorations = {}
        self._refresh_decorations(("load", "always"))
        logger.info(
            "config applied",
            extra={"source": source, "queries": sorted(self.schedule), "intervals": self.intervals},
        )

    def _refresh_decorations(self, kinds) -> None:
        for kind in kinds:
            for sql in self.decorators.get(kind, []):
                for column, value in self._first_row(sql).items():
                    if column not in PERSONAL_COLUMNS:
                        self.decorations[column] = value

    # -- logs ------------------------------------------------------------------------------
    def status_line(self, message: str, severity: int = 0) -> dict[str, Any]:
        now = self.clock()
        line = {
            "hostIdentifier": self.host_identifier(),
            "calendarTime": _calendar_time(now),
            "unixTime": int(now),
            "severity": severity,
            "filename": "minot_agent",
            "line": 0,
            "message": message,
            "version": __version__,
        }
        if self.decorations:
            line["decorations"] = dict(self.decorations)
        return line

    def status(self, message: str, severity: int = 0) -> None:
        log = logger.warning if severity else logger.info
        log("status log", extra={"status_message": message, "severity": severity})
        self.spool.put(
            "status", [self.status_line(message, severity)], status_line=self.status_line
        )

    def _drain_collector_errors(self) -> None:
        errors = getattr(self.backend, "collector_errors", None)
        while errors:
            self.status(errors.pop(0), severity=1)

    def run_query(self, name: str, sql: str) -> bool:
        """Run one scheduled query and spool its snapshot result line. Never raises."""
        try:
            rows = self.backend.query(sql)
        except QueryError as exc:
            self.status(f"query {name} failed: {exc}", severity=1)
            self._drain_collector_errors()
            return False
        except Exception as exc:
            logger.exception("collector crashed", extra={"query": name})
            self.status(f"query {name} crashed: {type(exc).__name__}: {exc}", severity=2)
            return False
        self._drain_collector_errors()
        now = self.clock()
        self._refresh_decorations(("always",))
        counter = self.spool.next_counter(name)
        line = {
            "name": name,
            "action": "snapshot",
            "snapshot": rows,
            "hostIdentifier": self.host_identifier(),
            "calendarTime": _calendar_time(now),
            "unixTime": int(now),
            "epoch": 0,
            "counter": counter,
            "numerics": False,
        }
        if self.decorations:
            line["decorations"] = dict(self.decorations)
        self.spool.put("result", [line], status_line=self.status_line)
        self.spool.set(f"last_run:{name}", str(now))
        logger.debug(
            "result spooled",
            extra={"query": name, "counter": counter, "unix_time": int(now), "rows": len(rows)},
        )
        return True

    def flush(self) -> int:
        """Send spooled lines oldest first; each batch is deleted once acknowledged."""
        sent = 0
        while not self.stop_event.is_set():
            log_type, ids, lines = self.spool.peek(
                max_lines=self.batch_max_lines, max_bytes=self.settings.batch_max_bytes
            )
            if not ids:
                break
            self.call("/log", {"log_type": log_type, "data": lines}, compress=True)
            self.spool.ack(ids)
            sent += len(ids)
        if sent:
            logger.info("logs sent", extra={"lines": sent, "spooled": len(self.spool)})
        return sent

    # -- distributed -----------------------------------------------------------------------
    def _send_write(self) -> None:
        """Send the pending answer (gzipped). After MAX_WRITE_ATTEMPTS failures it is dropped
        with a status line, so that one answer the server cannot take never blocks the next
        live queries (osqueryd's own behaviour would be to re-send it forever)."""
        assert self.pending_write is not None
        try:
            self.call("/distributed/write", self.pending_write, compress=True)
        except TransportError as exc:
            self.write_failures += 1
            if self.write_failures >= MAX_WRITE_ATTEMPTS:
                ids = ", ".join(sorted(self.pending_write.get("queries", {})))
                self.pending_write, self.write_failures = None, 0
                self.status(
                    f"live query answer dropped after {MAX_WRITE_ATTEMPTS} failed sends"
                    f" ({ids}): {exc}",
                    severity=1,
                )
            raise
        self.pending_write, self.write_failures = None, 0

    def distributed(self) -> int:
        if self.pending_write is not None:
            self._send_write()
        answer = self.call("/distributed/read", {})
        accelerate = answer.get("accelerate")
        if isinstance(accelerate, int) and not isinstance(accelerate, bool) and accelerate > 0:
            self.accelerate_until = time.monotonic() + min(accelerate, 3600)
        queries = answer.get("queries")
        if not isinstance(queries, dict) or not queries:
            return 0
        discovery = answer.get("discovery") if isinstance(answer.get("discovery"), dict) else {}
        results: dict[str, Any] = {}
        statuses: dict[str, int] = {}
        messages: dict[str, str] = {}
        stats: dict[str, Any] = {}
        for query_id, sql in list(queries.items())[:MAX_LIVE_QUERIES]:
            query_id = str(query_id)
            check = discovery.get(query_id)
            if isinstance(check, str) and check.strip():
                try:
                    if not self.backend.query(check):
                        continue
                except QueryError:
                    continue
            started = time.monotonic()
            cpu = time.process_time()
            try:
                if not isinstance(sql, str):
                    raise QueryError("query is not a string")
                rows = _capped(self.backend.query(sql))
                statuses[query_id], messages[query_id] = 0, ""
            except QueryError as exc:
                rows = []
                statuses[query_id], messages[query_id] = 1, str(exc)
            except Exception as exc:  # noqa: BLE001
                rows = []
                statuses[query_id], messages[query_id] = 1, f"{type(exc).__name__}: {exc}"
            results[query_id] = rows
            stats[query_id] = {
                "wall_time_ms": int((time.monotonic() - started) * 1000),
                "user_time": int((time.process_time() - cpu) * 1000),
                "system_time": 0,
                "memory": 0,
            }
        self._drain_collector_errors()
        if not results:
            return 0
        self.pending_write = {
            "queries": results,
            "statuses": statuses,
            "messages": messages,
            "stats": stats,
        }
        self._send_write()
        logger.info("live queries answered", extra={"ids": sorted(results)})
        return len(results)

    # -- loops -----------------------------------------------------------------------------
    def _jittered(self, seconds: float) -> float:
        seconds = max(self.settings.min_interval, seconds)
        return seconds * (1 + self.rng.uniform(-self.settings.jitter, self.settings.jitter))

    def _backoff(self, failures: int) -> float:
        base = max(self.settings.min_interval, 1.0)
        delay = min(self.settings.backoff_max, base * (2 ** min(failures - 1, 16)))
        return delay * (1 + self.rng.uniform(0, self.settings.jitter))

    def _interval(self, task: str) -> float:
        if task == "distributed" and time.monotonic() < self.accelerate_until:
            return 5.0
        return self.intervals[task]

    def run_once(self) -> bool:
        """One cycle: enroll if needed, config, every scheduled query, send logs, live queries."""
        ok = True
        try:
            self.fetch_config()
        except TransportError as exc:
            ok = False
            logger.error("config failed", extra={"error": str(exc)})
            self.status(f"config fetch failed: {exc}", severity=1)
        for name, (sql, _interval) in sorted(self.schedule.items()):
            self.run_query(name, sql)
        for step in (self.flush, self.distributed, self.flush):
            try:
                step()
            except TransportError as exc:
                ok = False
                logger.error("step failed", extra={"step": step.__name__, "error": str(exc)})
        if not self.schedule:
            ok = False
            logger.error("no schedule: the server sent no queries and none is cached")
        return ok

    def _due_queries(self, now_wall: float, now: float) -> None:
        for name, (_sql, interval) in self.schedule.items():
            key = f"query:{name}"
            if key in self.next_due:
                continue
            last = self.spool.get(f"last_run:{name}")
            wait = 0.0
            if last is not None:
                try:
                    wait = max(0.0, float(last) + interval - now_wall)
                except ValueError:
                    wait = 0.0
            # splay the first run so a cart of tablets does not report in the same second
            splay = self.rng.uniform(0, min(interval, 60.0) * self.settings.jitter)
            self.next_due[key] = now + wait + splay
        for key in [k for k in self.next_due if k.startswith("query:")]:
            if key[len("query:") :] not in self.schedule:
                del self.next_due[key]

    def run_forever(self) -> None:
        logger.info("agent started", extra={"backend": getattr(self.backend, "name", "?")})
        self.status(f"minot-agent {__version__} started ({getattr(self.backend, 'name', '?')})")
        now = time.monotonic()
        for task in ("config", "flush", "distributed"):
            self.next_due.setdefault(task, now)
        while not self.stop_event.is_set():
            now = time.monotonic()
            self._due_queries(self.clock(), now)
            due = sorted((when, task) for task, when in self.next_due.items() if when <= now)
            ran_queries = False
            for _when, task in sorted(due, key=lambda item: (item[1] != "config", item[0])):
                if self.stop_event.is_set():
                    break
                self._run_task(task)
                ran_queries = ran_queries or task.startswith("query:")
            if ran_queries and not self.failures.get("flush"):
                self.next_due["flush"] = min(
                    self.next_due.get("flush", now), time.monotonic() + self.rng.uniform(0, 1)
                )
            wait = min(self.next_due.values()) - time.monotonic()
            self.stop_event.wait(max(0.05, min(wait, 60.0)))
        logger.info("agent stopped", extra={"spooled": len(self.spool)})

    def _run_task(self, task: str) -> None:
        try:
            if task.startswith("query:"):
                name = task[len("query:") :]
                sql, interval = self.schedule[name]
                self.run_query(name, sql)
                self.next_due[task] = time.monotonic() + self._jittered(interval)
                return
            if task == "config":
                self.fetch_config()
            elif task == "flush":
                self.flush()
            elif task == "distributed":
                self.distributed()
            # Each task keeps its own back-off: the config answering says nothing about whether
            # the log or live-query endpoint accepts what this task sends.
            self.failures[task] = 0
            self.next_due[task] = time.monotonic() + self._jittered(self._interval(task))
        except TransportError as exc:
            failures = self.failures.get(task, 0) + 1
            self.failures[task] = failures
            delay = self._backoff(failures)
            if task == "config" and not self.schedule:
                delay = min(delay, max(self.settings.min_interval, 1.0) * 4)
            self.next_due[task] = time.monotonic() + delay
            logger.warning(
                "request failed, will retry",
                extra={
                    "task": task,
                    "error": str(exc),
                    "retry_in": round(delay, 1),
                    "spooled": len(self.spool),
                },
            )
        except Exception as exc:
            failures = self.failures.get(task, 0) + 1
            self.failures[task] = failures
            self.next_due[task] = time.monotonic() + self._backoff(failures)
            logger.exception("task crashed", extra={"task": task})
            try:
                self.status(f"{task} crashed: {type(exc).__name__}: {exc}", severity=2)
            except Exception:  # noqa: BLE001
                pass

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        try:
            self.backend.close()
        finally:
            self.spool.close()
