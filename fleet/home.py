"""Home-page panel of the fleet app for the city administrator (see backend/core/homes.py).
The technician's home is unchanged: the fleet dashboard is one click away in the header."""

from __future__ import annotations

from django.utils.translation import gettext as _

from backend.core.access import is_city_admin
from backend.core.charts import bar_chart
from backend.core.homes import Panel

from .selectors import battery_health_distribution, fleet_totals


def panels(user) -> list[Panel]:
    if not is_city_admin(user):
        return []
    chart = bar_chart(battery_health_distribution(), title=_("Santé des batteries"))
    return [Panel("fleet/home/admin.html", {"totals": fleet_totals(), "chart": chart}, order=40)]
