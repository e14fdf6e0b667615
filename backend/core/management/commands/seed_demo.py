"""Seed the demo: accounts listed in the README, then each app's data. Idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string
from tqdm import tqdm

from backend.accounts.models import Role, User
from backend.core.demo_accounts import DEMO_ACCOUNTS, DEMO_PASSWORD

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "ensure_demo_accounts"]


def ensure_demo_accounts() -> list[User]:
    users = []
    for email, role, first, last in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(
            email=email,
            defaults={
                "role": role,
                "first_name": first,
                "last_name": last,
                "is_staff": role == Role.ADMIN,
                "is_superuser": role == Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        users.append(user)
    return users


class Command(BaseCommand):
    help = "Create the demo accounts and data (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true", help="Hide progress bars.")

    def handle(self, *args, **options):
        # None: tqdm shows bars on a terminal only, so logs and CI stay readable.
        disable = True if options["no_progress"] or options["verbosity"] == 0 else None

        def progress(label, iterable, total=None):
            return tqdm(
                iterable, desc=label, total=total, disable=disable, file=self.stderr, leave=False
            )

        with transaction.atomic():
            ensure_demo_accounts()
        for path in progress("Minot demo", settings.MINOT_DEMO_SEEDERS):
            seeder = import_string(path)
            with transaction.atomic():
                seeder(progress=progress)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
