"""Bulk loading: many rows in one statement, for demo data and benchmarks.

Why this module exists: loading a million synthetic cases row by row through the ORM would take
hours. Rows are given as dictionaries with their primary keys already chosen by the caller (so
that events can point at their case without a round trip), and written with PostgreSQL's COPY
(asyncpg's ``copy_records_to_table``) or with one ``executemany`` on SQLite. Nothing commits
here: the caller's unit of work does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Counter


async def _connection(session: AsyncSession) -> AsyncConnection:
    return await session.connection()


async def max_id(session: AsyncSession, model: type[SQLModel]) -> int:
    """The largest id of a table (0 when empty)."""
    table = model.__table__  # type: ignore[attr-defined]
    result = await (await _connection(session)).execute(select(func.coalesce(func.max(table.c.id), 0)))
    return int(result.scalar_one())


def _copy_value(value: Any, json_column: bool) -> Any:
    if json_column:
        return json.dumps(value, ensure_ascii=False)
    return value


async def insert_rows(session: AsyncSession, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (same keys in every row) into the table of ``model``."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    connection = await _connection(session)
    columns = list(rows[0])
    if connection.dialect.name == "sqlite":
        await _sqlite_executemany(connection, table, columns, rows)
        return
    if connection.dialect.name != "postgresql":
        await connection.execute(insert(table), list(rows))
        return
    json_columns = [table.c[name].type.__class__.__name__ == "JSON" for name in columns]
    records = [
        tuple(_copy_value(row[name], is_json) for name, is_json in zip(columns, json_columns, strict=True))
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(table.name, records=records, columns=columns)


def _sqlite_datetime(value: datetime | None) -> str | None:
    # What storage.types.UTCDateTime stores on SQLite: naive UTC text with microseconds.
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ("{}" if isinstance(value, dict) else "[]")


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _same(value: Any) -> Any:
    return value


def _sqlite_converter(column: Any) -> Any:
    kind = type(column.type).__name__
    if kind == "UTCDateTime":
        return _sqlite_datetime
    if kind == "Date":
        return _sqlite_date
    if kind == "JSON":
        return _sqlite_json
    if kind == "Boolean":
        return _sqlite_bool
    return _same


async def _sqlite_executemany(
    connection: AsyncConnection, table: Any, columns: list[str], rows: Sequence[dict[str, Any]]
) -> None:
    """One executemany on the driver, values converted the way SQLAlchemy would store them."""
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    converters = [(name, _sqlite_converter(table.c[name])) for name in columns]
    values = [tuple(convert(row[name]) for name, convert in converters) for row in rows]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.executemany(sql, values)


async def after_load(session: AsyncSession, models: Sequence[type[SQLModel]]) -> None:
    """Move PostgreSQL's id sequences past the ids given explicitly; refresh planner statistics."""
    connection = await _connection(session)
    if connection.dialect.name == "postgresql":
        for model in models:
            name = model.__table__.name  # type: ignore[attr-defined]
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                )
            )
    await connection.execute(text("ANALYZE"))


async def counter(session: AsyncSession, name: str) -> int:
    row = await session.get(Counter, name)
    return 0 if row is None else row.value


async def set_counter(session: AsyncSession, name: str, value: int) -> None:
    row = await session.get(Counter, name)
    if row is None:
        session.add(Counter(name=name, value=value))
    elif row.value < value:
        row.value = value
        session.add(row)
    await session.flush()
