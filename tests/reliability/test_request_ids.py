"""Every log line carries the request id, also inside the tasks the request enqueued."""

import json
import logging

from django.test import Client

from backend.core import context
from backend.core.logs import JsonFormatter, RequestIdFilter


def test_the_request_id_is_echoed_and_a_forged_one_replaced():
    r = Client().get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert r["X-Request-ID"] == "abc-123"
    forged = Client().get("/healthz", HTTP_X_REQUEST_ID="a b\nInjected: yes")
    assert forged["X-Request-ID"] != "a b\nInjected: yes"
    assert len(forged["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_and_task_ids():
    record = logging.LogRecord("minot.test", logging.INFO, __file__, 1, "envoi %s", ("ok",), None)
    with context.bound(request="req-1", task="outbox-7"):
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "envoi ok"
    assert (line["request_id"], line["task_id"], line["level"]) == ("req-1", "outbox-7", "INFO")
