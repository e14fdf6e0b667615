"""Drain the fleet log queue continuously (when FLEET_LOG_QUEUE_URL is set).

manage.py fleet_log_worker [--seconds 0 (forever)] [--batch 1000] [--idle 0.5]
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from fleet.services.log_queue import log_queue_drain, queue_enabled


class Command(BaseCommand):
    help = "Ingest queued osquery log batches in bulk."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds", type=float, default=0.0, help="stop after this long (0: run forever)"
        )
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--idle", type=float, default=0.5, help="sleep when the queue is empty")

    def handle(self, *args, **options):
        if not queue_enabled():
            raise CommandError(
                "FLEET_LOG_QUEUE_URL is not set: logs are ingested inline, nothing to drain."
            )
        deadline = time.monotonic() + options["seconds"] if options["seconds"] else None
        total = 0
        while deadline is None or time.monotonic() < deadline:
            try:
                drained = log_queue_drain(max_items=options["batch"])
            except DatabaseError:
                drained = 0  # requeued by the drain; try again shortly
            total += drained
            if drained < options["batch"]:
                time.sleep(options["idle"])
        # final drain so a bounded run leaves nothing behind
        while drained := log_queue_drain(max_items=options["batch"]):
            total += drained
        self.stdout.write(f"{total} log batches ingested.")
