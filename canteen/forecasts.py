"""Kitchen forecasts and attendance reports with pandas; CSV / XLSX export and SVG charts.

The database does the counting (one GROUP BY); pandas shapes, pivots and exports the result.
"""

from __future__ import annotations

import datetime as dt
from html import escape

import pandas as pd
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from backend.core.exports import frame_to_csv, frames_to_xlsx
from family.models import School

from .models import AttendanceRecord, Booking, Variant

FORECAST_COLUMNS = ["school_id", "school_code", "school", "day", "variant", "meals"]
VARIANT_LABELS = {v.value: str(v.label) for v in Variant}


def forecast_rows(
    *, start: dt.date, end: dt.date, school_ids: list[int] | None = None
) -> list[dict]:
    """Booked meals per site, day and variant in [start, end]: canteen meals at the child's school
    and the meals included in other units (a holiday-centre day with lunch) at the service's site.
    Two grouped queries and the schools' names; rows sorted by day, school and variant. Plain
    rows: the forecast API answers from them (a DataFrame costs more than the counting for a
    few schools); :func:`meal_forecast` makes the frame the exports pivot."""
    qs = Booking.objects.filter(
        day__gte=start, day__lte=end, status=Booking.Status.BOOKED, unit__includes_meal=True
    )
    at_school = qs.filter(service__site__isnull=True)
    at_site = qs.filter(service__site__isnull=False)
    if school_ids is not None:
        at_school = at_school.filter(child__school_id__in=school_ids)
        at_site = at_site.filter(service__site_id__in=school_ids)
    counts: dict[tuple, int] = {}
    for site_field, part in (("child__school_id", at_school), ("service__site_id", at_site)):
        for site, day, variant, n in (
            part.values_list(site_field, "day", "variant").annotate(meals=Count("id")).order_by()
        ):
            counts[(site, day, variant)] = counts.get((site, day, variant), 0) + n
    schools = {
        sid: (code, name)
        for sid, code, name in School.objects.filter(
            id__in={site for site, _day, _variant in counts}
        ).values_list("id", "code", "name")
    }
    rows = [
        {
            "school_id": site,
            "school_code": schools.get(site, ("", ""))[0],
            "school": schools.get(site, ("", ""))[1],
            "day": day,
            "variant": variant,
            "meals": int(n),
        }
        for (site, day, variant), n in counts.items()
    ]
    rows.sort(key=lambda r: (r["day"], r["school"], r["variant"]))
    return rows


def meal_forecast(
    *, start: dt.date, end: dt.date, school_ids: list[int] | None = None
) -> pd.DataFrame:
    """:func:`forecast_rows` as a DataFrame (columns :data:`FORECAST_COLUMNS`)."""
    rows = forecast_rows(start=start, end=end, school_ids=school_ids)
    return pd.DataFrame(rows, columns=FORECAST_COLUMNS)


def forecast_pivot(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per school and day, one column per variant, plus the total."""
    if frame.empty:
        return pd.DataFrame(
            columns=["day", "school_code", "school", *VARIANT_LABELS.values(), _("Total")]
        )
    pivot = frame.pivot_table(
        index=["day", "school_code", "school"],
        columns="variant",
        values="meals",
        aggfunc="sum",
        fill_value=0,
    )
    pivot = pivot.reindex(columns=list(VARIANT_LABELS), fill_value=0).rename(columns=VARIANT_LABELS)
    pivot[_("Total")] = pivot.sum(axis=1)
    return pivot.reset_index().rename(
        columns={"day": _("Jour"), "school_code": _("Code"), "school": _("École")}
    )


def attendance_report(
    *, start: dt.date, end: dt.date, school_ids: list[int] | None = None
) -> pd.DataFrame:
    """Per school and ISO week: booked meals, presences, absences, attendance and no-show rates
    (canteen rolls)."""
    qs = AttendanceRecord.objects.filter(day__gte=start, day__lte=end, service__kind="canteen")
    if school_ids is not None:
        qs = qs.filter(roll__school_id__in=school_ids)
    S = AttendanceRecord.Status
    rows = list(
        qs.values_list("roll__school_id", "day")
        .annotate(
            present=Count("id", filter=Q(status=S.PRESENT)),
            unbooked=Count("id", filter=Q(status=S.PRESENT_UNBOOKED)),
            absent_justified=Count("id", filter=Q(status=S.ABSENT_JUSTIFIED)),
            absent_unjustified=Count("id", filter=Q(status=S.ABSENT_UNJUSTIFIED)),
        )
        .order_by()
    )
    cols = ["school_id", "day", "present", "unbooked", "absent_justified", "absent_unjustified"]
    frame = pd.DataFrame(rows, columns=cols)
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "school",
                "week",
                "booked",
                "present",
                "unbooked",
                "absent_justified",
                "absent_unjustified",
                "attendance_rate",
                "no_show_rate",
            ]
        )
    frame["week"] = frame["day"].map(lambda d: f"{d.isocalendar()[0]}-S{d.isocalendar()[1]:02d}")
    weekly = frame.groupby(["school_id", "week"], as_index=False)[cols[2:]].sum()
    weekly["booked"] = weekly["present"] + weekly["absent_justified"] + weekly["absent_unjustified"]
    booked = weekly["booked"].where(weekly["booked"] > 0)
    weekly["attendance_rate"] = (weekly["present"] / booked).fillna(0).round(3)
    weekly["no_show_rate"] = (weekly["absent_unjustified"] / booked).fillna(0).round(3)
    names = dict(School.objects.filter(id__in=set(weekly["school_id"])).values_list("id", "name"))
    weekly["school"] = weekly["school_id"].map(names)
    return (
        weekly[
            [
                "school",
                "week",
                "booked",
                "present",
                "unbooked",
                "absent_justified",
                "absent_unjustified",
                "attendance_rate",
                "no_show_rate",
            ]
        ]
        .sort_values(["week", "school"])
        .reset_index(drop=True)
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV through the one safe export helper (a child named ``=HYPERLINK(...)`` stays text)."""
    return frame_to_csv(frame)


def to_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    return frames_to_xlsx(sheets)


def svg_bar_chart(*, title: str, bars: list[tuple[str, int]], width: int = 640) -> str:
    """A small accessible horizontal bar chart (title, desc, and the numbers written on the bars)."""
    bar_h, gap, left = 22, 8, 220
    height = 40 + len(bars) * (bar_h + gap)
    top = max((v for _l, v in bars), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">'
        + escape("; ".join(f"{label} : {value}" for label, value in bars))
        + "</desc>",
    ]
    for i, (label, value) in enumerate(bars):
        y = 30 + i * (bar_h + gap)
        w = int((width - left - 60) * value / top)
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="13" fill="#1d2433">{escape(label[:32])}</text>'
            f'<rect x="{left}" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="#1f5fa8"></rect>'
            f'<text x="{left + w + 6}" y="{y + 16}" font-size="13" fill="#1d2433">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def kitchen_frame(kitchen, *, day: dt.date) -> pd.DataFrame:
    """The PAI and allergy list of each school as one table (for the spreadsheet export)."""
    rows = [
        {
            "day": day.isoformat(),
            "school": school.name,
            "child": e.name,
            "class": e.class_name,
            "allergies": ", ".join(e.allergies),
            "pai": _("oui") if e.has_pai else _("non"),
            "variant": e.variant,
            "action": e.action,
        }
        for school, entries in kitchen
        for e in entries
    ]
    return pd.DataFrame(
        rows, columns=["day", "school", "child", "class", "allergies", "pai", "variant", "action"]
    )


# --- daily services: children per service, site and day, with the staff they need -------------
# Accueils collectifs de mineurs (Code de l'action sociale et des familles, art. R227-16): children
# per adult, by age, in school time (périscolaire: care, study, Wednesdays) and out of it
# (extrascolaire: holidays). See docs/services.md.
RATIOS = {
    False: (10, 14),  # périscolaire: under 6, from 6
    True: (8, 12),  # extrascolaire
}


def staff_needed(*, under_six: int, from_six: int, extrascolaire: bool) -> int:
    """Adults needed for a mixed group: each child takes 1/10 (1/8) or 1/14 (1/12) of an adult.

    >>> staff_needed(under_six=10, from_six=14, extrascolaire=False)
    2
    """
    if under_six + from_six == 0:
        return 0
    young, old = RATIOS[extrascolaire]
    # integer ceiling of under_six/young + from_six/old
    return -(-(under_six * old + from_six * young) // (young * old))


SERVICE_FORECAST_COLUMNS = [
    "service",
    "service_name",
    "site_id",
    "site",
    "day",
    "children",
    "under_six",
    "from_six",
    "staff",
    "waiting",
]


def service_forecast(
    *, start: dt.date, end: dt.date, school_ids: list[int] | None = None
) -> pd.DataFrame:
    """Booked children per service, site and day, split by age (under 6 on the day or not), the
    adults the ratio requires and the waiting list. The canteen is left out (see the kitchen
    forecast). Two queries."""
    from .models import Service

    qs = (
        Booking.objects.filter(
            day__gte=start,
            day__lte=end,
            status__in=[Booking.Status.BOOKED, Booking.Status.WAITING],
        )
        .exclude(service__kind=Service.Kind.CANTEEN)
        .values_list(
            "service_id",
            "service__code",
            "service__name",
            "service__kind",
            "service__site_id",
            "child__school_id",
            "day",
            "child__birth_date",
            "status",
        )
    )
    if school_ids is not None:
        qs = qs.filter(
            Q(service__site_id__in=school_ids)
            | Q(service__site__isnull=True, child__school_id__in=school_ids)
        )
    groups: dict[tuple, dict] = {}
    for _sid, code, name, kind, site_id, school_id, day, birth, state in qs.iterator(
        chunk_size=20000
    ):
        site = site_id or school_id
        row = groups.setdefault(
            (code, site, day),
            {"name": name, "extra": kind == Service.Kind.HOLIDAY_CENTRE, "u": 0, "o": 0, "w": 0},
        )
        if state == Booking.Status.WAITING:
            row["w"] += 1
            continue
        age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
        row["u" if age < 6 else "o"] += 1
    names = dict(
        School.objects.filter(id__in={site for _c, site, _d in groups}).values_list("id", "name")
    )
    rows = [
        (
            code,
            g["name"],
            site,
            names.get(site, ""),
            day,
            g["u"] + g["o"],
            g["u"],
            g["o"],
            staff_needed(under_six=g["u"], from_six=g["o"], extrascolaire=g["extra"]),
            g["w"],
        )
        for (code, site, day), g in groups.items()
    ]
    frame = pd.DataFrame(rows, columns=SERVICE_FORECAST_COLUMNS)
    return frame.sort_values(["day", "service", "site"]).reset_index(drop=True)
