"""Home-page panels of the payments app (see backend/core/homes.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from backend.core.access import is_city_admin, is_parent
from backend.core.homes import Panel

from .selectors import amount_due_for_user, format_cents, unpaid_by_month


def panels(user) -> list[Panel]:
    if is_parent(user):
        due = amount_due_for_user(user=user)
        pay_url = ""
        if due["invoices"]:
            query = urlencode([("invoice", i.pk) for i in due["invoices"]])
            pay_url = f"{reverse('payments:pay')}?{query}"
        return [Panel("payments/home/parent.html", {**due, "pay_url": pay_url}, order=10)]
    if is_city_admin(user):
        from backend.core.charts import bar_chart

        frame = unpaid_by_month()
        rows = [
            {
                "period": r.period,
                "unpaid": format_cents(int(r.unpaid_cents)),
                "invoices": int(r.invoices),
                "reminders": int(r.reminders),
            }
            for r in frame.itertuples()
        ]
        chart = bar_chart(
            [
                (r.period.strftime("%m/%Y"), round(int(r.unpaid_cents) / 100))
                for r in frame.itertuples()
            ],
            title=_("Impayés par mois de facturation (euros)"),
            unit=" €",
        )
        total = format_cents(int(frame["unpaid_cents"].sum())) if len(frame) else format_cents(0)
        return [
            Panel(
                "payments/home/admin.html",
                {"rows": rows, "chart": chart, "total": total},
                order=30,
            )
        ]
    return []
