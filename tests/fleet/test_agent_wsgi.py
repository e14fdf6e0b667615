"""fleet.agent_wsgi serves the osquery endpoints through a lean stack and the rest unchanged."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from fleet.agent_wsgi import application

from .factories import enroll_body, school_with_secret


def call(path, body=None, method="POST"):
    data = json.dumps(body).encode() if body is not None else b""
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "HTTP_HOST": "testserver",
    }
    setup_testing_defaults(environ)
    status = []
    chunks = application(environ, lambda s, h, exc=None: status.append(s))
    return int(status[0].split()[0]), b"".join(chunks)


@pytest.mark.django_db(transaction=True)
def test_agent_paths_and_site_paths():
    school_with_secret()
    code, body = call("/api/osquery/enroll", enroll_body())
    assert code == 200
    assert "node_key" in json.loads(body)
    code, body = call("/api/v1/osquery/config", {"node_key": json.loads(body)["node_key"]})
    assert code == 200
    assert "schedule" in json.loads(body)
    code, body = call("/api/osquery/log", {"node_key": "nope", "log_type": "status", "data": []})
    assert json.loads(body) == {"node_invalid": True}
    code, _body = call("/healthz", method="GET")
    assert code == 200
