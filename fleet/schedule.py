"""Fleet periodic tasks (declared into django-celery-beat by `manage.py setup_periodic_tasks`)."""

PERIODIC_TASKS: list[dict] = [
    # no-op unless FLEET_LOG_QUEUE_URL is set
    {
        "name": "fleet: drain queued logs",
        "task": "fleet.tasks.fleet_drain_logs_task",
        "every_seconds": 5,
    },
    {
        "name": "fleet: status and alerts",
        "task": "fleet.tasks.fleet_evaluate_task",
        "every_seconds": 300,
    },
    {
        "name": "fleet: battery forecast",
        "task": "fleet.tasks.fleet_battery_forecast_task",
        "crontab": {"minute": "15", "hour": "3"},
    },
    {
        "name": "fleet: purge old history",
        "task": "fleet.tasks.fleet_purge_task",
        "crontab": {"minute": "45", "hour": "3"},
    },
    {
        "name": "fleet: weekly report",
        "task": "fleet.tasks.fleet_weekly_report_task",
        "crontab": {"minute": "0", "hour": "7", "day_of_week": "1"},
    },
]
