from django.core.management.base import BaseCommand, CommandError

from family.services.imports import families_import

from ._report import write_report


class Command(BaseCommand):
    help = (
        "Import schools, families (one row per guardian) and children from the previous system's CSV "
        "files. Everything is validated first: one wrong row and nothing is imported; the report "
        "lists every problem (file, row, column, reason)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--families", required=True, help="families.csv (one row per guardian)")
        parser.add_argument("--children", required=True, help="children.csv")
        parser.add_argument("--schools", help="schools.csv (optional: created or updated by code)")
        parser.add_argument("--report", help="write the problems to this CSV file")
        parser.add_argument("--dry-run", action="store_true", help="validate only")

    def handle(self, *args, **options):
        report = families_import(
            families_csv=options["families"],
            children_csv=options["children"],
            schools_csv=options["schools"],
            dry_run=options["dry_run"],
        )
        write_report(self, report, options["report"])
        if not report.ok:
            raise CommandError(f"{len(report.problems)} problème(s) : rien n'a été importé.")
        counts = ", ".join(f"{k}={v}" for k, v in report.counts.items())
        verb = "Fichiers valides (rien importé, --dry-run)" if options["dry_run"] else "Importé"
        self.stdout.write(self.style.SUCCESS(f"{verb} : {counts}"))
