"""Shared pieces of every REST endpoint: one pagination class and one way to answer a page."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from django.core.paginator import Paginator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer


class ShortListPaginator(Paginator):
    """Counts only when it must: a first page that is not full holds every row, so its length
    is the count (a family's own lists — children, invoices, applications — fit on one page, and
    the ``COUNT`` query cost as much as the rows). Any other page counts as Django does."""

    def page(self, number):
        if str(number) == "1" and "count" not in self.__dict__ and not self.orphans:
            rows = list(self.object_list[: self.per_page])
            if len(rows) < self.per_page:
                self.__dict__["count"] = len(rows)  # the cached_property, known exactly
            # else a full first page: ``count`` will query, but the rows are not read again
            return self._get_page(rows, 1, self)  # type: ignore[attr-defined]
        return super().page(number)


class Pagination(PageNumberPagination):
    django_paginator_class = ShortListPaginator
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated(
    request: Any,
    view: Any,
    rows: Any,
    serializer_class: type[BaseSerializer] | None,
    *,
    context: dict[str, Any] | Callable[[Sequence[Any]], dict[str, Any]] | None = None,
) -> Response:
    """One page of ``rows`` (a queryset or a list) through its output serializer.

    ``context`` is a dict, or a function of the page's rows (to load per-page data in one query,
    e.g. the prices of the bookings shown) — never one query per row. Without a serializer the
    rows are already the output (e.g. read from a cache).
    """
    paginator = Pagination()
    page: list[Any] = paginator.paginate_queryset(rows, request, view=view) or []
    if serializer_class is None:
        return paginator.get_paginated_response(page)
    ctx = context(page) if callable(context) else (context or {})
    return paginator.get_paginated_response(serializer_class(page, many=True, context=ctx).data)


# DRF's ModelSerializer, with its fields built from the model once per class. DRF rebuilds a
# ModelSerializer's fields from the model's metadata on every instance (every request, every
# nested serializer): ≈ 0.5 ms each, most of an output's cost. They depend only on the class,
# so the first build is kept and each instance gets a deep copy (as DRF does for declared
# fields), ≈ 5 × cheaper. (A comment, not a docstring: the schema would show it.)
class ModelSerializer(serializers.ModelSerializer):
    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")  # this class's own, never a parent's
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built  # type: ignore[attr-defined]
        return copy.deepcopy(built)


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
