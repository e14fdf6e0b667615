"""``manage.py payments_audit [--stripe|--no-stripe]``: check the books; exit 1 on any finding."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.services.audit import audit_books


class Command(BaseCommand):
    help = "Check the payment invariants (ledger, invoices, refunds, Stripe). Exit 1 on findings."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--stripe", action="store_true", help="compare with Stripe (default when configured)"
        )
        group.add_argument("--no-stripe", action="store_true", help="database only")

    def handle(self, *args, stripe=False, no_stripe=False, **options):
        provider = stripe or (bool(settings.STRIPE_SECRET_KEY) and not no_stripe)
        report = audit_books(provider=provider)
        self.stdout.write(report.text())
        if not report.ok:
            raise CommandError(f"{len(report.problems)} finding(s)", returncode=1)
