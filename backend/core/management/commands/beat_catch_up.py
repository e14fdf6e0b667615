"""Run before `celery beat`: enqueue, once each, the periodic tasks missed while beat was down."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Enqueue (through the outbox) each periodic task that missed a run while beat was down."

    def handle(self, *args, **options):
        from backend.core.periodic import periodic_catch_up

        names = periodic_catch_up()
        self.stdout.write(f"{len(names)} periodic task(s) caught up")
