"""Drain the fleet log queue continuously (when FLEET_LOG_QUEUE_URL is set).

manage.py fleet_log_worker [--seconds 0 (forever)] [--batch 1000] [--idle 0.5]
                           [--min-batch 50] [--partitions 0,1,2,3 (default: all, shared)]

Run several (one per core, on one machine or many): each partition is drained by one worker at
a time, so a device's batches stay in order while the partitions are spread over the workers.

After a pass that ingested fewer than --min-batch entries the worker sleeps --idle seconds, so
that entries gather into bigger chunks: each chunk costs a transaction with a synchronous commit
and a few Redis round trips whatever its size, and a worker that polls again at once keeps up
with a few entries per chunk at several times the CPU per entry (docs/fleet.md, "Durable
ingestion"). A backlog (passes of --min-batch entries or more) is drained without pause.
"""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from redis.exceptions import RedisError

from fleet.services.log_queue import log_queue_drain, partitions, queue_enabled

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Ingest queued osquery log batches in bulk."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seconds", type=float, default=0.0, help="stop after this long (0: run forever)"
        )
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument(
            "--idle", type=float, default=0.5, help="sleep after a pass under --min-batch"
        )
        parser.add_argument(
            "--min-batch",
            type=int,
            default=50,
            help="entries a pass must ingest for the next pass to start at once (1: old behaviour)",
        )
        parser.add_argument(
            "--partitions", default="", help="comma-separated partition numbers (default: all)"
        )

    def handle(self, *args, **options):
        if not queue_enabled():
            raise CommandError(
                "FLEET_LOG_QUEUE_URL is not set: logs are ingested inline, nothing to drain."
            )
        try:
            only = [int(p) for p in options["partitions"].split(",") if p.strip()] or None
        except ValueError as exc:
            raise CommandError("--partitions: comma-separated numbers expected") from exc
        if only and not all(0 <= p < partitions() for p in only):
            raise CommandError(f"--partitions: numbers from 0 to {partitions() - 1}")
        deadline = time.monotonic() + options["seconds"] if options["seconds"] else None
        total = 0
        while deadline is None or time.monotonic() < deadline:
            try:
                drained = log_queue_drain(max_items=options["batch"], only=only)
            except (DatabaseError, RedisError):
                logger.warning("fleet: drain pass failed, retrying", exc_info=True)
                drained = 0  # the entries stay pending; try again shortly
            total += drained
            if drained < options["min_batch"]:
                time.sleep(options["idle"])
        # final drain so a bounded run leaves nothing behind
        while drained := log_queue_drain(max_items=options["batch"], only=only):
            total += drained
        self.stdout.write(f"{total} log batches ingested.")
