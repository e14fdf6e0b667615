PERIODIC_TASKS: list[dict] = [
    {
        "name": "canteen: freeze today's prices (sibling rank, residency)",
        "task": "canteen.tasks.freeze_prices_task",
        "crontab": {"minute": "5", "hour": "0"},
    },
]
