"""Load a school year's closures: French public holidays and the zone's school holidays.

manage.py school_calendar_import                       # every school year, shipped dataset
manage.py school_calendar_import --file export.csv     # the Ministry's official export
manage.py school_calendar_import --year 2027-2028 --zone B --alsace-moselle --dry-run
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backend.core.exceptions import ApplicationError
from family.models import SchoolYear
from family.services.calendars import school_calendar_load, school_holidays_parse


class Command(BaseCommand):
    help = (
        "Charge les jours fériés et les vacances scolaires (zone A, B ou C) des années scolaires."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, help="CSV du jeu de données ou export officiel")
        parser.add_argument("--year", help="année scolaire, ex. 2026-2027 (défaut : toutes)")
        parser.add_argument("--zone", help="A, B ou C (défaut : réglage MINOT_SCHOOL_ZONE)")
        parser.add_argument("--alsace-moselle", action="store_true", default=None)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        try:
            rows = (
                school_holidays_parse(options["file"].read_text(encoding="utf-8"))
                if options["file"]
                else None
            )
            years = SchoolYear.objects.order_by("start_date")
            if options["year"]:
                years = years.filter(label=options["year"])
                if not years.exists():
                    raise CommandError(f"Année scolaire inconnue : {options['year']}")
            for year in years:
                report = school_calendar_load(
                    actor=None,
                    school_year=year,
                    zone=options["zone"],
                    alsace_moselle=options["alsace_moselle"],
                    rows=rows,
                    dry_run=options["dry_run"],
                )
                self.stdout.write(
                    f"{report.school_year} zone {report.zone}: {report.public_holidays} jours "
                    f"fériés, {report.school_holidays} périodes de vacances, "
                    f"{report.created} fermeture(s) {'à créer' if options['dry_run'] else 'créée(s)'}"
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc
