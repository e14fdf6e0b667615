"""Input fields and checks shared by the canteen and services endpoints."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from backend.core.exceptions import ApplicationError

from .deadlines import monday_of


class BoundedDateField(serializers.DateField):
    """A date between 2000 and 2100: anything else is a typing mistake, answered with a 400."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
            raise serializers.ValidationError(_("Date hors limites (2000–2100)."))
        return day


MAX_RANGE_DAYS = 400


def _range(
    start: dt.date | None, end: dt.date | None, *, default_days: int = 6
) -> tuple[dt.date, dt.date]:
    start = start or monday_of(timezone.localdate())
    end = end or start + dt.timedelta(days=default_days)
    if end < start:
        raise ApplicationError(_("La date de fin précède la date de début."))
    if (end - start).days > MAX_RANGE_DAYS:
        raise ApplicationError(
            _("Période trop longue : %(n)s jours au plus.") % {"n": MAX_RANGE_DAYS}
        )
    return start, end


class MonthFilter(serializers.Serializer):
    """``?month=YYYY-MM`` of the month calendars (this month when absent)."""

    month = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", required=False, help_text="YYYY-MM")


def month_from_query(query_params: object) -> tuple[int, int, str]:
    """(year, month, "YYYY-MM") asked by a month calendar; 400 with a message when out of range."""
    params = MonthFilter(data=query_params)
    params.is_valid(raise_exception=True)
    month = params.validated_data.get("month") or timezone.localdate().strftime("%Y-%m")
    year, mon = (int(x) for x in month.split("-"))
    if not 2000 <= year <= 2100:
        raise ApplicationError(_("Mois hors limites."))
    return year, mon, month
