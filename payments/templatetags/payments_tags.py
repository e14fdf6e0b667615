from django import template

register = template.Library()


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
