"""JSON bodies with limits: every JSON body Minot reads (API, osquery, Stripe webhook) goes here.

Python's ``json`` module recurses once per nesting level, so 100,000 ``[`` exhaust the stack
(``RecursionError``, a 500). :func:`loads_limited` refuses a body that is too large or nested too
deeply *before* decoding it, with a :class:`JSONLimitError` whose message a person understands;
callers answer 400 with it.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_MAX_DEPTH = 64


class JSONLimitError(ValueError):
    """The body is not JSON Minot accepts (too deep, too large or malformed)."""


def max_depth() -> int:
    return int(getattr(settings, "JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))


def nesting_depth(text: str | bytes) -> int:
    """Deepest nesting of ``[``/``{`` outside strings (a linear scan, no recursion)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def check_depth(text: str | bytes, *, limit: int | None = None) -> None:
    limit = max_depth() if limit is None else limit
    if nesting_depth(text) > limit:
        raise JSONLimitError(
            _("Le contenu JSON est imbriqué trop profondément (%(limit)s niveaux au plus).")
            % {"limit": limit}
        )


def loads_limited(
    text: str | bytes, *, depth: int | None = None, max_bytes: int | None = None
) -> Any:
    """``json.loads`` that refuses oversized or over-nested bodies with :class:`JSONLimitError`."""
    if max_bytes is not None and len(text) > max_bytes:
        raise JSONLimitError(
            _("Le contenu JSON est trop volumineux (%(limit)s octets au plus).")
            % {"limit": max_bytes}
        )
    check_depth(text, limit=depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JSONLimitError(_("Le contenu n'est pas du JSON valide.")) from exc
