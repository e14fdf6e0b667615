"""Inventory ingestion: osquery result rows → latest values on Device + history rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from .. import conf
from ..models import Alert, AlertKind, BatterySample, Device, InventoryReport, StatusLog
from ..protocol import ResultRow, StatusLine, usable_id
from .bulk_sql import pk_in, pks_existing, rows_insert, rows_update

CATEGORIES = {
    "minot_disk_posix": "disk",
    "minot_disk_windows": "disk",
    "minot_apps_darwin": "apps",
    "minot_apps_windows": "apps",
    "minot_apps_linux": "apps",
    "minot_system": "system",
    "minot_os": "os",
    "minot_battery": "battery",
    "minot_disk": "disk",
    "minot_apps": "apps",
    "minot_network": "network",
}
MAX_APPS = 5000


def _int(value: Any) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < 2**62 else None


def _s(value: Any, size: int) -> str:
    return ("" if value is None else str(value)).strip()[:size]


def system_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for source, target, size in (
        ("hardware_vendor", "hardware_vendor", 128),
        ("hardware_model", "hardware_model", 128),
        ("cpu_brand", "cpu_brand", 128),
    ):
        if row.get(source):
            fields[target] = _s(row[source], size)
    if row.get("physical_memory"):
        fields["memory_bytes"] = _int(row["physical_memory"])
    return fields


def os_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if row.get("name"):
        fields["os_name"] = _s(row["name"], 64)
    version = ".".join(
        p for p in (row.get("major"), row.get("minor"), row.get("patch")) if p not in (None, "")
    )
    if row.get("version") or version:
        fields["os_version"] = _s(version or row.get("version"), 64)
    if "build" in row:
        fields["os_build"] = _s(row.get("build"), 64)
    if row.get("platform"):
        fields["os_platform"] = _s(row["platform"], 32)
    if row.get("osquery_version"):
        fields["osquery_version"] = _s(row["osquery_version"], 32)
    return fields


def host_details_fields(details: dict[str, dict[str, str]]) -> dict[str, Any]:
    fields = system_fields(details.get("system_info", {}))
    fields.update(os_fields(details.get("os_version", {})))
    version = details.get("osquery_info", {}).get("version")
    if version:
        fields["osquery_version"] = _s(version, 32)
    return fields


def battery_fields(row: dict[str, str]) -> dict[str, Any]:
    design = _int(row.get("designed_capacity"))
    full = _int(row.get("max_capacity"))
    health = (
        round(100.0 * full / design, 1) if design and full and design > 0 and full >= 0 else None
    )
    percent = _int(row.get("percent_remaining"))
    charging = row.get("charging")
    return {
        "battery_percent": max(0, min(percent, 100)) if percent is not None else None,
        "battery_cycle_count": _int(row.get("cycle_count")),
        "battery_design_capacity": design,
        "battery_full_capacity": full,
        "battery_health_percent": min(health, 150.0) if health is not None else None,
        "battery_charging": None if charging in (None, "") else charging in ("1", "true", "True"),
    }


def _app(row: dict[str, str]) -> dict[str, str] | None:
    name = _s(row.get("name"), 200)
    return {"name": name, "version": _s(row.get("version"), 64)} if name else None


def _net(row: dict[str, str]) -> dict[str, str]:
    return {
        "interface": _s(row.get("interface"), 32),
        "mac": _s(row.get("mac"), 32),
        "address": _s(row.get("address"), 64),
    }


class Report(NamedTuple):
    """An InventoryReport row (fields in column order): tuples, not model instances, because
    the drainer writes thousands per chunk (fleet/services/bulk_sql.py)."""

    device_id: int
    kind: str
    collected_at: dt.datetime
    data: Any


class Sample(NamedTuple):
    """A BatterySample row."""

    device_id: int
    measured_at: dt.datetime
    percent: int | None
    cycle_count: int | None
    health_percent: float | None


@dataclass
class Plan:
    """What one log batch changes: computed first, applied with other batches in bulk."""

    device_id: int
    fields: dict[str, Any]
    reports: list[Report]
    samples: list[Sample]
    conflict: str
    dropped: int


def _snapshot_part(apps: set, pending: dict, at: float, keys: set) -> tuple[set, dict[str, Any]]:
    """Event-form snapshot rows (one log line per row) may arrive over several batches and
    nothing says which is the last. The rows of one run accumulate in ``pending`` and are only
    added to the list meanwhile; when a newer run starts, the previous run is known complete
    and becomes the list (so apps uninstalled since then disappear)."""
    seen = {tuple(x) for x in pending.get("apps", [])}
    if pending.get("at") == at:
        return apps | keys, {"at": at, "apps": sorted(seen | keys)}
    if pending.get("at") is not None and at < pending["at"]:
        return apps | keys, pending  # a late piece of an older run: add only
    complete = seen if pending.get("at") is not None else apps
    return complete | keys, {"at": at, "apps": sorted(keys)}


def _conflict(serial: str, results: list[ResultRow], known: list[ResultRow]) -> str:
    """The smallest usable serial reported (decorations, system rows) other than ``serial``."""
    if not serial:
        return ""
    reported = {
        r.decorations.get("serial_number", "").strip()
        for r in results
        if r.decorations.get("serial_number")
    }
    for r in known:
        if CATEGORIES[r.name] == "system":
            reported.update(row.get("hardware_serial", "").strip() for row in r.rows)
    reported.discard(serial)  # the usual case: nothing else, and no usable_id() lookups
    return min((s for s in reported if usable_id(s)), default="")


def _needs_current(results: list[ResultRow]) -> bool:
    return any(CATEGORIES.get(r.name) == "apps" for r in results)


SYSTEM_KEYS = ("hardware_vendor", "hardware_model", "cpu_brand", "physical_memory")
OS_KEYS = ("name", "version", "major", "minor", "patch", "build", "platform")
BATTERY_KEYS = ("percent_remaining", "cycle_count", "designed_capacity", "max_capacity", "charging")


@dataclass
class _Apps:
    """The installed apps of one device while its results are applied in order."""

    apps: set
    pending: dict
    apps_changed: bool = False
    pending_changed: bool = False

    @classmethod
    def of(cls, current: dict | None) -> _Apps:
        if not current:
            return cls(set(), {})
        apps = {(a.get("name"), a.get("version")) for a in current["apps"]}
        return cls(apps, dict(current.get("apps_pending") or {}))

    def apply(self, r: ResultRow) -> None:
        entries = [a for a in (_app(row) for row in r.rows) if a]
        keys = {(a["name"], a["version"]) for a in entries}
        if r.action == "snapshot_part":
            new, self.pending = _snapshot_part(self.apps, self.pending, r.at.timestamp(), keys)
            self.pending_changed = True
        elif r.action == "snapshot":
            # A complete snapshot replaces the list; an empty one never wipes it (a
            # failed or interrupted query looks the same as "nothing installed").
            new = keys or self.apps
            if keys and self.pending:
                self.pending, self.pending_changed = {}, True
        else:
            new = self.apps | keys if r.action == "added" else self.apps - keys
        if new != self.apps:
            self.apps, self.apps_changed = new, True


def _picked(row: dict[str, str], keys: tuple[str, ...]) -> dict[str, str]:
    return {k: row.get(k, "") for k in keys}


def _battery_sample(device_id: int, at: dt.datetime, battery: dict[str, Any]) -> Sample:
    return Sample(
        device_id=device_id,
        measured_at=at,
        percent=battery["battery_percent"],
        cycle_count=battery["battery_cycle_count"],
        health_percent=battery["battery_health_percent"],
    )


def _snapshot(
    device_id: int, kind: str, r: ResultRow, fields: dict[str, Any], samples: list[Sample]
) -> Any:
    """Apply the last row of one non-apps result to ``fields`` (and ``samples``); answer the
    data kept in its InventoryReport."""
    row = r.rows[-1]
    if kind == "system":
        fields.update(system_fields(row))
        return _picked(row, SYSTEM_KEYS)
    if kind == "os":
        fields.update(os_fields(row))
        return _picked(row, OS_KEYS)
    if kind == "battery":
        battery = battery_fields(row)
        fields.update(battery)
        samples.append(_battery_sample(device_id, r.at, battery))
        return _picked(row, BATTERY_KEYS)
    if kind == "disk":
        fields["storage_total_bytes"] = _int(row.get("total_bytes"))
        fields["storage_free_bytes"] = _int(row.get("free_bytes"))
        return _picked(row, ("total_bytes", "free_bytes"))
    # network
    data = [_net(x) for x in r.rows[:32]] if r.action == "snapshot" else [_net(row)]
    fields["network"] = data
    return data


def _apps_fields(
    device_id: int, apps: _Apps, latest_at: dt.datetime | None, fields: dict[str, Any]
) -> list[Report]:
    """The apps list and pending parts into ``fields``; the apps report when the list changed."""
    reports = []
    if apps.apps_changed:
        app_list = [{"name": n, "version": v} for n, v in sorted(apps.apps)][:MAX_APPS]
        fields["apps"] = app_list
        reports.append(
            Report(
                device_id=device_id,
                kind="apps",
                collected_at=latest_at or timezone.now(),
                data=app_list,
            )
        )
    if apps.pending_changed:
        fields["apps_pending"] = apps.pending
    return reports


def _remember(current: dict | None, fields: dict[str, Any]) -> None:
    """Keep ``current`` up to date so that the device's next batch chains on this one."""
    if current is None:
        return
    for key in ("apps", "apps_pending", "conflict_serial"):
        if key in fields:
            current[key] = fields[key]


def _plan(
    device_id: int, serial: str, results: list[ResultRow], current: dict | None
) -> Plan | None:
    """``current``: the device's stored apps and conflict serial (needed for apps diffs and
    conflicts), updated in place so that several batches of one device chain correctly."""
    known = [r for r in results if r.name in CATEGORIES]
    conflict = _conflict(serial, results, known)
    if not known and not conflict:
        return None
    fields: dict[str, Any] = {}
    reports: list[Report] = []
    samples: list[Sample] = []
    apps = _Apps.of(current)
    latest_at: dt.datetime | None = None
    for r in sorted(known, key=lambda r: r.at):
        kind = CATEGORIES[r.name]
        latest_at = r.at if latest_at is None or r.at > latest_at else latest_at
        if kind == "apps":
            apps.apply(r)
        elif r.action != "removed" and r.rows:
            data = _snapshot(device_id, kind, r, fields, samples)
            reports.append(Report(device_id=device_id, kind=kind, collected_at=r.at, data=data))
    reports.extend(_apps_fields(device_id, apps, latest_at, fields))
    if latest_at is not None:
        fields["inventory_at"] = latest_at
    if conflict and current is not None and conflict != current["conflict_serial"]:
        fields["conflict_serial"] = conflict[:128]
        fields["conflict_at"] = timezone.now()
    _remember(current, fields)
    return Plan(device_id, fields, reports, samples, conflict, len(results) - len(known))


def _currents(
    device_ids: Iterable[int], *, lock_ids: Iterable[int] = ()
) -> dict[int, dict[str, Any]]:
    """Lock every device row the chunk will update, in id order (the last-seen flush locks in id
    order too: no deadlock cycle), then read the stored apps/conflict of those that need them."""
    pks_existing(Device, {*device_ids, *lock_ids}, lock=True)
    if not device_ids:
        return {}
    rows = pk_in(Device.objects.all(), device_ids).values(
        "pk", "apps", "apps_pending", "conflict_serial"
    )
    return {
        row["pk"]: {k: row[k] for k in ("apps", "apps_pending", "conflict_serial")} for row in rows
    }


def _apply(plans: list[Plan]) -> None:
    merged: dict[int, dict[str, Any]] = {}
    for plan in plans:
        merged.setdefault(plan.device_id, {}).update(plan.fields)
    # one UPDATE per set of changed fields (usually one set: the same queries on every device)
    groups: dict[tuple[str, ...], list[tuple[int, list[Any]]]] = {}
    for device_id in sorted(merged):
        fields = merged[device_id]
        if fields:
            names = tuple(sorted(fields))
            groups.setdefault(names, []).append((device_id, [fields[n] for n in names]))
    for names, rows in groups.items():
        rows_update(Device, names, rows)
    # ignore_conflicts: a replayed batch (an agent that never saw our answer) adds nothing.
    rows_insert(
        InventoryReport,
        Report._fields,
        [r for p in plans for r in p.reports],
        ignore_conflicts=True,
    )
    rows_insert(
        BatterySample, Sample._fields, [x for p in plans for x in p.samples], ignore_conflicts=True
    )
    alerts = [
        Alert(
            device_id=p.device_id,
            kind=AlertKind.IDENTITY_CONFLICT,
            message=f"serial {p.conflict[:100]}",
        )
        for p in plans
        if p.conflict
    ]
    if alerts:
        Alert.objects.bulk_create(alerts, ignore_conflicts=True)


def results_ingest(*, device_id: int, serial: str, results: list[ResultRow]) -> dict[str, int]:
    """Apply one log batch. Unknown query names are dropped (minimal data). One transaction."""
    if not any(r.name in CATEGORIES for r in results) and not _conflict(serial, results, []):
        return {"stored": 0, "dropped": len(results)}
    with transaction.atomic():
        needs = _needs_current(results) or bool(
            _conflict(serial, results, [r for r in results if r.name in CATEGORIES])
        )
        current = _currents([device_id]).get(device_id) if needs else None
        plan = _plan(device_id, serial, results, current)
        if plan is None:
            return {"stored": 0, "dropped": len(results)}
        _apply([plan])
    return {"stored": len(plan.reports) + len(plan.samples), "dropped": plan.dropped}


def results_ingest_many(items: list[tuple[int, str, list[ResultRow]]]) -> int:
    """The drainer's bulk path: many batches of many devices in the caller's transaction."""
    needs = {
        device_id
        for device_id, serial, results in items
        if _needs_current(results)
        or _conflict(serial, results, [r for r in results if r.name in CATEGORIES])
    }
    currents = _currents(needs, lock_ids={device_id for device_id, _s, _r in items})
    plans = []
    for device_id, serial, results in items:
        plan = _plan(device_id, serial, results, currents.get(device_id))
        if plan is not None:
            plans.append(plan)
    _apply(plans)
    return len(plans)


def relaxed_commit() -> None:
    """For the last-seen flush only: don't wait for the WAL flush at commit (a crash loses a
    few check-in times, which the next check-in rewrites). Never on a path that stores reports:
    osqueryd deletes what we acknowledged, and the queue drainer deletes what we committed.
    FLEET_SYNCHRONOUS_COMMIT=1 turns it off."""
    if conf.get("FLEET_SYNCHRONOUS_COMMIT"):
        return
    connection = transaction.get_connection()
    # SET LOCAL lasts until the outermost transaction ends: inside someone else's transaction it
    # would relax their commit too, so only in a transaction of our own.
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def status_logs_ingest(*, device_id: int, lines: list[StatusLine]) -> int:
    if not lines:
        return 0
    with transaction.atomic():
        status_bulk([(device_id, line) for line in lines])
    return len(lines)


STATUS_COLUMNS = ("device_id", "logged_at", "severity", "filename", "line", "message", "version")


def status_bulk(pairs: list[tuple[int, StatusLine]]) -> None:
    """Status lines have no unique constraint to honour: straight COPY on PostgreSQL."""
    rows_insert(
        StatusLog,
        STATUS_COLUMNS,
        [
            (device_id, x.at, x.severity, x.filename, x.line, x.message, x.version)
            for device_id, x in pairs
        ],
    )


def history_purge(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Bounded retention for inventory history, battery samples and status logs."""
    now = now or timezone.now()
    inventory_cutoff = now - dt.timedelta(days=conf.get("FLEET_INVENTORY_RETENTION_DAYS"))
    status_cutoff = now - dt.timedelta(days=conf.get("FLEET_STATUS_LOG_RETENTION_DAYS"))
    return {
        "inventory": InventoryReport.objects.filter(collected_at__lt=inventory_cutoff).delete()[0],
        "battery": BatterySample.objects.filter(measured_at__lt=inventory_cutoff).delete()[0],
        "status": StatusLog.objects.filter(logged_at__lt=status_cutoff).delete()[0],
    }
