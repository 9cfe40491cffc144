"""SQLite units of work take turns in the process (storage/uow.py), in the order they came,
run their statements in the event loop's thread, and wait for another process's write lock
without stopping the loop (storage/db.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

import storage.db
from storage.db import LoopThreadConnection
from storage.uow import Database


async def _database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    async with db.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE log (at INTEGER PRIMARY KEY, what TEXT)"))
    return db


async def test_units_of_work_run_one_at_a_time_in_arrival_order(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    inside: list[int] = []
    order: list[int] = []
    overlaps = 0

    async def work(number: int) -> None:
        nonlocal overlaps
        async with db.unit_of_work() as uow:
            inside.append(number)
            overlaps = max(overlaps, len(inside))
            order.append(number)
            await uow.session.exec(text("INSERT INTO log (what) VALUES (:what)").bindparams(what=str(number)))  # type: ignore[call-overload]
            await asyncio.sleep(0.002)  # another task gets the loop meanwhile
            inside.remove(number)

    try:
        tasks = []
        for number in range(30):
            tasks.append(asyncio.create_task(work(number)))
            await asyncio.sleep(0)  # each one reaches the turn before the next is created
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        async with db.unit_of_work() as uow:
            stored = [row[0] for row in (await uow.session.exec(text("SELECT what FROM log ORDER BY at"))).all()]  # type: ignore[call-overload]
    finally:
        await db.close()
    assert overlaps == 1
    assert order == list(range(30))
    assert stored == [str(number) for number in range(30)]


async def test_a_unit_of_work_inside_another_of_the_same_task_does_not_wait_for_it(tmp_path: Path) -> None:
    db = await _database(tmp_path)

    async def nested() -> None:
        async with db.unit_of_work() as outer:
            async with db.unit_of_work() as inner:  # waiting for the outer's turn would never end
                await inner.session.exec(text("INSERT INTO log (what) VALUES ('inner')"))  # type: ignore[call-overload]
            await outer.session.exec(text("INSERT INTO log (what) VALUES ('outer')"))  # type: ignore[call-overload]

    try:
        await asyncio.wait_for(nested(), 10)
        async with db.read_only() as uow:
            stored = [row[0] for row in (await uow.session.exec(text("SELECT what FROM log ORDER BY at"))).all()]  # type: ignore[call-overload]
    finally:
        await db.close()
    assert stored == ["inner", "outer"]


async def test_postgresql_and_read_only_units_take_no_turn(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        # A read-only unit of work (reports) runs beside a writing one.
        async with db.unit_of_work(), db.read_only() as reader:
            assert (await reader.session.exec(text("SELECT count(*) FROM log"))).one()[0] == 0  # type: ignore[call-overload]
    finally:
        await db.close()
    postgres = Database("postgresql://nobody@127.0.0.1:1/none")  # never connected
    try:
        assert postgres._turn is None
    finally:
        await postgres.close()


async def test_writes_run_in_the_loop_thread_and_reads_in_aiosqlite_threads(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    try:
        async with db.unit_of_work() as writer, db.read_only() as reader:
            write_connection = await (await writer.session.connection()).get_raw_connection()
            read_connection = await (await reader.session.connection()).get_raw_connection()
            assert isinstance(write_connection.driver_connection, LoopThreadConnection)
            assert not isinstance(read_connection.driver_connection, LoopThreadConnection)
            await writer.session.exec(text("INSERT INTO log (what) VALUES ('w')"))  # type: ignore[call-overload]
        async with db.read_only() as reader:
            assert (await reader.session.exec(text("SELECT what FROM log"))).one()[0] == "w"  # type: ignore[call-overload]
    finally:
        await db.close()


async def test_a_writer_waits_for_another_process_lock_with_the_loop_running(tmp_path: Path) -> None:
    db = await _database(tmp_path)
    other = sqlite3.connect(tmp_path / "turns.db", isolation_level=None)  # another process, say a CLI command
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with db.unit_of_work() as uow:
            await uow.session.exec(text("INSERT INTO log (what) VALUES ('bot')"))  # type: ignore[call-overload]

    ticker = asyncio.create_task(tick())
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO log (what) VALUES ('cli')")
        writer = asyncio.create_task(write())
        await asyncio.sleep(0.5)
        assert not writer.done()  # it waits for the lock...
        assert ticks >= 20  # ...and the loop goes on meanwhile
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 5)
        async with db.read_only() as reader:
            stored = [row[0] for row in (await reader.session.exec(text("SELECT what FROM log ORDER BY at"))).all()]  # type: ignore[call-overload]
    finally:
        ticker.cancel()
        other.close()
        await db.close()
    assert stored == ["cli", "bot"]


async def test_a_writer_gives_up_on_a_lock_held_too_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.db, "BUSY_SECONDS", 0.3)
    db = await _database(tmp_path)
    other = sqlite3.connect(tmp_path / "turns.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            async with db.unit_of_work() as uow:
                await uow.session.exec(text("INSERT INTO log (what) VALUES ('bot')"))  # type: ignore[call-overload]
        other.execute("ROLLBACK")
        async with db.unit_of_work() as uow:  # and works again once the lock is free
            await uow.session.exec(text("INSERT INTO log (what) VALUES ('bot')"))  # type: ignore[call-overload]
    finally:
        other.close()
        await db.close()
