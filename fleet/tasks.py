from celery import shared_task


@shared_task(ignore_result=True)
def fleet_evaluate_task():
    from .services.health import fleet_evaluate
    from .services.nodes import last_seen_flush

    last_seen_flush()
    return fleet_evaluate()


@shared_task(ignore_result=True)
def fleet_battery_forecast_task():
    from .services.health import battery_forecast_compute

    return battery_forecast_compute()


@shared_task(ignore_result=True)
def fleet_purge_task():
    from .services.inventory import history_purge

    return history_purge()


@shared_task(ignore_result=True)
def fleet_weekly_report_task():
    from .services.reporting import weekly_report_send

    return weekly_report_send()


@shared_task(ignore_result=True)
def fleet_drain_logs_task():
    from .services.log_queue import log_queue_drain, queue_enabled

    total = 0
    while queue_enabled():
        drained = log_queue_drain(max_items=1000)
        total += drained
        if drained < 1000:
            break
    return total
