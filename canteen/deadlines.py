"""School days, working days and change deadlines (J-n working days at a cut-off time).

Pure logic over a ``SchoolCalendar`` loaded with a constant number of queries, so a month view,
a bulk booking over a term and the property tests all use the same code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from family.models import CalendarClosure, School, SchoolYear

from .models import DeadlineRule, Service

DAY = dt.timedelta(days=1)
LOOKBACK_DAYS = 45  # closures loaded before the first day, for deadlines counted back over holidays

PUBLIC_HOLIDAY_KINDS = frozenset({CalendarClosure.Kind.PUBLIC_HOLIDAY})
SCHOOL_HOLIDAY_KINDS = frozenset({CalendarClosure.Kind.HOLIDAY, CalendarClosure.Kind.DAY_OFF})


@dataclass(frozen=True)
class Rule:
    """A deadline rule as plain values (tests and services share it)."""

    days_before: int = 2
    cutoff_time: dt.time = dt.time(10, 0)
    skip_weekends: bool = True
    skip_public_holidays: bool = True
    skip_school_holidays: bool = False

    @classmethod
    def from_model(cls, rule: DeadlineRule) -> Rule:
        return cls(
            days_before=rule.days_before,
            cutoff_time=rule.cutoff_time,
            skip_weekends=rule.skip_weekends,
            skip_public_holidays=rule.skip_public_holidays,
            skip_school_holidays=rule.skip_school_holidays,
        )


@dataclass(frozen=True)
class Rules:
    book: Rule
    cancel: Rule


def deadline_rules(service_id: int | None = None) -> Rules:
    """A service's rules from the database (one query): its own rule for each action, else the
    city's default rule (no service), else the built-in default. Shared cache, else one query."""
    from .shared import cached

    return cached(
        "rules",
        (service_id,),
        lambda: rules_for_services([service_id]).get(service_id) or Rules(Rule(), Rule()),
    )


def rules_for_services(service_ids: Iterable[int | None]) -> dict[int | None, Rules]:
    """The rules of several services in one query (see :func:`deadline_rules`)."""
    wanted = {s for s in service_ids if s is not None}
    rows = DeadlineRule.objects.filter(Q(service__isnull=True) | Q(service_id__in=wanted))
    default: dict[str, Rule] = {}
    own: dict[int, dict[str, Rule]] = defaultdict(dict)
    for r in rows:
        if r.service_id is None:
            default[r.action] = Rule.from_model(r)
        else:
            own[r.service_id][r.action] = Rule.from_model(r)
    out: dict[int | None, Rules] = {}
    for service_id in set(service_ids):
        found = {**default, **own.get(service_id, {})} if service_id is not None else default
        out[service_id] = Rules(
            book=found.get(DeadlineRule.Action.BOOK, Rule()),
            cancel=found.get(DeadlineRule.Action.CANCEL, Rule()),
        )
    return out


class SchoolCalendar:
    """Closures and school years around a period, for one school (or city-wide when ``None``)."""

    def __init__(
        self,
        *,
        closures: dict[dt.date, list[tuple[str, str]]],
        years: list[tuple[dt.date, dt.date]],
        loaded_from: dt.date,
        loaded_until: dt.date,
        has_canteen: bool = True,
        loader: Callable[[dt.date, dt.date], dict[dt.date, list[tuple[str, str]]]] | None = None,
    ):
        self._closures = closures
        self._years = years
        self.loaded_from = loaded_from
        self.loaded_until = loaded_until
        self.has_canteen = has_canteen
        self._loader = loader

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, *, school: School | None, start: dt.date, end: dt.date) -> SchoolCalendar:
        def loader(lo: dt.date, hi: dt.date) -> dict[dt.date, list[tuple[str, str]]]:
            qs = CalendarClosure.objects.filter(start_date__lte=hi, end_date__gte=lo)
            qs = (
                qs.filter(Q(school__isnull=True) | Q(school=school))
                if school
                else qs.filter(school__isnull=True)
            )
            days: dict[dt.date, list[tuple[str, str]]] = defaultdict(list)
            for kind, label, c_start, c_end in qs.values_list(
                "kind", "label", "start_date", "end_date"
            ):
                day = max(c_start, lo)
                while day <= min(c_end, hi):
                    days[day].append((kind, label))
                    day += DAY
            return days

        from .shared import cached

        lo = start - dt.timedelta(days=LOOKBACK_DAYS)

        def load() -> tuple[dict, list]:
            years = list(
                SchoolYear.objects.filter(start_date__lte=end, end_date__gte=lo).values_list(
                    "start_date", "end_date"
                )
            )
            return dict(loader(lo, end)), years

        closures, years = cached("calendar", (school.pk if school else "city", lo, end), load)
        return cls(
            closures=defaultdict(list, closures),
            years=years,
            loaded_from=lo,
            loaded_until=end,
            has_canteen=school.has_canteen if school else True,
            loader=loader,
        )

    def _ensure(self, day: dt.date) -> None:
        if day >= self.loaded_from or self._loader is None:
            return
        lo = day - dt.timedelta(days=LOOKBACK_DAYS)
        more = self._loader(lo, self.loaded_from - DAY)
        for d, items in more.items():
            self._closures.setdefault(d, []).extend(items)
        self.loaded_from = lo

    # -- questions ---------------------------------------------------------------------------
    def closures_on(self, day: dt.date) -> list[tuple[str, str]]:
        self._ensure(day)
        return self._closures.get(day, [])

    def in_school_year(self, day: dt.date) -> bool:
        return any(s <= day <= e for s, e in self._years)

    def closed_reason(self, day: dt.date) -> str | None:
        """Why no meal is served that day, or ``None`` on a canteen day."""
        if not self.has_canteen:
            return _("Pas de restauration scolaire dans cette école")
        if day.weekday() >= 5:
            return _("Week-end")
        closures = self.closures_on(day)
        if closures:
            return closures[0][1]
        if not self.in_school_year(day):
            return _("Hors année scolaire")
        return None

    def service_closed_reason(self, service: Service, day: dt.date) -> str | None:
        """Why ``service`` is not open on ``day`` (``None`` when open).

        The canteen keeps its own rule (every school day of a school with a canteen). Care and
        study services open on school days, on their weekdays; Wednesday centres on the Wednesdays
        of the school period; holiday centres on the weekdays of school holidays (not on public
        holidays).
        """
        if service.kind == Service.Kind.CANTEEN:
            return self.closed_reason(day)
        if day.weekday() not in service.open_weekdays():
            return _("Service fermé ce jour de la semaine")
        kinds = {kind for kind, _label in self.closures_on(day)}
        if kinds & PUBLIC_HOLIDAY_KINDS:
            return self.closures_on(day)[0][1]
        if service.kind == Service.Kind.HOLIDAY_CENTRE:
            if CalendarClosure.Kind.HOLIDAY not in kinds:
                return _("Ouvert pendant les vacances scolaires seulement")
            return None
        if kinds - {CalendarClosure.Kind.NO_SERVICE}:
            return self.closures_on(day)[0][1]
        if not self.in_school_year(day):
            return _("Hors année scolaire")
        return None

    def is_working_day(self, day: dt.date, rule: Rule) -> bool:
        if rule.skip_weekends and day.weekday() >= 5:
            return False
        kinds = {kind for kind, _label in self.closures_on(day)}
        if rule.skip_public_holidays and kinds & PUBLIC_HOLIDAY_KINDS:
            return False
        if rule.skip_school_holidays and kinds & SCHOOL_HOLIDAY_KINDS:
            return False
        return True


def deadline_day(day: dt.date, rule: Rule, calendar: SchoolCalendar) -> dt.date:
    """The day whose cut-off time closes changes for ``day``: n working days before it."""
    current = day
    remaining = rule.days_before
    guard = 0
    while remaining > 0:
        current -= DAY
        guard += 1
        if guard > 3660:  # a calendar with no working day at all: give up safely (always closed)
            return dt.date.min + DAY
        if calendar.is_working_day(current, rule):
            remaining -= 1
    return current


def deadline_for(day: dt.date, rule: Rule, calendar: SchoolCalendar) -> dt.datetime:
    """The exact aware datetime until which ``day`` can be changed (exclusive)."""
    naive = dt.datetime.combine(deadline_day(day, rule, calendar), rule.cutoff_time)
    return timezone.make_aware(naive, timezone.get_current_timezone())


def is_open(day: dt.date, rule: Rule, calendar: SchoolCalendar, now: dt.datetime) -> bool:
    return now < deadline_for(day, rule, calendar)


WEEKDAYS = (
    gettext_lazy("lundi"),
    gettext_lazy("mardi"),
    gettext_lazy("mercredi"),
    gettext_lazy("jeudi"),
    gettext_lazy("vendredi"),
    gettext_lazy("samedi"),
    gettext_lazy("dimanche"),
)


def format_deadline(deadline: dt.datetime) -> str:
    local = timezone.localtime(deadline)
    return _("%(weekday)s %(date)s à %(time)s") % {
        "weekday": str(WEEKDAYS[local.weekday()]),  # one lookup, not seven
        "date": local.strftime("%d/%m/%Y"),
        "time": local.strftime("%H:%M"),
    }


def days_between(
    start: dt.date, end: dt.date, weekdays: Iterable[int] | None = None
) -> list[dt.date]:
    wanted = set(weekdays) if weekdays is not None else None
    days = []
    day = start
    while day <= end:
        if wanted is None or day.weekday() in wanted:
            days.append(day)
        day += DAY
    return days


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())
