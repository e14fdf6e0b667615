PERIODIC_TASKS: list[dict] = [
    {
        "name": "payments: Stripe catch-up",
        "task": "payments.tasks.stripe_catch_up_task",
        "every_seconds": 900,
    },
    {
        "name": "payments: monthly billing run (drafts)",
        "task": "payments.tasks.billing_run_previous_month_task",
        "crontab": {"minute": "30", "hour": "2", "day_of_month": "1"},
    },
    {
        "name": "payments: SEPA debits due",
        "task": "payments.tasks.sepa_debits_task",
        "crontab": {"minute": "0", "hour": "6"},
    },
    {
        "name": "payments: dunning reminders",
        "task": "payments.tasks.dunning_task",
        "crontab": {"minute": "0", "hour": "9"},
    },
    {
        "name": "payments: prepaid meal debits",
        "task": "payments.tasks.prepaid_debit_task",
        "every_seconds": 1800,
    },
    {
        "name": "payments: nightly audit of the books",
        "task": "payments.tasks.payments_audit_task",
        "crontab": {"minute": "15", "hour": "3"},
    },
]
