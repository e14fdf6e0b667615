"""The one pagination of every list endpoint: same answers as Django's paginator, without the
``COUNT`` query when the first page holds every row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from backend.accounts.models import User
from backend.core.api import Pagination
from tests.factories import ParentFactory

pytestmark = pytest.mark.django_db


def _page(query: str, rows):
    pagination = Pagination()
    request = Request(APIRequestFactory().get("/api/v1/x/" + query))
    page = pagination.paginate_queryset(rows, request)
    return pagination, [user.email for user in page]


def test_a_short_first_page_is_answered_without_a_count_query():
    for n in range(3):
        ParentFactory(email=f"p{n}@example.test")
    with CaptureQueriesContext(connection) as queries:
        pagination, emails = _page("", User.objects.order_by("email"))
        answer = pagination.get_paginated_response(emails).data
    assert answer["count"] == 3
    assert answer["next"] is None
    assert answer["previous"] is None
    assert emails == ["p0@example.test", "p1@example.test", "p2@example.test"]
    assert len(queries) == 1
    assert "COUNT(" not in queries[0]["sql"].upper()


def test_a_full_first_page_still_counts_and_links_the_next():
    for n in range(5):
        ParentFactory(email=f"p{n}@example.test")
    with CaptureQueriesContext(connection) as queries:
        pagination, emails = _page("?page_size=2", User.objects.order_by("email"))
        answer = pagination.get_paginated_response(emails).data
    assert len(queries) == 2  # the rows once, and the count
    assert answer["count"] == 5
    assert emails == ["p0@example.test", "p1@example.test"]
    assert "page=2" in answer["next"]
    with pytest.raises(NotFound):
        _page("?page_size=2&page=4", User.objects.order_by("email"))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 7), size=st.integers(1, 4))
def test_pages_cover_every_row_once_with_the_right_count(n, size):
    emails = [f"r{i}@example.test" for i in range(n)]  # a list: the paginator takes both
    seen, page = [], 1
    while True:
        pagination, rows = _page(f"?page_size={size}&page={page}", [_Row(e) for e in emails])
        answer = pagination.get_paginated_response(rows).data
        assert answer["count"] == n
        seen += rows
        if answer["next"] is None:
            break
        page += 1
    assert seen == emails


class _Row:
    def __init__(self, email: str) -> None:
        self.email = email
