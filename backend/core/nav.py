"""Role-aware navigation. Each app exposes ``<app>.navigation.items(user) -> list[NavItem]``,
listed in ``settings.MINOT_NAVIGATION_PROVIDERS``; the header and the home pages show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    description: str = ""  # shown on the role's home page card
    in_header: bool = True


@cache
def _providers():
    return [import_string(path) for path in settings.MINOT_NAVIGATION_PROVIDERS]


def nav_items(user) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    items: list[NavItem] = []
    for provider in _providers():
        items.extend(provider(user))
    return items
