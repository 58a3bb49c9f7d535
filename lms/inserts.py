"""INSERT statements the ORM's `bulk_create` cannot write: one statement that says what it did.

`bulk_create(ignore_conflicts=True)` does not tell which rows it inserted, and
`bulk_create(update_conflicts=True)` does not read back the row it updated, so a write path
that needs either would add a SELECT. These build the statement with Django's own insert
compiler (so PostgreSQL and SQLite both get their dialect: `ON CONFLICT`, `INSERT OR IGNORE`,
`RETURNING`) and run it once:

- `rows_insert_new`: `INSERT ... ON CONFLICT DO NOTHING`; how many rows went in, or the
  chosen columns of those that did (`RETURNING`);
- `row_upsert_returning`: `INSERT ... ON CONFLICT (...) DO UPDATE SET ... RETURNING`; the row
  as stored after the statement (and locked by it until the transaction ends);
- `upsert_statement` and `statements_run`: writes whose outcome nobody reads, sent together,
  on PostgreSQL as one statement (data-modifying `WITH`), elsewhere one after the other.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery

# One SQL statement and its parameters.
Statement = tuple[str, list[Any]]


def _compiler(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    on_conflict: OnConflict,
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> Any:
    opts = model._meta
    using = router.db_for_write(model)
    query = InsertQuery(
        model,
        on_conflict=on_conflict,
        unique_fields=[opts.get_field(name) for name in unique_fields],
        update_fields=[opts.get_field(name) for name in update_fields],
    )
    fields = list(opts.concrete_fields)
    if opts.auto_field is not None and all(obj.pk is None for obj in objs):
        fields.remove(opts.auto_field)  # the database numbers the rows
    query.insert_values(fields, list(objs))
    return query.get_compiler(using=using)


def _run(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    on_conflict: OnConflict,
    returning: Sequence[str] = (),
    unique_fields: Sequence[str] = (),
    update_fields: Sequence[str] = (),
) -> tuple[int, list[tuple[Any, ...]]]:
    opts = model._meta
    connection = connections[router.db_for_write(model)]
    compiler = _compiler(
        model,
        objs,
        on_conflict=on_conflict,
        unique_fields=unique_fields,
        update_fields=update_fields,
    )
    returned = [opts.get_field(name) for name in returning]
    compiler.returning_fields = returned or None
    ((sql, params),) = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if not returned:
            return cursor.rowcount, []
        rows = cursor.fetchall()
    converters = compiler.get_converters([field.get_col(opts.db_table) for field in returned])
    if converters:
        rows = [tuple(row) for row in compiler.apply_converters(rows, converters)]
    return len(rows), rows


def rows_insert_new(
    model: type[models.Model], objs: Sequence[models.Model], *, returning: Sequence[str] = ()
) -> tuple[int, list[tuple[Any, ...]]]:
    """Insert `objs`, skipping those a unique constraint already holds: (how many went in,
    the `returning` columns of each row that did). Nothing to insert costs nothing."""
    if not objs:
        return 0, []
    return _run(model, objs, on_conflict=OnConflict.IGNORE, returning=returning)


def row_upsert_returning(
    obj: models.Model, *, unique_fields: Sequence[str], update_fields: Sequence[str]
) -> models.Model:
    """Insert `obj`, or on a conflict on `unique_fields` set `update_fields` from it; return
    the stored row, every column read back by the same statement. With `update_fields`
    naming the unique columns themselves the stored row is left as it was: an
    insert-or-lock, like `get_or_create` plus `select_for_update` in one statement."""
    model = type(obj)
    fields = [field.attname for field in model._meta.concrete_fields]
    _count, (row,) = _run(
        model,
        [obj],
        on_conflict=OnConflict.UPDATE,
        returning=[field.name for field in model._meta.concrete_fields],
        unique_fields=unique_fields,
        update_fields=update_fields,
    )
    return model.from_db(router.db_for_write(model), fields, row)


def upsert_statement(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
) -> Statement:
    """`bulk_create(objs, update_conflicts=True, ...)` as a statement to run later (with
    `statements_run`): one `INSERT ... ON CONFLICT (...) DO UPDATE` for all of them."""
    compiler = _compiler(
        model,
        objs,
        on_conflict=OnConflict.UPDATE,
        unique_fields=unique_fields,
        update_fields=update_fields,
    )
    statements = compiler.as_sql()
    if len(statements) != 1:  # pragma: no cover - one statement per insert on our databases
        raise ValueError("an insert of several statements cannot run with others")
    sql, params = statements[0]
    return sql, list(params)


def statements_run(statements: Sequence[Statement], *, using: str = "default") -> None:
    """Run writes whose results nobody reads, in order. On PostgreSQL they go as one
    statement, `WITH s0 AS (...), s1 AS (...) <last>`: each part runs once, to completion,
    on the same snapshot (so no part may depend on another's rows, and no two may write the
    same row). Elsewhere, one by one."""
    statements = [statement for statement in statements if statement[0]]
    if not statements:
        return
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for sql, params in statements:
                cursor.execute(sql, params)
            return
        *parts, (last_sql, last_params) = statements
        prefix = ", ".join(f"s{index} AS ({sql})" for index, (sql, _params) in enumerate(parts))
        params = [param for _sql, part_params in parts for param in part_params]
        sql = f"WITH {prefix} {last_sql}" if parts else last_sql
        cursor.execute(sql, [*params, *last_params])
