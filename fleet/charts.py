"""Small server-rendered SVG charts (no JavaScript). Each chart has a title and a description;
pages also give the numbers as a table, so no information is conveyed by the picture alone."""

from __future__ import annotations

import datetime as dt
from itertools import count

from django.utils.html import escape
from django.utils.safestring import mark_safe

from backend.core.charts import bar_chart  # noqa: F401 - the fleet pages use it as charts.bar_chart

_ids = count(1)
PALETTE = {"online": "#1a6b34", "offline": "#6b7480", "missing": "#a11d1d", "bar": "#0b4f9c"}


def stacked_status_chart(rows: list[dict], *, title: str, width: int = 560) -> str:
    """One stacked bar per school: online / offline / missing, patterned so colour is not the only cue."""
    chart_id = next(_ids)
    row = 24
    label_w = 210
    height = row * len(rows) + 40
    top = max((r["total"] for r in rows), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart{chart_id}t" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart{chart_id}t">{escape(title)}</title>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{PALETTE["missing"]}"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>',
    ]
    for i, r in enumerate(rows):
        y = 5 + i * row
        x = label_w
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12" fill="#1b1f24">{escape(r["school__name"][:30])}</text>'
        )
        for key, fill in (
            ("online", PALETTE["online"]),
            ("offline", PALETTE["offline"]),
            ("missing", "url(#hatch)"),
        ):
            w = (width - label_w - 50) * r[key] / top
            if w:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="16" fill="{fill}"><title>{escape(key)}: {r[key]}</title></rect>'
                )
            x += w
        parts.append(
            f'<text x="{x + 5:.1f}" y="{y + 15}" font-size="12" fill="#1b1f24">{r["online"]}/{r["total"]}</text>'
        )
    legend_y = height - 12
    for j, (label, fill) in enumerate(
        (
            ("en ligne", PALETTE["online"]),
            ("hors ligne", PALETTE["offline"]),
            ("disparu", "url(#hatch)"),
        )
    ):
        parts.append(
            f'<rect x="{label_w + j * 110}" y="{legend_y - 10}" width="12" height="12" fill="{fill}"/>'
        )
        parts.append(
            f'<text x="{label_w + j * 110 + 16}" y="{legend_y}" font-size="12" fill="#1b1f24">{label}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308


def line_chart(
    points: list[tuple[dt.datetime, float]],
    *,
    title: str,
    threshold: float | None = None,
    width: int = 560,
    height: int = 200,
    low: float = 50,
    high: float = 105,
) -> str:
    chart_id = next(_ids)
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="chart{chart_id}t" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart{chart_id}t">{escape(title)}</title>',
    ]
    left, right, top, bottom = 40, 10, 10, 25
    if not points:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" font-size="13">—</text></svg>'
        )
        return mark_safe("".join(parts))  # noqa: S308
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (t1 - t0) or 1

    def xy(t, v):
        x = left + (width - left - right) * (t.timestamp() - t0) / span
        y = top + (height - top - bottom) * (high - max(low, min(v, high))) / (high - low)
        return x, y

    for tick in range(int(low), int(high) + 1, 10):
        _x, y = xy(points[0][0], tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{tick}</text>'
        )
    if threshold is not None:
        _x, y = xy(points[0][0], threshold)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#a11d1d" stroke-dasharray="5 4"/>'
        )
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(t, v) for t, v in points))
    parts.append(f'<polyline fill="none" stroke="#0b4f9c" stroke-width="2" points="{path}"/>')
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="11">{points[0][0]:%d/%m/%Y}</text>')
    parts.append(
        f'<text x="{width - right}" y="{height - 6}" text-anchor="end" font-size="11">{points[-1][0]:%d/%m/%Y}</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308
