"""Weekly fleet report (pandas): per-school status, alerts and battery forecast."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from . import selectors
from .models import Alert, Device, DeviceStatus, RepairTicket


def report_columns() -> list[tuple[str, str]]:
    """The report's columns and the header a person reads (the CSV keeps the keys)."""
    from django.utils.translation import gettext as _

    return [
        ("devices", _("Appareils")),
        ("online", _("En ligne")),
        ("offline", _("Hors ligne")),
        ("missing", _("Disparus")),
        ("battery_health_avg", _("Santé moyenne des batteries")),
        ("batteries_due_90d", _("Batteries à remplacer sous 90 jours")),
        ("alerts_opened", _("Alertes ouvertes (7 jours)")),
        ("alerts_resolved", _("Alertes résolues (7 jours)")),
        ("tickets_open", _("Tickets en cours")),
    ]


def report_rows(frame: pd.DataFrame) -> list[tuple[str, list[tuple[str, str]]]]:
    """Cells formatted for the page: whole numbers, health as a rounded percentage."""
    rows = []
    for school, row in frame.iterrows():
        cells = []
        for key, label in report_columns():
            value = row[key]
            if key == "battery_health_avg":
                cells.append((label, "—" if pd.isna(value) else f"{round(float(value))}\u00a0%"))
            else:
                cells.append((label, f"{int(value):,}".replace(",", "\u202f")))
        rows.append((str(school), cells))
    return rows


def weekly_report_frame(*, now: dt.datetime | None = None) -> pd.DataFrame:
    now = now or timezone.now()
    week_ago = now - dt.timedelta(days=7)
    today = timezone.localtime(now).date()
    devices = pd.DataFrame.from_records(
        Device.objects.values_list(
            "id", "school__name", "status", "battery_health_percent", "battery_forecast_date"
        ),
        columns=["id", "school", "status", "health", "forecast"],
    )
    columns = [
        "devices",
        "online",
        "offline",
        "missing",
        "battery_health_avg",
        "batteries_due_90d",
        "alerts_opened",
        "alerts_resolved",
        "tickets_open",
    ]
    if devices.empty:
        return pd.DataFrame(columns=columns)
    devices["school"] = devices["school"].fillna("—")
    devices["due"] = devices["forecast"].apply(
        lambda d: d is not None and d <= today + dt.timedelta(days=90)
    )
    frame = devices.groupby("school").agg(
        devices=("id", "count"),
        online=("status", lambda s: int((s == DeviceStatus.ONLINE).sum())),
        offline=(
            "status",
            lambda s: int(s.isin([DeviceStatus.OFFLINE, DeviceStatus.NEVER_SEEN]).sum()),
        ),
        missing=("status", lambda s: int((s == DeviceStatus.MISSING).sum())),
        battery_health_avg=("health", "mean"),
        batteries_due_90d=("due", "sum"),
    )
    # device counts: the same selector as the dashboard (fleet.selectors.school_counts)
    for row in selectors.school_counts():
        if row["school__name"] in frame.index:
            for name in ("online", "offline", "missing"):
                frame.loc[row["school__name"], name] = row[name]
            frame.loc[row["school__name"], "devices"] = row["total"]
    opened = pd.Series(
        dict(
            _count_by_school(Alert.objects.filter(opened_at__gte=week_ago), "device__school__name")
        ),
        dtype="int64",
    )
    resolved = pd.Series(
        dict(
            _count_by_school(
                Alert.objects.filter(resolved_at__gte=week_ago), "device__school__name"
            )
        ),
        dtype="int64",
    )
    tickets = pd.Series(
        dict(
            _count_by_school(
                RepairTicket.objects.exclude(state=RepairTicket.State.FIXED), "device__school__name"
            )
        ),
        dtype="int64",
    )
    frame["alerts_opened"] = opened.reindex(frame.index).fillna(0).astype(int)
    frame["alerts_resolved"] = resolved.reindex(frame.index).fillna(0).astype(int)
    frame["tickets_open"] = tickets.reindex(frame.index).fillna(0).astype(int)
    frame["battery_health_avg"] = frame["battery_health_avg"].round(1)
    frame["batteries_due_90d"] = frame["batteries_due_90d"].astype(int)
    return frame[columns].sort_index()


def _count_by_school(queryset: QuerySet[Any], field: str) -> Iterator[tuple[Any, int]]:
    from django.db.models import Count

    for row in queryset.values(field).annotate(n=Count("id")):
        yield (row[field] or "—"), row["n"]


WEEKLY_REPORT_EMPTY = gettext_noop("Aucun appareil inscrit.")
WEEKLY_REPORT_BODY = gettext_noop(
    "Appareils : %(devices)s — en ligne : %(online)s — disparus : %(missing)s\n"
    "Alertes ouvertes cette semaine : %(opened)s, résolues : %(resolved)s\n"
    "Tickets de réparation en cours : %(tickets)s\n\n%(table)s"
)


def weekly_report_message(frame: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    """The report as a French source key and its parameters, rendered in each reader's language."""
    if frame.empty:
        return WEEKLY_REPORT_EMPTY, {}
    totals = frame[
        ["devices", "online", "missing", "alerts_opened", "alerts_resolved", "tickets_open"]
    ].sum()
    return WEEKLY_REPORT_BODY, {
        "devices": int(totals["devices"]),
        "online": int(totals["online"]),
        "missing": int(totals["missing"]),
        "opened": int(totals["alerts_opened"]),
        "resolved": int(totals["alerts_resolved"]),
        "tickets": int(totals["tickets_open"]),
        "table": frame.to_string(),
    }


def weekly_report_text(frame: pd.DataFrame) -> str:
    """The report in the active language."""
    from backend.core.text import render_text

    key, params = weekly_report_message(frame)
    return render_text(key, params)
