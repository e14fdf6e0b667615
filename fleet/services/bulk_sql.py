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

from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection, models

ROWS_PER_STATEMENT = 1000


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _slices(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


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


def rows_update(
    model: type[models.Model], names: Sequence[str], rows: Sequence[tuple[int, Sequence[Any]]]
) -> None:
    """Set the fields ``names`` of each row ``(pk, values)`` (values in the order of ``names``).
    The caller locks the rows first (in id order) and gives each pk once."""
    if not rows:
        return
    fields = _fields(model, names)
    if not _postgresql():
        objects = [model(pk=pk, **dict(zip(names, values, strict=True))) for pk, values in rows]
        model._default_manager.bulk_update(objects, list(names), batch_size=500)
        return
    pk_column = _quoted(model._meta.pk.column)
    aliases = ", ".join(["pk", *(f"v{i}" for i in range(len(fields)))])
    assignments = ", ".join(
        f"{_quoted(field.column)} = v.v{i}::{field.cast_db_type(connection)}"
        for i, field in enumerate(fields)
    )
    row_sql = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    preparers = _preparers(fields)
    with connection.cursor() as cursor:
        for part in _slices(rows, ROWS_PER_STATEMENT):
            params: list[Any] = []
            for pk, values in part:
                params.append(pk)
                params.extend(_prepared(preparers, values))
            cursor.execute(
                f"UPDATE {_quoted(model._meta.db_table)} AS t SET {assignments} "
                f"FROM (VALUES {', '.join([row_sql] * len(part))}) AS v({aliases}) "
                f"WHERE t.{pk_column} = v.pk",
                params,
            )


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
    columns = ", ".join(_quoted(field.column) for field in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    preparers = _preparers(fields)
    with connection.cursor() as cursor:
        for part in _slices(rows, ROWS_PER_STATEMENT):
            params = [value for values in part for value in _prepared(preparers, values)]
            cursor.execute(
                f"INSERT INTO {_quoted(model._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row_sql] * len(part))}{conflict}",
                params,
            )


def rows_copy(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append ``rows`` with COPY (PostgreSQL; an INSERT elsewhere): for tables without unique
    constraints to honour, such as status lines."""
    if not rows:
        return
    if not _postgresql():
        rows_insert(model, names, rows)
        return
    fields = _fields(model, names)
    columns = ", ".join(_quoted(field.column) for field in fields)
    preparers = _preparers(fields)
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {_quoted(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(tuple(_prepared(preparers, values)))
