from django import template

from payments.selectors import format_cents

register = template.Library()


@register.filter
def cents(value, currency="EUR"):
    """``{{ invoice.total_cents|cents }}`` → ``9,80 €``."""
    try:
        return format_cents(int(value), currency or "EUR")
    except (TypeError, ValueError):
        return ""


@register.simple_tag
def status_tag(obj):
    return {
        "paid": "tag-ok",
        "succeeded": "tag-ok",
        "issued": "tag-warn",
        "partially_paid": "tag-warn",
        "pending": "tag-warn",
        "processing": "tag-warn",
        "failed": "tag-danger",
        "cancelled": "",
        "canceled": "",
        "draft": "",
    }.get(getattr(obj, "status", ""), "")
