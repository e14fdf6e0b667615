"""Small server-rendered SVG charts (no JavaScript), shared by the apps' pages. Each chart has a
title; pages also give the numbers as a table, so no information is in the picture alone."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from django.utils.html import escape
from django.utils.safestring import mark_safe

_ids = count(1)
BAR = "#0b4f9c"


def bar_chart(
    items: Sequence[tuple[str, float]], *, title: str, width: int = 480, unit: str = ""
) -> str:
    """Horizontal bars with their values written beside them."""
    chart_id = next(_ids)
    row = 26
    label_w = 170
    height = max(row * len(items) + 10, 40)
    top = max((v for _l, v in items), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="bar{chart_id}t" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="bar{chart_id}t">{escape(title)}</title>',
    ]
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = int((width - label_w - 60) * value / top)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="13" fill="#1b1f24">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1)}" height="18" fill="{BAR}"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 6}" y="{y + 16}" font-size="13" fill="#1b1f24">{escape(f"{value:g}{unit}")}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
