from django.core.management.base import BaseCommand, CommandError

from family.services.imports import schools_import

from ._report import write_report


class Command(BaseCommand):
    help = (
        "Load the school directory from CSV (code, name, kind, address_line, postal_code, city, phone, "
        "email), created or updated by UAI code, and optionally catchment streets (school_code, street, "
        "number_from, number_to, parity). All or nothing, with a report of every problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("schools", help="schools.csv")
        parser.add_argument("--catchment", help="catchment.csv")
        parser.add_argument("--report", help="write the problems to this CSV file")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):
        report = schools_import(
            schools_csv=options["schools"],
            catchment_csv=options["catchment"],
            dry_run=options["dry_run"],
        )
        write_report(self, report, options["report"])
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problème(s) : rien n'a été importé.")
        self.stdout.write(
            self.style.SUCCESS(
                "Importé : " + ", ".join(f"{k}={v}" for k, v in report.counts.items())
            )
        )
