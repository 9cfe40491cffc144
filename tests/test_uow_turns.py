"""SQLite units of work take turns in the process (storage/uow.py), in the order they came."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

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
