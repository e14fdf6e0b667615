"""A confirmation step, with a summary, before an action that cannot be undone.

The action's form posts as usual; the view calls ``needs_confirmation(request)`` and, when it is
true, answers ``confirmation_page(...)``: the summary and a form re-posting the same fields with
``confirmed=1``. Without JavaScript, no modal: a page of its own that a screen reader reads first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirmed"


def needs_confirmation(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRM_FIELD) != "1"


def confirmation_page(
    request: HttpRequest,
    *,
    title: str,
    summary: list[str],
    confirm_label: str,
    cancel_url: str,
    warning: str = "",
) -> HttpResponse:
    fields = [
        (key, value)
        for key in request.POST
        if key not in ("csrfmiddlewaretoken", CONFIRM_FIELD)
        for value in request.POST.getlist(key)
    ]
    return render(
        request,
        "core/confirm.html",
        {
            "title": title,
            "summary": summary,
            "confirm_label": confirm_label,
            "cancel_url": cancel_url,
            "warning": warning,
            "fields": fields,
            "action": request.get_full_path(),
        },
    )
