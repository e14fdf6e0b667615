"""Texts stored as keys plus parameters, rendered in the reader's language.

A notification or a timeline entry stores its French source string (the translation key, marked
with ``gettext_noop``) and its parameters; pages and emails render it at read time with the
reader's language, so an English reader sees English whatever language the writer used.

French elision: "Inscription de Léa" but "Inscription d'Inès", "d'Hugo" (h muet by default).
Every key can use ``%(de_child)s`` next to ``%(child)s``. A translation may only use the
placeholders of its msgid (``msgfmt --check-format`` rejects others once ``makemessages`` flags the
entry ``python-format``), so English keeps ``%(de_child)s``, which reads "of Inès".
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.utils.translation import get_language, gettext, override

VOWELS = set("aeiouyh")


def de(name: str, language: str | None = None) -> str:
    """ "de Léa", "d'Inès", "d'Hugo" in French; "of Léa" otherwise."""
    name = (name or "").strip()
    if not (language or get_language() or "fr").startswith("fr"):
        return f"of {name}"
    first = unicodedata.normalize("NFD", name[:1]).encode("ascii", "ignore").decode().lower()
    return f"d\u2019{name}" if first in VOWELS else f"de {name}"


def render_text(key: str, params: dict[str, Any] | None = None, language: str | None = None) -> str:
    """The stored key translated into ``language`` (default: the active one) with its parameters.

    Parameters ending in ``_key`` are keys themselves (a state label) and are translated too;
    ``child`` also yields ``de_child`` with French elision."""
    if language:
        with override(language):
            return render_text(key, params)
    values: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if name.endswith("_key"):
            values[name.removesuffix("_key")] = gettext(str(value)) if value else ""
        else:
            values[name] = value
    if "child" in values:
        values["de_child"] = de(str(values["child"]))
    text = gettext(key) if key else ""
    try:
        return text % values if values else text
    except (KeyError, ValueError, TypeError):
        return text


def source_text(lazy_text: Any) -> str:
    """The French source string (the translation key) behind a lazy label, e.g. a choice label."""
    with override(None):
        return str(lazy_text)
