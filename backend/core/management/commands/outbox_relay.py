"""Publish the outbox to the broker, forever (the process manager runs it beside the worker)."""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

logger = logging.getLogger("minot.outbox")


class Command(BaseCommand):
    help = "Relay outbox rows to the Celery broker, retrying with back-off while it is down."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between passes")

    def handle(self, *args, once=False, interval=0.5, **options):
        from backend.core.mail import email_retry_due
        from backend.core.outbox import outbox_relay_once

        stopping: list[bool] = []
        if not once:
            signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while not stopping:
            try:
                email_retry_due()
                published = outbox_relay_once()
            except DatabaseError:
                # The database is down or failing over: drop the connection and try again.
                logger.warning("outbox relay: database unavailable", exc_info=True)
                connection.close()
                published = 0
            if once:
                self.stdout.write(f"{published} published")
                return
            if not published:
                time.sleep(interval)
