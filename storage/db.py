"""Database engines and sessions for SQLite (embedded default) and PostgreSQL.

URLs are accepted in their plain form (``sqlite:///var/x.db``,
``postgresql://user@host/db``) and given their async driver here. SQLite runs
in WAL mode with foreign keys on, and every transaction takes the write lock
at its start (``BEGIN IMMEDIATE``) so that two writers queue instead of
failing halfway; a connection with the execution option ``READ_ONLY`` (see
:func:`read_only_engine`) begins with a plain deferred ``BEGIN`` instead and
never takes the write lock. Engines hide statement parameters in their errors, so that a
logged database error never carries personal data.

SQLite's engine for units of work runs its statements in the event loop's thread
(:class:`LoopThreadConnection`); the engine for reads (reports) keeps aiosqlite's thread per
connection, so that a long query never stops the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import private

T = TypeVar("T")
BUSY_SECONDS = 10.0  # how long a writer waits for another process's write lock


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


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL, None for an in-memory or URI database."""
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database)
    return None


def _prepare_sqlite_file(url: URL) -> None:
    # Private (0600, its folder 0700 when created) before the first connection: see storage.private.
    path = sqlite_file(url)
    if path is not None:
        private.prepare_sqlite_file(path)


class LoopThreadConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run at once, in the event loop's thread.

    aiosqlite hands every call (cursor, execute, fetch, close) to a thread of its own and the
    result back through the event loop. A dialog turn makes 30 to 40 such calls, and the
    hand-overs (a queue, the GIL, a wake-up of the loop) cost more CPU than the statements:
    in the load benchmark the bot's CPU per update went from 11.3 to 5.9 ms this way, and its
    throughput from 84 to 167 updates a second (docs/benchmarks.md, "Load"). A turn's statements take microseconds on a local file, and
    the units of work of this process take turns anyway (storage/uow.py), so running them
    right here loses nothing. The thread still opens the connection. What could make SQLite
    wait here, another process's write lock, is waited for without blocking the loop (see
    :func:`_on_sqlite_begin`); long reads go to the threaded engine of :func:`read_only_engine`.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")  # what aiosqlite says (SQLAlchemy maps it)
        return fn(*args, **kwargs)


def _loop_thread_creator(url: URL) -> Callable[[], Any]:
    database = url.database or ":memory:"
    uri = database.startswith("file:")

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, uri=uri, check_same_thread=False)

    async def connect() -> aiosqlite.Connection:
        return await LoopThreadConnection(connector)

    return connect


def _on_sqlite_connect(dbapi_connection: Any, _record: Any, *, wait_in_sqlite: bool) -> None:
    # Let us issue BEGIN ourselves (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if not wait_in_sqlite:
        # In the loop's thread SQLite's busy handler would sleep with the loop stopped.
        cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


READ_ONLY = "tiepdan_read_only"
"""Execution option: the transaction only reads (SQLite: deferred ``BEGIN``, no write lock)."""


def _on_sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
        return
    # Another process (a CLI command) may hold the write lock: wait for it here, sleeping in
    # the event loop (the statement runs in the loop's thread, with no busy handler).
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.002
    while True:
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                raise
        await_only(asyncio.sleep(pause))
        pause = min(0.05, pause * 2)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Errors never quote a statement's parameters: they hold what people wrote, and errors get logged.
    kwargs.setdefault("hide_parameters", True)
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_file(parsed)
        threaded = kwargs.pop("threaded", False)
        if not threaded:
            kwargs["async_creator"] = _loop_thread_creator(parsed)
        engine = create_async_engine(parsed, **kwargs)

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            _on_sqlite_connect(dbapi_connection, record, wait_in_sqlite=threaded)

        event.listen(engine.sync_engine, "connect", on_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **kwargs)


def read_only_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine for transactions that only read.

    SQLite: an engine of its own on the same file, made once per engine (:func:`dispose`
    closes both), whose connections run in aiosqlite's threads (a report's queries take
    seconds on a large database, and several run at once) and begin with a deferred
    ``BEGIN``, so that a long read does not hold the write lock and the bot keeps writing
    meanwhile (WAL readers see the snapshot of their first read).
    PostgreSQL: the same engine and pool, in ``READ ONLY`` transactions (asyncpg's
    ``postgresql_readonly``; the setting is reset when the connection goes back to the pool).
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{READ_ONLY: True, "postgresql_readonly": True})
    reader = _READERS.get(engine.sync_engine)
    if reader is None:
        reader = create_engine(str(engine.url.render_as_string(hide_password=False)), threaded=True)
        reader = reader.execution_options(**{READ_ONLY: True})
        _READERS[engine.sync_engine] = reader
    return reader


_READERS: weakref.WeakKeyDictionary[Engine, AsyncEngine] = weakref.WeakKeyDictionary()


async def dispose(engine: AsyncEngine) -> None:
    """Close an engine's connections, and those of its reader (SQLite)."""
    reader = _READERS.pop(engine.sync_engine, None)
    if reader is not None:
        await reader.dispose()
    await engine.dispose()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` that keep their objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
