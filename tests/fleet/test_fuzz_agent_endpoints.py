"""No input crashes the agent endpoints: random JSON shapes answer 200 or a 4xx, never a 5xx."""

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .factories import enroll_body, school_with_secret

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["\x00", "a\x00b", "Infinity", "NaN", "1e400", "-0"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
line = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(
            st.sampled_from(["minot_battery", "minot_apps_linux", "pack/p/minot_os", "x"]), values
        ),
        "action": st.one_of(st.sampled_from(["added", "removed", "snapshot"]), values),
        "columns": values,
        "snapshot": values,
        "diffResults": values,
        "unixTime": st.one_of(st.integers(), st.text(max_size=12), values),
        "decorations": values,
        "severity": values,
        "line": values,
        "message": values,
    },
)


@pytest.fixture
def node_key(db):
    school_with_secret()
    return (
        Client()
        .post("/api/osquery/enroll", json.dumps(enroll_body()), content_type="application/json")
        .json()["node_key"]
    )


@pytest.mark.django_db
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    log_type=st.one_of(st.sampled_from(["result", "status"]), values),
    data=st.one_of(st.lists(line, max_size=4), values),
)
def test_log_never_5xx(node_key, log_type, data):
    body = {"node_key": node_key, "log_type": log_type, "data": data}
    response = Client().post("/api/osquery/log", json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 400, 413, 429), response.content
    assert isinstance(response.json(), dict)


@pytest.mark.django_db
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["queries", "statuses", "messages", "stats", "x"]), values, max_size=4
    )
)
def test_distributed_write_never_5xx(node_key, body):
    body["node_key"] = node_key
    response = Client().post(
        "/api/osquery/distributed/write", json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (200, 400, 429), response.content


@pytest.mark.django_db
@settings(max_examples=100, deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(["enroll_secret", "host_identifier", "platform_type", "host_details"]),
        values,
        max_size=4,
    )
)
def test_enroll_never_5xx(body):
    response = Client().post(
        "/api/osquery/enroll", json.dumps(body), content_type="application/json"
    )
    assert response.status_code in (200, 400, 429), response.content


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=200))
def test_raw_bytes_never_5xx(raw):
    for encoding in ("", "gzip", "br"):
        extra = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
        response = Client().post(
            "/api/osquery/config", raw, content_type="application/json", **extra
        )
        assert response.status_code in (200, 400, 413, 415, 429), response.content
