"""Home-page panels of the family app (see backend/core/homes.py)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from backend.core.access import is_city_admin, is_parent
from backend.core.homes import Panel

from . import permissions as perms
from .selectors import (
    applications_needing_action,
    registrations_by_state_and_school,
    staff_work_summary,
)


def panels(user) -> list[Panel]:
    if is_parent(user):
        rows = applications_needing_action(applications=perms.applications_for_user(user))
        return [Panel("family/home/parent.html", {"rows": rows}, order=20)]
    if not perms.is_family_staff(user):
        return []
    summary = staff_work_summary(
        applications=perms.applications_for_user(user),
        documents=perms.documents_for_user(user),
    )
    found = [Panel("family/home/staff.html", summary, order=10)]
    if is_city_admin(user):
        from backend.core.charts import bar_chart

        frame = registrations_by_state_and_school()
        columns = [c for c in frame.columns if c not in ("school", "total")]
        chart = bar_chart(
            [(c, int(frame[c].sum())) for c in columns],
            title=_("Demandes d'inscription par état"),
        )
        rows = [
            {
                "school": r["school"],
                "counts": [int(r[c]) for c in columns],
                "total": int(r["total"]),
            }
            for r in frame.to_dict(orient="records")
        ]
        found.append(
            Panel(
                "family/home/admin.html",
                {"columns": columns, "rows": rows[:15], "chart": chart, "schools": len(rows)},
                order=20,
            )
        )
    return found
