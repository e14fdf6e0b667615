PERIODIC_TASKS: list[dict] = [
    {
        "name": "family: expire guardian invitations",
        "task": "family.tasks.invitations_expire_task",
        "crontab": {"minute": "15", "hour": "3"},
    },
    {
        "name": "family: remind families to re-enrol",
        "task": "family.tasks.reenrolment_remind_task",
        "crontab": {"minute": "0", "hour": "9"},
    },
]
