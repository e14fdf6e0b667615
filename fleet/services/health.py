"""Calendar-aware status (online / offline / missing), battery forecast and alert evaluation."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from family.models import CalendarClosure

from .. import conf
from ..models import (
    Alert,
    AlertKind,
    BatterySample,
    Device,
    DeviceRole,
    DeviceStatus,
    SchoolFleetSettings,
)

if TYPE_CHECKING:
    pass


class Calendar:
    """School days per school for a window: weekdays minus city-wide and school closures."""

    def __init__(self, start: dt.date, end: dt.date):
        self.start, self.end = start, end
        self.city: set[dt.date] = set()
        self.by_school: dict[int, set[dt.date]] = defaultdict(set)
        for school_id, first, last in CalendarClosure.objects.filter(
            start_date__lte=end, end_date__gte=start
        ).values_list("school_id", "start_date", "end_date"):
            day = max(first, start)
            target = self.city if school_id is None else self.by_school[school_id]
            while day <= min(last, end):
                target.add(day)
                day += dt.timedelta(days=1)

    def is_school_day(self, school_id: int | None, day: dt.date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.city
            and day not in self.by_school.get(school_id or 0, ())
        )

    def school_days_between(self, school_id: int | None, after: dt.date, before: dt.date) -> int:
        """School days d with after < d < before."""
        count, day = 0, max(after + dt.timedelta(days=1), self.start)
        while day < before:
            count += self.is_school_day(school_id, day)
            day += dt.timedelta(days=1)
        return count

    def school_open(self, school_id: int | None, now_local: dt.datetime) -> bool:
        return self.is_school_day(school_id, now_local.date()) and conf.get(
            "FLEET_SCHOOL_DAY_START_HOUR"
        ) <= now_local.hour < conf.get("FLEET_SCHOOL_DAY_END_HOUR")


def calendar_for(now: dt.datetime, days: int = 90) -> Calendar:
    today = timezone.localtime(now).date()
    return Calendar(today - dt.timedelta(days=days), today)


def device_status(
    *,
    last_seen_at: dt.datetime | None,
    enrolled_at: dt.datetime | None,
    school_id: int | None,
    now: dt.datetime,
    calendar: Calendar,
    missing_after: int,
) -> tuple[str, bool]:
    """(status, expected_offline). Nights, weekends and closures never count towards "missing"."""
    now_local = timezone.localtime(now)
    expected = not calendar.school_open(school_id, now_local)
    if last_seen_at and now - last_seen_at <= dt.timedelta(
        seconds=conf.get("FLEET_ONLINE_WINDOW_SECONDS")
    ):
        return DeviceStatus.ONLINE, False
    reference = last_seen_at or enrolled_at
    if reference is None:
        return DeviceStatus.NEVER_SEEN, expected
    today = now_local.date()
    days = calendar.school_days_between(school_id, timezone.localtime(reference).date(), today)
    if calendar.is_school_day(school_id, today) and now_local.hour >= conf.get(
        "FLEET_SCHOOL_DAY_END_HOUR"
    ):
        days += timezone.localtime(reference).date() < today
    if days >= missing_after:
        return DeviceStatus.MISSING, False
    return (DeviceStatus.OFFLINE if last_seen_at else DeviceStatus.NEVER_SEEN), expected


def _version_tuple(value: str) -> tuple[int, ...]:
    parts = []
    for piece in (value or "").replace("-", ".").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def os_outdated(*, platform: str, version: str, school_minimum: str = "") -> bool:
    minimum = school_minimum or conf.get("FLEET_MIN_OS_VERSIONS").get((platform or "").lower(), "")
    current = _version_tuple(version)
    return bool(minimum and current) and current < _version_tuple(minimum)


def device_conditions(
    device: dict[str, Any], *, today: dt.date, school_minimum: str = ""
) -> dict[str, str]:
    """Alert kind → message for every condition that holds for this device (values dict)."""
    found: dict[str, str] = {}
    threshold = conf.get("FLEET_BATTERY_HEALTH_THRESHOLD")
    health = device["battery_health_percent"]
    if health is not None and health < threshold:
        found[AlertKind.BATTERY_WORN] = f"{health:.0f} %"
    elif device["battery_forecast_date"] and device[
        "battery_forecast_date"
    ] <= today + dt.timedelta(weeks=conf.get("FLEET_BATTERY_FORECAST_WEEKS")):
        found[AlertKind.BATTERY_FORECAST] = device["battery_forecast_date"].isoformat()
    total, free = device["storage_total_bytes"], device["storage_free_bytes"]
    if total and free is not None and 100.0 * free / total < conf.get("FLEET_LOW_STORAGE_PERCENT"):
        found[AlertKind.LOW_STORAGE] = f"{100.0 * free / total:.0f} %"
    if os_outdated(
        platform=device["os_platform"], version=device["os_version"], school_minimum=school_minimum
    ):
        found[AlertKind.OUTDATED_OS] = f"{device['os_name']} {device['os_version']}"[:300]
    if device["status"] == DeviceStatus.MISSING:
        found[AlertKind.MISSING] = str(device["last_seen_at"] or "")[:19]
    if device["conflict_serial"]:
        found[AlertKind.IDENTITY_CONFLICT] = f"serial {device['conflict_serial']}"[:300]
    return found


FIELDS = [
    "id",
    "school_id",
    "last_seen_at",
    "enrolled_at",
    "status",
    "status_expected",
    "battery_health_percent",
    "battery_forecast_date",
    "storage_total_bytes",
    "storage_free_bytes",
    "os_platform",
    "os_version",
    "os_name",
    "conflict_serial",
]


def fleet_evaluate(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Recompute every device's status, then open, keep or auto-resolve alerts. Idempotent."""
    now = now or timezone.now()
    calendar = calendar_for(now)
    today = timezone.localtime(now).date()
    settings = {s.school_id: s for s in SchoolFleetSettings.objects.all()}
    default_missing = conf.get("FLEET_MISSING_AFTER_SCHOOL_DAYS")
    devices = list(
        Device.objects.filter(revoked_at__isnull=True)
        .exclude(role=DeviceRole.RETIRED)
        .values(*FIELDS)
    )
    status_changes: list[Device] = []
    wanted: dict[tuple[int, str], str] = {}
    for d in devices:
        school_settings = settings.get(d["school_id"])
        status, expected = device_status(
            last_seen_at=d["last_seen_at"],
            enrolled_at=d["enrolled_at"],
            school_id=d["school_id"],
            now=now,
            calendar=calendar,
            missing_after=school_settings.missing_after_school_days
            if school_settings
            else default_missing,
        )
        if (status, expected) != (d["status"], d["status_expected"]):
            changed_at = now if status != d["status"] else None
            status_changes.append(
                Device(
                    pk=d["id"],
                    status=status,
                    status_expected=expected,
                    status_changed_at=changed_at,
                )
            )
            d["status"] = status
        minimum = school_settings.min_os_version if school_settings else ""
        for kind, message in device_conditions(d, today=today, school_minimum=minimum).items():
            wanted[(d["id"], kind)] = message
    with transaction.atomic():
        for change in sorted(status_changes, key=lambda c: c.pk):
            fields = {"status": change.status, "status_expected": change.status_expected}
            if change.status_changed_at:
                fields["status_changed_at"] = change.status_changed_at
            Device.objects.filter(pk=change.pk).update(**fields)
        current = {
            (a["device_id"], a["kind"]): a["id"]
            for a in Alert.objects.exclude(state=Alert.State.RESOLVED).values(
                "id", "device_id", "kind"
            )
        }
        new = [
            Alert(device_id=device_id, kind=kind, message=message, opened_at=now)
            for (device_id, kind), message in wanted.items()
            if (device_id, kind) not in current
        ]
        Alert.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        cleared = [alert_id for key, alert_id in current.items() if key not in wanted]
        resolved = (
            Alert.objects.filter(pk__in=cleared)
            .exclude(state=Alert.State.RESOLVED)
            .update(state=Alert.State.RESOLVED, resolved_at=now, auto_resolved=True)
        )
    return {
        "devices": len(devices),
        "status_changes": len(status_changes),
        "opened": len(new),
        "resolved": resolved,
    }


def battery_forecast_compute(*, now: dt.datetime | None = None, days: int = 180) -> int:
    """Per-device wear trend (linear fit of health % over time, pandas) → replacement date."""
    import numpy as np
    import pandas as pd

    now = now or timezone.now()
    rows = BatterySample.objects.filter(
        measured_at__gte=now - dt.timedelta(days=days), health_percent__isnull=False
    )
    frame = pd.DataFrame.from_records(
        rows.values_list("device_id", "measured_at", "health_percent"),
        columns=["device", "at", "health"],
    )
    if frame.empty:
        return 0
    threshold = conf.get("FLEET_BATTERY_HEALTH_THRESHOLD")
    frame["days"] = (
        pd.to_datetime(frame["at"], utc=True) - pd.Timestamp(now)
    ).dt.total_seconds() / 86400.0
    updates: list[Device] = []
    for device_id, group in frame.groupby("device"):
        if len(group) < 5 or group["days"].max() - group["days"].min() < 14:
            continue
        slope, intercept = np.polyfit(group["days"].to_numpy(), group["health"].to_numpy(), 1)
        wear = round(float(-slope * 30.0), 2)
        forecast = None
        if intercept < threshold:
            forecast = timezone.localtime(now).date()
        elif slope < 0:
            in_days = (intercept - threshold) / -slope
            if in_days < 3650:
                forecast = timezone.localtime(now).date() + dt.timedelta(days=int(in_days))
        updates.append(
            Device(pk=int(device_id), battery_forecast_date=forecast, battery_wear_per_month=wear)
        )
    Device.objects.bulk_update(
        updates, ["battery_forecast_date", "battery_wear_per_month"], batch_size=500
    )
    return len(updates)
