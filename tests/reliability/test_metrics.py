"""Operators see faults before families do: /metrics exposes the queues that hide trouble, and the
alert rules and dashboard in infra/monitoring use only metrics that exist."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from backend.core.models import OutboxMessage, OutgoingEmail

ROOT = Path(__file__).resolve().parents[2]


def scrape(**extra) -> str:
    r = Client().get("/metrics", **extra)
    assert r.status_code == 200
    return r.content.decode()


def value(text: str, name: str) -> float:
    return float(re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M).group(1))


@pytest.mark.django_db
def test_metrics_show_the_outbox_backlog_and_the_failed_emails():
    OutboxMessage.objects.create(task="backend.core.tasks.outbox_purge_task")
    OutgoingEmail.objects.create(key="k", subject="s", from_email="a@x.test", status="failed")
    Client().get("/healthz")
    text = scrape()
    assert value(text, "minot_outbox_backlog") == 1
    assert value(text, "minot_outbox_oldest_age_seconds") >= 0
    assert value(text, "minot_emails_failed") == 1
    assert value(text, "minot_database_up") == 1
    assert value(text, "minot_stripe_events_waiting") == 0
    assert value(text, "minot_payments_audit_findings") == 0
    assert "minot_broker_up" in text
    assert 'minot_http_requests_total{method="GET",status="200"}' in text


@pytest.mark.django_db
def test_metrics_are_only_for_loopback_or_the_token(settings):
    settings.METRICS_TOKEN = "s3cret-token"
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert Client().get("/metrics", **outside).status_code == 404
    wrong = {"HTTP_AUTHORIZATION": "Bearer nope", **outside}
    assert Client().get("/metrics", **wrong).status_code == 404
    assert "minot_outbox_backlog" in scrape(HTTP_AUTHORIZATION="Bearer s3cret-token", **outside)


@pytest.mark.django_db
def test_alert_rules_and_dashboard_use_exported_metrics():
    exported = set(re.findall(r"^# TYPE (\S+) (\S+)", scrape(), re.M))
    names = {name for name, _ in exported}
    names |= {f"{name}_total" for name, kind in exported if kind == "counter"}
    names |= {f"{name}_bucket" for name, kind in exported if kind == "histogram"}
    infra = ROOT / "infra" / "monitoring"
    used = set(re.findall(r"\bminot_[a-z_]+", (infra / "prometheus-alerts.yml").read_text()))
    dashboard = json.loads((infra / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"\bminot_[a-z_]+", target["expr"]))
    assert used - names == set()
