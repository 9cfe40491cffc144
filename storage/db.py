"""Database engines and sessions for SQLite (embedded default) and PostgreSQL.

URLs are accepted in their plain form (``sqlite:///var/x.db``,
``postgresql://user@host/db``) and given their async driver here. SQLite runs
in WAL mode with foreign keys on, and every transaction takes the write lock
at its start (``BEGIN IMMEDIATE``) so that two writers queue instead of
failing halfway; a connection with the execution option ``READ_ONLY`` (see
:func:`read_only_engine`) begins with a plain deferred ``BEGIN`` instead and
never takes the write lock. Engines hide statement parameters in their errors, so that a
logged database error never carries personal data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(url: str) -> URL:
    """The SQLAlchemy URL with an async driver, whatever form was configured."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL: {url}")


def sync_url(url: str) -> URL:
    """The same database with a synchronous driver (for tools that need one)."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed.set(drivername="postgresql+psycopg")


def jobs_url(url: str) -> URL:
    """Where the scheduler keeps its jobs, with a synchronous driver.

    On SQLite that is a sibling file (``tiepdan.db`` -> ``tiepdan-jobs.db``): APScheduler writes
    its job store synchronously from the event loop's thread, and on the main file that write
    could wait for a transaction that itself waits for the loop. PostgreSQL locks rows, not the
    database, so there the jobs live in the project database.
    """
    parsed = sync_url(url)
    if parsed.get_backend_name() != "sqlite":
        return parsed
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return parsed
    path = Path(database)
    return parsed.set(database=str(path.with_name(f"{path.stem}-jobs{path.suffix or '.db'}")))


def _prepare_sqlite_file(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let us issue BEGIN ourselves (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "tiepdan_read_only"
"""Execution option: the transaction only reads (SQLite: deferred ``BEGIN``, no write lock)."""


def _on_sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Errors never quote a statement's parameters: they hold what people wrote, and errors get logged.
    kwargs.setdefault("hide_parameters", True)
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **kwargs)


def read_only_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for transactions that only read.

    SQLite: a deferred ``BEGIN``, so that a long read (a report) does not hold the write lock
    and the bot keeps writing meanwhile (WAL readers see the snapshot of their first read).
    PostgreSQL: a ``READ ONLY`` transaction (asyncpg's ``postgresql_readonly``; the setting is
    reset when the connection goes back to the pool).
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})
    return engine.execution_options(**{READ_ONLY: True})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` that keep their objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
