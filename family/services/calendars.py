"""French school calendars from real data.

Public holidays come from the ``holidays`` library (France; Alsace-Moselle adds Good Friday and
26 December). School holidays per zone (A, B, C) come from a dataset file shipped in the repo,
``family/data/vacances_scolaires.csv``, built from the Ministry of Education's open dataset
"Calendrier scolaire" (fr-en-calendrier-scolaire); the official export can be imported as is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import holidays
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from backend.core.exceptions import ApplicationError

from ..models import CalendarClosure, SchoolYear
from .common import audit

DATASET = Path(__file__).resolve().parent.parent / "data" / "vacances_scolaires.csv"
ZONES = ("A", "B", "C")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def default_zone() -> str:
    return getattr(settings, "MINOT_SCHOOL_ZONE", "C")


def default_alsace_moselle() -> bool:
    return bool(getattr(settings, "MINOT_ALSACE_MOSELLE", False))


@dataclass(frozen=True)
class HolidayRow:
    school_year: str  # "2026-2027"
    zone: str  # A | B | C
    label: str
    start: dt.date  # first day without school
    resume: dt.date  # the morning classes resume

    @property
    def last_day(self) -> dt.date:
        return self.resume - dt.timedelta(days=1)


def _official_date(text: str) -> dt.date:
    """The official export writes midnight Paris time in UTC ("2025-10-17T23:00:00+00:00")."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        return value.date()
    return value.astimezone(PARIS).date()


def school_holidays_parse(content: str) -> list[HolidayRow]:
    """Read the shipped dataset (``annee_scolaire,zone,description,debut,reprise``) or the
    official export of fr-en-calendrier-scolaire (semicolon separated, ``Description``,
    ``Population``, ``Date de début``, ``Date de fin``, ``Zones``, ``annee_scolaire``).
    Summer holidays are left out (they are outside school years). All or nothing."""
    content = content.lstrip("\ufeff")
    first = content.splitlines()[0] if content.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
    official = "Date de début" in (reader.fieldnames or [])
    rows: set[HolidayRow] = set()
    for number, line in enumerate(reader, start=2):
        try:
            if official:
                if (line.get("Population") or "-").strip() not in ("-", "Élèves", ""):
                    continue
                zone = (line.get("Zones") or "").replace("Zone", "").strip()
                label = (line.get("Description") or "").strip()
                start = _official_date(line["Date de début"])
                resume = _official_date(line["Date de fin"])
                year = (line.get("annee_scolaire") or "").strip()
            else:
                zone = (line.get("zone") or "").strip()
                label = (line.get("description") or "").strip()
                start = dt.date.fromisoformat((line.get("debut") or "").strip())
                resume = dt.date.fromisoformat((line.get("reprise") or "").strip())
                year = (line.get("annee_scolaire") or "").strip()
        except (KeyError, ValueError, TypeError):
            raise ApplicationError(
                _("Ligne %(n)s : date illisible (AAAA-MM-JJ attendu).") % {"n": number}
            )
        if zone not in ZONES or "été" in label.lower() or "rentrée" in label.lower():
            continue
        if not label or len(year) != 9 or resume <= start:
            raise ApplicationError(
                _("Ligne %(n)s : année scolaire, libellé ou dates invalides.") % {"n": number}
            )
        rows.add(HolidayRow(year, zone, label, start, resume))
    if not rows:
        raise ApplicationError(_("Aucune période de vacances des zones A, B ou C dans ce fichier."))
    return sorted(rows, key=lambda r: (r.school_year, r.zone, r.start))


def school_holidays_dataset(path: Path | None = None) -> list[HolidayRow]:
    return school_holidays_parse((path or DATASET).read_text(encoding="utf-8"))


def public_holidays(
    *, start: dt.date, end: dt.date, alsace_moselle: bool = False
) -> list[tuple[dt.date, str]]:
    """French public holidays in [start, end], named in French, from the ``holidays`` library."""
    calendar = holidays.France(
        years=range(start.year, end.year + 1),
        subdiv="57" if alsace_moselle else None,
        language="fr",
    )
    return sorted((day, name) for day, name in calendar.items() if start <= day <= end)


@dataclass
class CalendarLoadReport:
    school_year: str
    zone: str
    public_holidays: int
    school_holidays: int
    created: int

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def school_calendar_load(
    *,
    actor,
    school_year: SchoolYear,
    zone: str | None = None,
    alsace_moselle: bool | None = None,
    rows: list[HolidayRow] | None = None,
    dry_run: bool = False,
) -> CalendarLoadReport:
    """Write the city-wide closures of a school year: public holidays on school days and the
    zone's school holidays. Idempotent (a closure is found again by year, kind, label and first
    day); closures entered by hand are left alone."""
    zone = (zone or default_zone()).upper()
    if zone not in ZONES:
        raise ApplicationError(_("Zone de vacances inconnue : %(z)s (A, B ou C).") % {"z": zone})
    am = default_alsace_moselle() if alsace_moselle is None else alsace_moselle
    rows = school_holidays_dataset() if rows is None else rows
    mine = [r for r in rows if r.school_year == school_year.label and r.zone == zone]
    wanted: list[tuple[str, str, dt.date, dt.date]] = []
    for day, name in public_holidays(
        start=school_year.start_date, end=school_year.end_date, alsace_moselle=am
    ):
        wanted.append((CalendarClosure.Kind.PUBLIC_HOLIDAY, name, day, day))
    for row in mine:
        kind = (
            CalendarClosure.Kind.DAY_OFF
            if row.label.lower().startswith("pont")
            else CalendarClosure.Kind.HOLIDAY
        )
        wanted.append((kind, row.label, row.start, row.last_day))
    created = 0
    with transaction.atomic():
        for closure_kind, label, start, end in wanted:
            if dry_run:
                created += not CalendarClosure.objects.filter(
                    school_year=school_year,
                    school=None,
                    kind=closure_kind,
                    label=label,
                    start_date=start,
                ).exists()
                continue
            _closure, was_created = CalendarClosure.objects.update_or_create(
                school_year=school_year,
                school=None,
                kind=closure_kind,
                label=label,
                start_date=start,
                defaults={"end_date": end},
            )
            created += was_created
        report = CalendarLoadReport(
            school_year.label, zone, len(wanted) - len(mine), len(mine), created
        )
        if not dry_run:
            audit(
                action="family.calendar.load",
                actor=actor,
                target=school_year,
                household_id=None,
                data=report.as_dict(),
                family_side=False,
            )
    return report
