"""Shared pieces of every REST endpoint: one pagination class and one way to answer a page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
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
    page: list[Any] = paginator.paginate_queryset(rows, request, view=view) or []
    ctx = context(page) if callable(context) else (context or {})
    return paginator.get_paginated_response(serializer_class(page, many=True, context=ctx).data)


@extend_schema_field(
    {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$", "example": "2026-10"}
)
class MonthField(serializers.DateField):
    """A month (billing period) shown as ``YYYY-MM``; stored as the first day of the month."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m")
        super().__init__(**kwargs)


class MessageOutput(serializers.Serializer):
    """The answer of an action that only acknowledges (``{"message", "extra"}``)."""

    message = serializers.CharField()
    extra = serializers.DictField()
