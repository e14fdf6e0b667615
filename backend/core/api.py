"""Shared pieces of every REST endpoint: one pagination class and one way to answer a page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated(
    request: Any,
    view: Any,
    rows: Any,
    serializer_class: type[BaseSerializer],
    *,
    context: dict[str, Any] | Callable[[Sequence[Any]], dict[str, Any]] | None = None,
) -> Response:
    """One page of ``rows`` (a queryset or a list) through its output serializer.

    ``context`` is a dict, or a function of the page's rows (to load per-page data in one query,
    e.g. the prices of the bookings shown) — never one query per row.
    """
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request, view=view) or []
    ctx = context(page) if callable(context) else (context or {})
    return paginator.get_paginated_response(serializer_class(page, many=True, context=ctx).data)
