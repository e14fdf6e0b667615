"""The fleet's share of the retention schedule (backend/core/retention.py): device history."""

from __future__ import annotations

import datetime as dt

from backend.core.retention import retention_cutoff

from .models import BatterySample, InventoryReport, StatusLog


def apply(*, dry_run: bool, now: dt.datetime) -> dict[str, int]:
    cutoff = retention_cutoff("device_history", now)
    rows = [
        InventoryReport.objects.filter(collected_at__lt=cutoff),
        BatterySample.objects.filter(measured_at__lt=cutoff),
        StatusLog.objects.filter(logged_at__lt=cutoff),
    ]
    count = sum(qs.count() for qs in rows)
    if not dry_run:
        for qs in rows:
            qs.delete()
    return {"device_history": count}
