PERIODIC_TASKS: list[dict] = [
    {
        "name": "core: apply the retention schedule",
        "task": "backend.core.tasks.retention_task",
        "crontab": {"minute": "30", "hour": "2"},
    },
]
