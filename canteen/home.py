"""Home-page panels of the canteen app (see backend/core/homes.py)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from backend.core.access import is_city_admin, is_parent, is_staff_or_admin
from backend.core.homes import Panel

from .permissions import staff_schools, visible_children
from .selectors import child_home_summary, rolls_today


def panels(user) -> list[Panel]:
    today = timezone.localdate()
    if is_parent(user):
        children = visible_children(user).select_related("school", "household")
        summaries = [child_home_summary(child=c, today=today) for c in children if c.school_id]
        return [
            Panel("canteen/home/parent.html", {"children": summaries, "today": today}, order=30)
        ]
    if not is_staff_or_admin(user):
        return []
    if is_city_admin(user):
        return [Panel("canteen/home/admin.html", city_canteen(today=today), order=25)]
    schools = staff_schools(user)
    return [
        Panel(
            "canteen/home/staff.html",
            {
                "rolls": rolls_today(schools=schools, day=today),
                "today": today,
                "school_day": today.weekday() < 5,
            },
            order=5,
        )
    ]


def city_canteen(*, today: dt.date) -> dict:
    """City dashboard: attendance of the last four weeks and meals booked for the next five days."""
    from backend.core.charts import bar_chart

    from .forecasts import attendance_report, meal_forecast

    report = attendance_report(start=today - dt.timedelta(days=28), end=today)
    weekly = []
    if len(report):
        grouped = report.groupby("week", as_index=False)[["booked", "present"]].sum()
        for row in grouped.itertuples():
            rate = round(100 * row.present / row.booked) if row.booked else 0
            weekly.append(
                {
                    "week": row.week,
                    "booked": int(row.booked),
                    "present": int(row.present),
                    "rate": rate,
                }
            )
    forecast = meal_forecast(start=today, end=today + dt.timedelta(days=7))
    by_day = (
        forecast.groupby("day")["meals"].sum().head(5)
        if len(forecast)
        else forecast.get("meals", [])
    )
    days = [(d, int(n)) for d, n in (by_day.items() if len(forecast) else [])]
    chart = bar_chart(
        [(d.strftime("%d/%m"), n) for d, n in days], title=_("Repas réservés, prochains jours")
    )
    return {"weekly": weekly, "days": days, "chart": chart}
