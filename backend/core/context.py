"""What the code is doing right now, for logs and idempotency keys: the request id (carried from
the web request into the tasks it enqueued) and the id of the task being run."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
task_id: ContextVar[str] = ContextVar("task_id", default="")
_task_counter: ContextVar[Iterator[int] | None] = ContextVar("task_counter", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def bound(*, request: str = "", task: str = "") -> Iterator[None]:
    """Bind a request id (and a task id) for the duration of a block."""
    request_token = request_id.set(request or request_id.get() or new_request_id())
    task_tokens = (task_id.set(task), _task_counter.set(itertools.count(1))) if task else None
    try:
        yield
    finally:
        if task_tokens is not None:
            task_id.reset(task_tokens[0])
            _task_counter.reset(task_tokens[1])
        request_id.reset(request_token)


def next_task_key() -> str:
    """``<task id>:<n>`` for the n-th call in this task run, or '' outside a task."""
    counter = _task_counter.get()
    return f"{task_id.get()}:{next(counter)}" if counter is not None else ""
