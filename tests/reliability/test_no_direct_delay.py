"""Every task asked for by a request goes through the outbox (backend/core/outbox.py:enqueue):
a direct ``.delay()`` or ``.apply_async()`` fails the request, or loses the task, when the broker
is down. Only tasks.py (a task fanning out inside the worker) and the relay itself may publish."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["backend", "family", "canteen", "payments", "fleet"]
DIRECT = re.compile(r"\.(delay|apply_async|send_task)\(")
ALLOWED = {"tasks.py"}
ALLOWED_PATHS = {Path("backend/core/outbox.py")}


def test_no_direct_publish_outside_tasks_and_the_relay():
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if path.name in ALLOWED or relative in ALLOWED_PATHS or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if DIRECT.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], "use backend.core.outbox.enqueue:\n" + "\n".join(offenders)
