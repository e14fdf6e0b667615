"""Celery tasks of the daily-services engine (each loads its input and calls one service)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def freeze_prices_task() -> int:
    """Freeze today's pricing facts on today's bookings (idempotent)."""
    return services.bookings_freeze_prices(day=timezone.localdate())


@shared_task
def booking_promotion_notify_task(booking_id: int) -> bool:
    """Tell the family a waiting request got a seat (idempotent)."""
    return services.booking_promotion_notify(booking_id=booking_id)
