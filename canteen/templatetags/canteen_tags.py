from django import template

from canteen.pricing import format_money

register = template.Library()


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def money(cents, currency="EUR"):
    try:
        return format_money(int(cents), currency)
    except (TypeError, ValueError):
        return ""
