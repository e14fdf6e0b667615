from __future__ import annotations

import datetime as dt

from django.db.models import Q

from .models import CalendarClosure, Household, IncomeAssessment, School, SchoolYear


def school_year_for_date(*, day: dt.date) -> SchoolYear | None:
    return SchoolYear.objects.filter(start_date__lte=day, end_date__gte=day).first()


def closed_days(*, school: School | None, start: dt.date, end: dt.date) -> dict[dt.date, CalendarClosure]:
    """Every day in [start, end] on which ``school`` (or every school) is closed, with why."""
    closures = CalendarClosure.objects.filter(start_date__lte=end, end_date__gte=start)
    closures = closures.filter(Q(school__isnull=True) | Q(school=school)) if school else closures.filter(
        school__isnull=True
    )
    days: dict[dt.date, CalendarClosure] = {}
    for closure in closures:
        day = max(closure.start_date, start)
        while day <= min(closure.end_date, end):
            days.setdefault(day, closure)
            day += dt.timedelta(days=1)
    return days


def household_income_assessment(*, household: Household, day: dt.date) -> IncomeAssessment | None:
    """The validated assessment in force on ``day``, if any."""
    return (
        IncomeAssessment.objects.filter(
            household=household,
            status=IncomeAssessment.Status.VALIDATED,
            valid_from__lte=day,
            valid_until__gte=day,
        )
        .order_by("-valid_from")
        .first()
    )
