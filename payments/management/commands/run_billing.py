"""``manage.py run_billing --period 2026-10 [--issue]``: the monthly billing run, with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from backend.core.exceptions import ApplicationError
from payments.selectors import format_cents
from payments.services.billing import billing_run_for_period, parse_period


class Command(BaseCommand):
    help = (
        "Build the invoices of a period (one per payer). Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="AAAA-MM, e.g. 2026-10")
        parser.add_argument(
            "--issue", action="store_true", help="issue the drafts and email the families"
        )
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        try:
            period = parse_period(options["period"])

            def progress(iterable, total):
                return tqdm(
                    iterable,
                    total=total,
                    unit="lot",
                    disable=options["no_progress"],
                    desc="Facturation",
                )

            run = billing_run_for_period(
                period=period,
                batch_size=options["batch_size"],
                issue=options["issue"],
                progress=progress,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stdout.write(
            self.style.SUCCESS(
                f"{period:%Y-%m}: {run.invoices_created} factures créées ({run.lines_created} lignes, "
                f"{format_cents(run.total_cents)}), {run.invoices_issued} émises, "
                f"{run.stats.get('skipped_existing', 0)} payeurs déjà facturés."
            )
        )
