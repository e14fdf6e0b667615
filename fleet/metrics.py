"""Fleet's gauges for /metrics (listed in MINOT_METRICS_PROVIDERS, read at scrape time)."""


def gauges() -> list[tuple[str, str, float]]:
    from .services.log_queue import log_queue_length

    return [("minot_fleet_log_queue_backlog", "Device log batches waiting", log_queue_length())]
