PERIODIC_TASKS: list[dict] = [
    {
        "name": "family: expire guardian invitations",
        "task": "family.tasks.invitations_expire_task",
        "crontab": {"minute": "15", "hour": "3"},
    },
]
