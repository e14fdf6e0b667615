import uuid

from django import template

register = template.Library()


@register.simple_tag
def form_token() -> str:
    """A fresh one-time token for a form: the same form submitted twice is done once."""
    return uuid.uuid4().hex


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
        "reversed": "tag-danger",
    }.get(getattr(obj, "status", ""), "")
