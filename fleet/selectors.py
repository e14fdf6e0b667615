"""Reads for pages, API and reports."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from . import conf
from .models import Alert, BatterySample, Device, DeviceStatus, RepairTicket


def device_list(*, school_id=None, cart_id=None, status=None, search: str = ""):
    devices = Device.objects.select_related("school", "cart").order_by(
        "school__name", "cart__name", "slot", "identity"
    )
    if school_id:
        devices = devices.filter(school_id=school_id)
    if cart_id:
        devices = devices.filter(cart_id=cart_id)
    if status:
        devices = devices.filter(status=status)
    if search:
        devices = devices.filter(
            Q(serial__icontains=search)
            | Q(identity__icontains=search)
            | Q(hardware_model__icontains=search)
        )
    return devices


STATUS_COUNTS = {
    "total": Q(),
    "online": Q(status=DeviceStatus.ONLINE),
    "offline": Q(status__in=[DeviceStatus.OFFLINE, DeviceStatus.NEVER_SEEN]),
    "expected": Q(status__in=[DeviceStatus.OFFLINE, DeviceStatus.NEVER_SEEN], status_expected=True),
    "missing": Q(status=DeviceStatus.MISSING),
}


def school_counts() -> list[dict]:
    """The one source of per-school device counts (dashboard, weekly report, totals).

    Devices and alerts are counted in separate grouped queries: counting devices through a join
    with alerts counts a device once per alert (the inflated dashboard of issue 14)."""
    rows: list[dict] = [
        dict(row)
        for row in Device.objects.filter(school__isnull=False)
        .values("school_id", "school__name")
        .annotate(**{name: Count("id", filter=q) for name, q in STATUS_COUNTS.items()})
        .order_by("school__name", "school_id")
    ]
    alerts = dict(
        Alert.objects.exclude(state=Alert.State.RESOLVED)
        .filter(device__school__isnull=False)
        .values("device__school_id")
        .annotate(n=Count("id"))
        .values_list("device__school_id", "n")
    )
    for row in rows:
        row["alerts"] = alerts.get(row["school_id"], 0)
    return rows


def status_by_school() -> list[dict]:
    return school_counts()


def battery_health_distribution() -> list[tuple[str, int]]:
    buckets = [
        ("< 60 %", 0, 60),
        ("60–70 %", 60, 70),
        ("70–80 %", 70, 80),
        ("80–90 %", 80, 90),
        ("≥ 90 %", 90, 1000),
    ]
    values = Device.objects.filter(battery_health_percent__isnull=False).values_list(
        "battery_health_percent", flat=True
    )
    counts: Counter[str] = Counter()
    for value in values:
        if value is None:
            continue
        for label, low, high in buckets:
            if low <= value < high:
                counts[label] += 1
                break
    return [(label, counts[label]) for label, _low, _high in buckets]


def os_versions(limit: int = 8) -> list[tuple[str, int]]:
    rows = (
        Device.objects.exclude(os_name="")
        .values("os_name", "os_version")
        .annotate(n=Count("id"))
        .order_by("-n", "os_name", "os_version")
    )
    return [(f"{r['os_name']} {r['os_version']}", r["n"]) for r in rows[:limit]]


def alerts_over_time(*, weeks: int = 12, now=None) -> list[tuple[str, int]]:
    now = now or timezone.now()
    start = now - dt.timedelta(weeks=weeks)
    rows = (
        Alert.objects.filter(opened_at__gte=start)
        .annotate(week=TruncWeek("opened_at"))
        .values("week")
        .annotate(n=Count("id"))
        .order_by("week")
    )
    by_week = {
        timezone.localtime(r["week"]).date()
        if isinstance(r["week"], dt.datetime)
        else r["week"]: r["n"]
        for r in rows
    }
    monday = timezone.localtime(now).date() - dt.timedelta(days=timezone.localtime(now).weekday())
    out = []
    for i in range(weeks - 1, -1, -1):
        week = monday - dt.timedelta(weeks=i)
        out.append((week.strftime("%d/%m"), by_week.get(week, 0)))
    return out


def fleet_totals() -> dict[str, int]:
    return Device.objects.aggregate(
        **{name: Count("id", filter=q) for name, q in STATUS_COUNTS.items()},
        battery_worn=Count(
            "id", filter=Q(battery_health_percent__lt=conf.get("FLEET_BATTERY_HEALTH_THRESHOLD"))
        ),
    ) | {
        "open_alerts": Alert.objects.exclude(state=Alert.State.RESOLVED).count(),
        "open_tickets": RepairTicket.objects.exclude(state=RepairTicket.State.FIXED).count(),
    }


def battery_series(device: Device, *, days: int = 180) -> list[tuple[dt.datetime, float]]:
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        BatterySample.objects.filter(
            device=device, measured_at__gte=since, health_percent__isnull=False
        )
        .order_by("measured_at")
        .values_list("measured_at", "health_percent")
    )
    return [(at, health) for at, health in rows if health is not None]


def cart_battery_forecast(cart) -> dict[str, int]:
    today = timezone.localdate()
    devices = Device.objects.filter(cart=cart)
    return {
        "now": devices.filter(battery_forecast_date__lte=today).count(),
        "3m": devices.filter(battery_forecast_date__lte=today + dt.timedelta(days=91)).count(),
        "6m": devices.filter(battery_forecast_date__lte=today + dt.timedelta(days=182)).count(),
        "12m": devices.filter(battery_forecast_date__lte=today + dt.timedelta(days=365)).count(),
    }


ALERT_PRIORITY = [
    "missing",
    "identity_conflict",
    "battery_worn",
    "low_storage",
    "battery_forecast",
    "outdated_os",
]


def alerts_by_priority(alerts):
    """Most urgent kinds first (a missing device before an outdated system), newest first within."""
    from django.db.models import Case, IntegerField, Value, When

    rank = Case(
        *(When(kind=kind, then=Value(i)) for i, kind in enumerate(ALERT_PRIORITY)),
        default=Value(len(ALERT_PRIORITY)),
        output_field=IntegerField(),
    )
    return alerts.annotate(priority=rank).order_by("priority", "-opened_at", "-id")
