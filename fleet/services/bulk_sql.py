"""Multi-row writes for the log drainer: one statement per table and chunk, from plain tuples.

Why not the ORM: ``QuerySet.bulk_update`` builds a ``CASE WHEN id = … THEN …`` expression per
field and row, and ``bulk_create`` a model instance per row; for the hundreds of device rows and
reports of one drainer chunk that was most of the drainer's CPU (docs/fleet.md, "Durable
ingestion"). On PostgreSQL these helpers send ``UPDATE … FROM (VALUES …)``, a multi-row
``INSERT … ON CONFLICT DO NOTHING`` and ``COPY``; on other databases (the SQLite demo) they call
the ORM with the same rows, so the result is the same everywhere.

Callers pass values of each column's Python type (they built them); JSON values are wrapped for
the driver by the field (``get_db_prep_save``), the others are sent as they are. No signals, no
``auto_now``, no Python-side defaults (as with ``bulk_update``; give every column the row needs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

_M = TypeVar("_M", bound=models.Model)
ROWS_PER_STATEMENT = 1000  # the ORM's batches (other databases)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field]:
    fields = [model._meta.get_field(name) for name in names]
    for name, field in zip(names, fields, strict=True):
        if not isinstance(field, models.Field) or not field.column:
            raise ValueError(f"{model.__name__}.{name} is not a column")
    return fields  # type: ignore[return-value]  # every one checked above


def _quoted(name: str | None) -> str:
    return connection.ops.quote_name(name or "")


def _preparers(fields: list[models.Field]) -> list[Any]:
    """Per column, the field when its values need the field's preparation (JSON), else None."""
    return [field if isinstance(field, models.JSONField) else None for field in fields]


def _prepared(preparers: list[Any], values: Sequence[Any]) -> Iterator[Any]:
    for field, value in zip(preparers, values, strict=True):
        yield value if field is None else field.get_db_prep_save(value, connection)


def pk_in(queryset: QuerySet[_M], ids: Iterable[int]) -> QuerySet[_M]:
    """``queryset.filter(pk__in=ids)``; on PostgreSQL with the ids as one array parameter, as
    ``pk__in`` prepares and quotes each of a chunk's hundreds of ids (milliseconds per query)."""
    if not _postgresql():
        return queryset.filter(pk__in=ids)
    array = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
    return queryset.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [array]))


def _copy(
    cursor: Any, table: str, fields: list[models.Field], rows: Iterable[Sequence[Any]]
) -> None:
    columns = ", ".join(_quoted(field.column) for field in fields)
    preparers = _preparers(fields)
    with cursor.copy(f"COPY {_quoted(table)} ({columns}) FROM STDIN") as copy:
        for values in rows:
            copy.write_row(tuple(_prepared(preparers, values)))


def _stage(cursor: Any, model: type[models.Model]) -> str:
    """A temporary table shaped like the model's table (no constraints), emptied at each commit:
    rows are COPYed into it, then moved with one set-based statement. COPY costs a fraction of
    a multi-row VALUES statement, whose thousands of placeholders the driver parses each time."""
    table = model._meta.db_table
    stage = f"_fleet_stage_{table}"
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_quoted(stage)} ON COMMIT DELETE ROWS "
        f"AS SELECT * FROM {_quoted(table)} WITH NO DATA"
    )
    return stage


def rows_update(
    model: type[models.Model], names: Sequence[str], rows: Sequence[tuple[int, Sequence[Any]]]
) -> None:
    """Set the fields ``names`` of each row ``(pk, values)`` (values in the order of ``names``).
    The caller locks the rows first (in id order) and gives each pk once."""
    if not rows:
        return
    if not _postgresql():
        objects = [model(pk=pk, **dict(zip(names, values, strict=True))) for pk, values in rows]
        model._default_manager.bulk_update(objects, list(names), batch_size=500)
        return
    pk = model._meta.pk
    assert pk is not None
    fields = _fields(model, names)
    assignments = ", ".join(f"{_quoted(f.column)} = s.{_quoted(f.column)}" for f in fields)
    with connection.cursor() as cursor:
        stage = _stage(cursor, model)
        _copy(cursor, stage, [pk, *fields], ((key, *values) for key, values in rows))
        cursor.execute(
            f"UPDATE {_quoted(model._meta.db_table)} AS t SET {assignments} "
            f"FROM {_quoted(stage)} AS s WHERE t.{_quoted(pk.column)} = s.{_quoted(pk.column)}"
        )
        cursor.execute(f"DELETE FROM {_quoted(stage)}")  # the next call in this transaction


def rows_insert(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert ``rows`` (values in the order of ``names``; ids from the sequence). With
    ``ignore_conflicts`` a row that breaks a unique constraint is skipped (a replayed batch)."""
    if not rows:
        return
    if not _postgresql():
        model._default_manager.bulk_create(
            [model(**dict(zip(names, values, strict=True))) for values in rows],
            batch_size=ROWS_PER_STATEMENT,
            ignore_conflicts=ignore_conflicts,
        )
        return
    fields = _fields(model, names)
    with connection.cursor() as cursor:
        if not ignore_conflicts:
            _copy(cursor, model._meta.db_table, fields, rows)
            return
        stage = _stage(cursor, model)
        _copy(cursor, stage, fields, rows)
        columns = ", ".join(_quoted(field.column) for field in fields)
        cursor.execute(
            f"INSERT INTO {_quoted(model._meta.db_table)} ({columns}) "
            f"SELECT {columns} FROM {_quoted(stage)} ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DELETE FROM {_quoted(stage)}")  # the next call in this transaction
