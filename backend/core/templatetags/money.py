"""``{{ amount_cents|money }}`` or ``{{ amount_cents|money:invoice.currency }}`` in any template
(registered as a builtin): the one money filter, through :func:`backend.core.money.format_money`."""

from django import template

from backend.core.money import format_money

register = template.Library()


@register.filter
def money(cents, currency="EUR"):
    try:
        return format_money(int(cents), currency or "EUR")
    except (TypeError, ValueError):
        return ""
