"""Multi-row writes for the log drainer: a few statements per table and chunk, from plain tuples.

Why not the ORM: ``QuerySet.bulk_update`` builds a ``CASE WHEN id = … THEN …`` expression per
field and row, and ``bulk_create`` a model instance per row; for the hundreds of device rows and
reports of one drainer chunk that was most of the drainer's CPU (docs/fleet.md, "Durable
ingestion"). A multi-row ``VALUES`` statement is no cure either: the driver parses its thousands
of placeholders on every call. So on PostgreSQL the rows are COPYed (the driver's fast path),
straight into the table when nothing can conflict, else into a temporary table from which one
statement moves them (``INSERT … SELECT … ON CONFLICT DO NOTHING``, ``UPDATE … FROM``). On other
databases (the SQLite demo) the same rows go through the ORM, with the same result.

Callers pass values of each column's Python type (they built them); JSON values are wrapped for
the driver by their field (``get_db_prep_save``), the others are sent as they are. No signals, no
``auto_now``, no Python-side defaults (as with ``bulk_update``): give every column the row needs.
The SQL text is built from the models' table and column names only (quoted); values always go as
parameters or through COPY, and id arrays are formatted from ``int()`` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

_M = TypeVar("_M", bound=models.Model)
ORM_BATCH = 1000  # rows per statement on other databases
STAGE_FROM_ROWS = 100  # fewer rows go in one VALUES statement (bench/fleet_drain_bench.py)


def _postgresql() -> bool:
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def _id_array(ids: Iterable[int]) -> str:
    """A bigint[] literal: one query parameter however many ids (``pk__in`` prepares and quotes
    each of a chunk's hundreds of ids, milliseconds per query)."""
    return "{" + ",".join(str(int(pk)) for pk in ids) + "}"


def pk_in(queryset: QuerySet[_M], ids: Iterable[int]) -> QuerySet[_M]:
    """``queryset.filter(pk__in=ids)``, with the ids as one array parameter on PostgreSQL."""
    if not _postgresql():
        return queryset.filter(pk__in=ids)
    return queryset.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [_id_array(ids)]))


def pks_existing(model: type[models.Model], ids: Iterable[int], *, lock: bool = False) -> list[int]:
    """Those of ``ids`` that have a row, ascending; with ``lock``, each row is locked (FOR NO KEY
    UPDATE) in that order, so that writers who all lock in id order never deadlock. One short
    statement on PostgreSQL (the ORM compiles a query each time: it adds up at one per chunk)."""
    ids = set(ids)
    if not ids:
        return []
    if not _postgresql():
        queryset = model._default_manager.filter(pk__in=ids).order_by("pk")
        if lock:
            queryset = queryset.select_for_update(no_key=True)
        return list(queryset.values_list("pk", flat=True))
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_pks_sql(model, lock), [_id_array(ids)])
        return [row[0] for row in cursor.fetchall()]


@cache
def _pks_sql(model: type[models.Model], lock: bool) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    assert model._meta.pk is not None
    pk = quote(model._meta.pk.column or "")
    return (
        f"SELECT {pk} FROM {quote(model._meta.db_table)} WHERE {pk} = ANY(%s::bigint[]) "
        f"ORDER BY {pk}" + (" FOR NO KEY UPDATE" if lock else "")
    )


@dataclass(frozen=True)
class _Table:
    """The SQL for writing the columns ``names`` of one model, built once per process."""

    fields: tuple[models.Field, ...]
    json: tuple[int, ...]  # positions of the JSON columns (wrapped for the driver)
    copy: str  # COPY straight into the table
    create_stage: str
    copy_stage: str  # COPY into the temporary table
    insert_from_stage: str  # moves the staged rows (and empties the stage)
    update_from_stage: str  # the same as an UPDATE; the first staged column is the pk
    insert_values: str  # for a few rows: a multi-row VALUES statement, {} the rows
    update_values: str
    row: str  # one row of placeholders


def _field(model: type[models.Model], name: str) -> models.Field:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


@cache
def _table(model: type[models.Model], names: tuple[str, ...], with_pk: bool) -> _Table:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    fields = ((pk,) if with_pk else ()) + tuple(_field(model, name) for name in names)
    columns = [quote(field.column or "") for field in fields]
    listed = ", ".join(columns)
    table, stage = quote(model._meta.db_table), quote(f"_fleet_stage_{model._meta.db_table}")
    moved = f"WITH s AS (DELETE FROM {stage} RETURNING {listed}) "
    connection = connections[DEFAULT_DB_ALIAS]
    # VALUES columns take their type from the data: cast each to its column's type
    cast = [f"v.{c}::{f.cast_db_type(connection)}" for c, f in zip(columns, fields, strict=True)]
    return _Table(
        fields=fields,
        json=tuple(i for i, f in enumerate(fields) if isinstance(f, models.JSONField)),
        copy=f"COPY {table} ({listed}) FROM STDIN",
        # no constraints, emptied at each commit (DELETE … RETURNING empties it sooner, for a
        # second call in the same transaction)
        create_stage=f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS "
        f"AS SELECT * FROM {table} WITH NO DATA",
        copy_stage=f"COPY {stage} ({listed}) FROM STDIN",
        insert_from_stage=f"{moved}INSERT INTO {table} ({listed}) SELECT {listed} FROM s "
        "ON CONFLICT DO NOTHING",
        update_from_stage=f"{moved}UPDATE {table} AS t SET "
        + ", ".join(f"{c} = s.{c}" for c in columns[1:])
        + f" FROM s WHERE t.{columns[0]} = s.{columns[0]}",
        insert_values=f"INSERT INTO {table} ({listed}) VALUES {{}} ON CONFLICT DO NOTHING",
        update_values=f"UPDATE {table} AS t SET "
        + ", ".join(f"{c} = {v}" for c, v in zip(columns[1:], cast[1:], strict=True))
        + f" FROM (VALUES {{}}) AS v({listed}) WHERE t.{columns[0]} = v.{columns[0]}",
        row="(" + ", ".join(["%s"] * len(fields)) + ")",
    )


def _for_driver(table: _Table, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    connection = connections[DEFAULT_DB_ALIAS]
    for values in rows:
        if table.json:
            values = list(values)
            for i in table.json:
                values[i] = table.fields[i].get_db_prep_save(values[i], connection)
        yield values


def _copy(cursor: Any, sql: str, table: _Table, rows: Iterable[Sequence[Any]]) -> None:
    with cursor.copy(sql) as copy:
        for values in _for_driver(table, rows):
            copy.write_row(values)


def _values(cursor: Any, sql: str, table: _Table, rows: Sequence[Sequence[Any]]) -> None:
    """A few rows: one multi-row VALUES statement costs less than the stage's three."""
    params = [value for values in _for_driver(table, rows) for value in values]
    cursor.execute(sql.format(", ".join([table.row] * len(rows))), params)


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
    table = _table(model, tuple(names), True)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        if len(rows) < STAGE_FROM_ROWS:
            _values(cursor, table.update_values, table, [(pk, *values) for pk, values in rows])
            return
        cursor.execute(table.create_stage)
        _copy(cursor, table.copy_stage, table, ((pk, *values) for pk, values in rows))
        cursor.execute(table.update_from_stage)


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
            batch_size=ORM_BATCH,
            ignore_conflicts=ignore_conflicts,
        )
        return
    table = _table(model, tuple(names), False)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        if not ignore_conflicts:
            _copy(cursor, table.copy, table, rows)
            return
        if len(rows) < STAGE_FROM_ROWS:
            _values(cursor, table.insert_values, table, rows)
            return
        cursor.execute(table.create_stage)
        _copy(cursor, table.copy_stage, table, rows)
        cursor.execute(table.insert_from_stage)
