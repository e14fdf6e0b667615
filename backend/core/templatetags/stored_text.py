"""``{% load stored_text %}{{ event.message|stored_text }}``: a text stored in French (its own
translation key) shown in the reader's language (backend/core/text.py)."""

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def stored_text(value) -> str:
    return gettext(str(value)) if value else ""


@register.filter
def de_name(name) -> str:
    """``{{ child.first_name|de_name }}``: "de Léa", "d'Inès" (French elision)."""
    from backend.core.text import de

    return de(str(name or ""))
