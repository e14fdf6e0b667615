"""The OpenAPI schema is the contract: every answer of every operation, for every role, matches
the schema (status code documented, body of the documented shape, content type), not only
"no 5xx". Generated from `/api/schema/` by schemathesis, positive cases only (valid requests,
whose answers are the ones clients rely on)."""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.security.test_api_fuzz import ROLES, demo_tokens, in_process_wsgi, role_headers  # noqa: F401

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_answer_matches_the_schema(case, role, role_headers, in_process_wsgi):
    response = case.call(app=in_process_wsgi, headers=role_headers[role])
    assert response.status_code < 500, response.text[:2000]
    case.validate_response(response, checks=[response_schema_conformance, content_type_conformance])
