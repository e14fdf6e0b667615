from django.core.management.base import BaseCommand

from backend.core.retention import retention_apply, retention_schedule


class Command(BaseCommand):
    help = "Delete or anonymise personal data past its retention date (--dry-run only counts)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report, change nothing")

    def handle(self, *args, dry_run=False, **options):
        counts = retention_apply(dry_run=dry_run)
        verb = "would" if dry_run else "did"
        for rule in retention_schedule():
            self.stdout.write(
                f"{rule.data_class:<15} keep {rule.days:>5} days  {verb} {rule.action}: "
                f"{counts[rule.data_class]}"
            )
