"""Reports read in a read-only unit of work: the bot keeps writing while one is built.

On SQLite a normal unit of work begins with ``BEGIN IMMEDIATE`` (the write lock); a report held
that lock for seconds on a large database. ``Database.read_only()`` begins with a deferred
``BEGIN`` on SQLite and a ``READ ONLY`` transaction on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError

from storage.models import ReportRun
from storage.uow import Database

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def _write(db: Database, period: str) -> None:
    async with db.unit_of_work() as uow:
        await uow.reports.save(ReportRun(kind="test", period=period, status="sent", created_at=NOW))


async def test_a_write_commits_while_a_read_only_unit_of_work_is_open(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.read_only() as reader:
            # A real read first: on SQLite the snapshot (and its shared lock) starts here.
            assert await reader.reports.find("test", "before") is None
            await asyncio.wait_for(_write(db, "during"), 2)
            await reader.units.all()  # the reader is still usable after the write
        async with db.read_only() as reader:
            assert await reader.reports.find("test", "during") is not None
        # The connection the reader used went back to the pool: writing still works.
        await asyncio.wait_for(_write(db, "after"), 2)
    finally:
        await db.close()


async def test_a_read_only_unit_of_work_refuses_writes_on_postgresql(database_url: str, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has no read-only transactions; the deferred BEGIN is what matters there")
    db = Database(database_url)
    try:
        with pytest.raises(DBAPIError, match="read-only"):
            async with db.read_only() as uow:
                await uow.reports.save(ReportRun(kind="test", period="x", status="sent", created_at=NOW))
        await _write(db, "x")
    finally:
        await db.close()
