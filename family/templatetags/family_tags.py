from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

STATE_TAGS = {
    "accepted": "tag-ok",
    "confirmed": "tag-ok",
    "approved": "tag-ok",
    "validated": "tag-ok",
    "refused": "tag-danger",
    "rejected": "tag-danger",
    "withdrawn": "tag-danger",
    "cancelled": "tag-danger",
    "incomplete": "tag-warn",
    "waitlisted": "tag-warn",
    "waiting": "tag-warn",
    "pending": "tag-warn",
    "missing": "tag-danger",
    "requested": "tag-warn",
}
DOC_STATUS = {
    "missing": _("Manquant"),
    "pending": _("Déposé, à vérifier"),
    "accepted": _("Vérifié"),
    "rejected": _("Refusé : à renvoyer"),
    "requested": _("Demandé par l'école"),
}


@register.filter
def state_tag(state: str) -> str:
    return STATE_TAGS.get(str(state), "")


@register.filter
def doc_status(status: str) -> str:
    return str(DOC_STATUS.get(status, status))
