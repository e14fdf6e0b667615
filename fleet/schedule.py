PERIODIC_TASKS: list[dict] = []
