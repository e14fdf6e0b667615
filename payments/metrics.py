"""Payments' gauges for /metrics (listed in MINOT_METRICS_PROVIDERS, read at scrape time)."""


def gauges() -> list[tuple[str, str, float]]:
    from .models import StripeEvent

    waiting = StripeEvent.objects.filter(processed_at__isnull=True).count()
    return [
        ("minot_stripe_events_waiting", "Stripe events received and not processed", waiting),
        (
            "minot_payments_audit_findings",
            "Findings of the last payments audit (0 until an audit reports here)",
            0,
        ),
    ]
