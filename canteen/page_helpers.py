"""Small helpers shared by the canteen and services pages."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MONTH_NAMES = [
    gettext_lazy("janvier"),
    gettext_lazy("février"),
    gettext_lazy("mars"),
    gettext_lazy("avril"),
    gettext_lazy("mai"),
    gettext_lazy("juin"),
    gettext_lazy("juillet"),
    gettext_lazy("août"),
    gettext_lazy("septembre"),
    gettext_lazy("octobre"),
    gettext_lazy("novembre"),
    gettext_lazy("décembre"),
]


def _parse_date(value: str | None, default: dt.date | None = None) -> dt.date | None:
    if not value:
        return default
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return default
    return day if dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31) else default


def _report(request, result, verb_done: str) -> None:
    done = len(result.booked) + len(result.cancelled)
    if done:
        messages.success(request, verb_done % {"n": done})
    for _child, _day, reason in result.skipped[:8]:
        messages.warning(request, reason)
    if result.waiting:
        messages.warning(
            request,
            _(
                "Complet : %(n)s jours sur liste d'attente (vous serez inscrit dès qu'une place se libère)."
            )
            % {"n": len(result.waiting)},
        )
    if len(result.skipped) > 8:
        messages.warning(
            request, _("… et %(n)s autres jours non modifiés.") % {"n": len(result.skipped) - 8}
        )
    if not done and not result.skipped and not result.waiting:
        messages.warning(request, _("Rien à modifier."))
