"""Close a school year and move every child into the next one.

manage.py school_year_switch --dry-run                 # report only (do this first)
manage.py school_year_switch --from 2026-2027 --to 2027-2028
"""

from django.core.management.base import BaseCommand, CommandError

from backend.core.exceptions import ApplicationError
from family.models import SchoolYear
from family.services import school_year_following, school_year_switch


class Command(BaseCommand):
    help = "Passage d'année scolaire : clôture, montée de classe, inscriptions acceptées, archives."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from", dest="from_year", help="année à clôturer (défaut : la plus ancienne ouverte)"
        )
        parser.add_argument("--to", dest="to_year", help="nouvelle année (défaut : la suivante)")
        parser.add_argument("--dry-run", action="store_true", help="rapport sans rien modifier")

    def handle(self, *args, from_year=None, to_year=None, dry_run=False, **options):
        try:
            source = (
                SchoolYear.objects.get(label=from_year)
                if from_year
                else SchoolYear.objects.filter(closed_at__isnull=True)
                .order_by("start_date")
                .first()
            )
            if source is None:
                raise CommandError("Aucune année scolaire ouverte.")
            target = (
                SchoolYear.objects.get(label=to_year) if to_year else school_year_following(source)
            )
            if target is None:
                raise CommandError(f"Aucune année après {source.label} : créez-la d'abord.")
            report = school_year_switch(
                actor=None, from_year=source, to_year=target, dry_run=dry_run
            )
        except SchoolYear.DoesNotExist as exc:
            raise CommandError("Année scolaire inconnue.") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        head = "SIMULATION (rien n'est modifié)" if dry_run else "Passage effectué"
        self.stdout.write(f"{head} : {report.from_year} → {report.to_year}")
        for move in report.moves:
            self.stdout.write(
                f"  {move.name}: {move.from_school} {move.from_class} → "
                f"{move.to_school or '—'} {move.to_class} ({move.outcome})"
            )
        self.stdout.write(
            f"{report.promoted} montée(s) de classe, {report.applied} inscription(s) appliquée(s), "
            f"{report.left} départ(s), {report.unchanged} à revoir, "
            f"{report.meals_archived} repas archivés"
        )
