"""Celery tasks of the daily-services engine (each loads its input and calls one service)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def freeze_prices_task() -> int:
    """Freeze today's pricing facts on today's bookings (idempotent)."""
    return services.bookings_freeze_prices(day=timezone.localdate())
