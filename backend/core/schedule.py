PERIODIC_TASKS: list[dict] = [
    {
        "name": "core: purge the relayed outbox",
        "task": "backend.core.tasks.outbox_purge_task",
        "crontab": {"minute": "30", "hour": "4"},
    },
    {
        "name": "core: apply the retention schedule",
        "task": "backend.core.tasks.retention_task",
        "crontab": {"minute": "30", "hour": "2"},
    },
]
