"""French calendars from real data: public holidays from the ``holidays`` library, school
holidays by zone from the dataset shipped in family/data."""

import datetime as dt

import pytest
from django.core.management import call_command

from canteen.deadlines import Rule, SchoolCalendar, deadline_for
from family.demo import seed_school_year
from family.models import CalendarClosure, SchoolYear
from family.services.calendars import (
    public_holidays,
    school_calendar_load,
    school_holidays_dataset,
    school_holidays_parse,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def year():
    return SchoolYear.objects.create(
        label="2026-2027", start_date=dt.date(2026, 9, 1), end_date=dt.date(2027, 7, 2)
    )


def closures(year, kind):
    return {
        c.start_date: c
        for c in CalendarClosure.objects.filter(school_year=year, kind=kind, school=None)
    }


def test_public_holidays_are_the_real_ones(year):
    school_calendar_load(actor=None, school_year=year, zone="C")
    days = closures(year, "public_holiday")
    assert days[dt.date(2027, 3, 29)].label == "Lundi de Pâques"
    assert dt.date(2027, 3, 29).weekday() == 0
    assert dt.date(2026, 12, 25) in days
    assert dt.date(2027, 1, 1) in days
    assert dt.date(2027, 5, 6) in days
    assert dt.date(2027, 5, 17) in days
    assert dt.date(2027, 3, 26) not in days  # Good Friday only in Alsace-Moselle


def test_alsace_moselle_adds_good_friday_and_saint_stephen():
    days = dict(
        public_holidays(start=dt.date(2026, 9, 1), end=dt.date(2027, 7, 2), alsace_moselle=True)
    )
    assert days[dt.date(2027, 3, 26)] == "Vendredi saint"
    assert dt.date(2026, 12, 26) in days


def test_school_holidays_by_zone_and_idempotent(year):
    school_calendar_load(actor=None, school_year=year, zone="A")
    school_calendar_load(actor=None, school_year=year, zone="A")
    holidays_ = closures(year, "holiday")
    winter = holidays_[dt.date(2027, 2, 13)]
    assert (winter.label, winter.end_date) == ("Vacances d'hiver", dt.date(2027, 2, 28))
    assert closures(year, "day_off")[dt.date(2027, 5, 7)].label == "Pont de l'Ascension"
    assert CalendarClosure.objects.filter(school_year=year).count() == len(
        set(CalendarClosure.objects.filter(school_year=year).values_list("label", "start_date"))
    )


def test_no_deadline_falls_on_new_year_day(year):
    """Was "annulable jusqu'au vendredi 01/01/2027" in the demo."""
    school_calendar_load(actor=None, school_year=year, zone="C")
    calendar = SchoolCalendar.load(school=None, start=dt.date(2027, 1, 4), end=dt.date(2027, 1, 8))
    deadline = deadline_for(dt.date(2027, 1, 4), Rule(days_before=1), calendar)
    assert deadline.date() != dt.date(2027, 1, 1)
    assert deadline.date() == dt.date(2026, 12, 31)


def test_demo_year_uses_the_dataset(db):
    year = seed_school_year(dt.date(2026, 11, 29))
    labels = set(CalendarClosure.objects.filter(school_year=year).values_list("label", flat=True))
    assert {"Lundi de Pâques", "Jour de l'an", "Noël", "Vacances de Noël"} <= labels
    easter = CalendarClosure.objects.get(school_year=year, label="Lundi de Pâques")
    assert easter.start_date == dt.date(2027, 3, 29)


def test_official_export_is_understood(year, tmp_path):
    official = (
        "Description;Population;Date de début;Date de fin;Académies;Zones;annee_scolaire\n"
        "Vacances d'Hiver;-;2027-02-05T23:00:00+00:00;2027-02-21T23:00:00+00:00;Paris;Zone C;2026-2027\n"
        "Vacances d'Hiver;Enseignants;2027-02-05T23:00:00+00:00;2027-02-21T23:00:00+00:00;Paris;Zone C;2026-2027\n"
        "Vacances d'Été;-;2027-07-02T22:00:00+00:00;2027-08-31T22:00:00+00:00;Paris;Zone C;2026-2027\n"
    )
    rows = school_holidays_parse(official)
    assert [(r.zone, r.start, r.resume) for r in rows] == [
        ("C", dt.date(2027, 2, 6), dt.date(2027, 2, 22))
    ]
    path = tmp_path / "export.csv"
    path.write_text(official, encoding="utf-8")
    call_command("school_calendar_import", "--file", str(path), "--zone", "C", "--dry-run")
    assert not CalendarClosure.objects.exists()
    call_command("school_calendar_import", "--file", str(path), "--zone", "C")
    assert CalendarClosure.objects.filter(label="Vacances d'Hiver").count() == 1


SHIPPED_YEARS = ("2024-2025", "2025-2026", "2026-2027", "2027-2028")


def test_shipped_dataset_covers_three_zones_each_year():
    rows = school_holidays_dataset()
    for label in SHIPPED_YEARS:
        assert {r.zone for r in rows if r.school_year == label} == {"A", "B", "C"}
    days_off = {
        day for day, _ in public_holidays(start=dt.date(2024, 8, 1), end=dt.date(2028, 8, 31))
    }
    for r in rows:
        assert r.start.weekday() in (4, 5), r
        # Classes resume on a Monday, or the Tuesday when that Monday is a public holiday.
        monday = r.resume - dt.timedelta(days=r.resume.weekday())
        assert r.resume == monday or (
            r.resume == monday + dt.timedelta(days=1) and monday in days_off
        ), r


def _independent_dataset():
    """The same ministry data, day by day, as packaged by the ``vacances-scolaires-france``
    project (dev dependency): {(zone, day)} of school-holiday days outside summer."""
    import csv
    import importlib.resources

    text = importlib.resources.files("vacances_scolaires_france").joinpath("data/data.csv")
    flagged = set()
    for line in csv.DictReader(text.read_text(encoding="utf-8").splitlines()):
        if "été" in line["nom_vacances"]:
            continue
        for zone in "ABC":
            if line[f"vacances_zone_{zone.lower()}"] == "True":
                flagged.add((zone, dt.date.fromisoformat(line["date"])))
    return flagged


def test_shipped_dataset_agrees_day_by_day_with_an_independent_copy_of_the_ministry_data():
    rows = school_holidays_dataset()
    independent = _independent_dataset()
    days_off = {
        day for day, _ in public_holidays(start=dt.date(2024, 8, 1), end=dt.date(2028, 8, 31))
    }

    def school_days(start, end):
        day = start
        while day < end:
            if day.weekday() < 5 and day not in days_off:
                yield day
            day += dt.timedelta(days=1)

    shipped = set()
    for r in rows:
        for day in school_days(r.start, r.resume):
            shipped.add((r.zone, day))
    # The independent copy leaves out the Ascension bridge of some years; every other weekday
    # must agree both ways.
    bridges = {
        (r.zone, d) for r in rows if "Ascension" in r.label for d in school_days(r.start, r.resume)
    }
    first, last = min(r.start for r in rows), max(r.resume for r in rows)
    independent = {
        (z, d)
        for z, d in independent
        if first <= d < last and d.weekday() < 5 and d not in days_off
    }
    assert shipped - bridges == independent - bridges
    assert independent - shipped == set()


def test_bad_file_is_refused_whole():
    with pytest.raises(Exception, match="Ligne 2"):
        school_holidays_parse(
            "annee_scolaire,zone,description,debut,reprise\n2026-2027,A,X,demain,2027-01-01\n"
        )
