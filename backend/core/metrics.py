"""Prometheus metrics at ``/metrics``: requests, database and broker health, and the queues that
hide trouble (outbox backlog and oldest age, Celery queue lengths, fleet log-queue backlog, Stripe
events waiting, emails pending or given up, payments audit findings: the apps' own gauges come
from ``MINOT_METRICS_PROVIDERS``).

Request counters live in each process (set ``PROMETHEUS_MULTIPROC_DIR`` under gunicorn so that
every worker's counts add up); the queue gauges are read from the database and the broker at
scrape time. ``/metrics`` answers loopback, or a request carrying ``Bearer $METRICS_TOKEN``.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

logger = logging.getLogger("minot.metrics")

REQUESTS = Counter("minot_http_requests_total", "HTTP requests answered", ["method", "status"])
LATENCY = Histogram(
    "minot_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DB_UNAVAILABLE = Counter(
    "minot_database_unavailable_total", "Requests answered 503 because the database was down"
)


class MetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        if request.path != "/metrics":
            REQUESTS.labels(request.method, str(response.status_code)).inc()
            LATENCY.labels(request.method).observe(time.perf_counter() - start)
        return response


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    metric = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    metric.add_metric(list((labels or {}).values()), value)
    return metric


def _safely(collect) -> Iterator[Metric]:
    try:
        yield from collect()
    except Exception:
        logger.warning("metrics: %s failed", collect.__name__, exc_info=True)


def _database() -> Iterator[Metric]:
    from django.db.models import Count, Min, Q
    from django.utils import timezone

    from .models import OutboxMessage, OutgoingEmail

    now = timezone.now()
    outbox = OutboxMessage.objects.filter(published_at__isnull=True).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    yield _gauge("minot_database_up", "1 when the database answers", 1)
    yield _gauge("minot_outbox_backlog", "Tasks waiting for the broker", outbox["n"])
    yield _gauge(
        "minot_outbox_oldest_age_seconds",
        "Age of the oldest task waiting for the broker",
        (now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0,
    )
    emails = OutgoingEmail.objects.aggregate(
        pending=Count("id", filter=Q(status=OutgoingEmail.Status.PENDING)),
        failed=Count("id", filter=Q(status=OutgoingEmail.Status.FAILED)),
        oldest=Min("created_at", filter=Q(status=OutgoingEmail.Status.PENDING)),
    )
    yield _gauge("minot_emails_pending", "Emails not sent yet", emails["pending"])
    yield _gauge(
        "minot_emails_failed", "Emails given up after retrying for hours", emails["failed"]
    )
    yield _gauge(
        "minot_emails_oldest_pending_age_seconds",
        "Age of the oldest email not sent yet",
        (now - emails["oldest"]).total_seconds() if emails["oldest"] else 0,
    )


def _broker() -> Iterator[Metric]:
    from backend.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        up = 1
        queues = {}
        if conn.transport.driver_type == "redis":
            client = conn.default_channel.client
            for queue in {"celery", *settings.MINOT_METRICS_QUEUES}:
                queues[queue] = client.llen(queue)
    yield _gauge("minot_broker_up", "1 when the Celery broker answers", up)
    metric = GaugeMetricFamily(
        "minot_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
    )
    for queue, length in sorted(queues.items()):
        metric.add_metric([queue], length)
    yield metric


def _providers() -> Iterator[Metric]:
    """Each app's gauges (``MINOT_METRICS_PROVIDERS``): core never imports the apps."""
    from django.utils.module_loading import import_string

    for path in settings.MINOT_METRICS_PROVIDERS:
        try:
            gauges = import_string(path)()
        except Exception:
            logger.warning("metrics: %s failed", path, exc_info=True)
            continue
        for name, doc, value in gauges:
            yield _gauge(name, doc, value)


class QueuesCollector:
    def collect(self) -> Iterator[Metric]:
        database = list(_safely(_database))
        yield from database or [_gauge("minot_database_up", "1 when the database answers", 0)]
        broker = list(_safely(_broker))
        yield from broker or [_gauge("minot_broker_up", "1 when the Celery broker answers", 0)]
        yield from _providers()


def registry() -> CollectorRegistry:
    from prometheus_client import REGISTRY

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        reg.register(_Forward(REGISTRY))
    reg.register(QueuesCollector())
    return reg


class _Forward:
    def __init__(self, source):
        self.source = source

    def collect(self):
        return self.source.collect()


def metrics_view(request):
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    loopback = request.META.get("REMOTE_ADDR") in {"127.0.0.1", "::1"}
    if not (loopback or (token and hmac.compare_digest(given, token))):
        return HttpResponseNotFound()
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
