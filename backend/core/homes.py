"""Role home pages that answer "what needs doing?". Each app exposes
``<app>.home.panels(user) -> list[Panel]`` (listed in ``settings.MINOT_HOME_PANELS``); the home
page renders the panels in ``order``, then the role's menu cards."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 50


@cache
def _providers():
    return [import_string(path) for path in getattr(settings, "MINOT_HOME_PANELS", [])]


def panels_for(user) -> list[Panel]:
    if not user.is_authenticated:
        return []
    found: list[Panel] = []
    for provider in _providers():
        found.extend(provider(user))
    return sorted(found, key=lambda p: p.order)
