"""Issue #12, item 7: the files that hold personal data are readable by their owner only.

The database (and SQLite's -wal and -shm beside it), its folder, the
report files and their folders, and backups used to be created with the process's umask
(usually 022: readable by every local user). Each test sets a permissive umask first, so that
what it checks is the bot's doing, not the environment's.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.app import open_app
from bot.outbox import OutboxWorker
from bot.reports import service
from bot.transports.telegram import TelegramTransport
from storage.backup import backup
from storage.models import Staff
from storage.uow import Database
from tests import reports_dataset
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import Chat, FakeClock

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _readable_by_everyone(folder: Path) -> None:
    for file in folder.iterdir():
        file.chmod(0o644)


async def _write_something(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.session.exec(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))  # type: ignore[call-overload]
        await uow.session.exec(text("INSERT INTO probe VALUES (1)"))  # type: ignore[call-overload]


async def test_a_new_database_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "tiepdan.db"
    db = Database(f"sqlite:///{path}")
    try:
        await _write_something(db)
        assert mode(path.parent) == 0o700
        for file in (path, path.with_name("tiepdan.db-wal"), path.with_name("tiepdan.db-shm")):
            assert file.exists(), file
            assert mode(file) == 0o600, f"{file.name}: {oct(mode(file))}"
    finally:
        await db.close()


async def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "tiepdan.db"
    db = Database(f"sqlite:///{path}")
    await _write_something(db)
    await db.close()
    _readable_by_everyone(tmp_path)
    db = Database(f"sqlite:///{path}")
    try:
        await _write_something(db)
        for file in (path, path.with_name("tiepdan.db-wal"), path.with_name("tiepdan.db-shm")):
            assert mode(file) == 0o600, f"{file.name}: {oct(mode(file))}"
    finally:
        await db.close()


async def test_report_files_and_their_folder_are_private(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    app = await open_app(make_config(database_url, reports={"out_dir": str(out)}), clock=clock, migrate=False)
    try:
        await reports_dataset.build(app)
        async with app.db.unit_of_work() as uow:
            await uow.staff.save(
                Staff(channel="console", channel_user_id="3001", chat_id="3001", role="district_admin")
            )
        await Chat(app, user_id="3001").say("/baocao 2026-W47")
        async with app.db.unit_of_work() as uow:
            files = [
                Path(m.payload["file"]) for m in await uow.outbox.for_chat("console", "3001") if m.payload.get("file")
            ]
    finally:
        await app.close()
    assert files
    for file in files:
        assert mode(file) == 0o600, f"{file.name}: {oct(mode(file))}"
        folder = file.parent
        while folder != tmp_path:
            assert mode(folder) == 0o700, f"{folder}: {oct(mode(folder))}"
            folder = folder.parent


async def test_a_backup_is_private(tmp_path: Path) -> None:
    path = tmp_path / "tiepdan.db"
    db = Database(f"sqlite:///{path}")
    try:
        await _write_something(db)
    finally:
        await db.close()
    made = backup(f"sqlite:///{path}", tmp_path / "backups" / "")
    assert mode(made) == 0o600 and mode(made.parent) == 0o700


async def test_report_folders_are_deleted_once_delivered(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    """Delivered to every chat it was for, a report's files and folder are gone from the disk."""
    out = tmp_path / "reports"
    async with FakeTelegram() as tg:
        config = make_config(
            database_url,
            telegram={"token": tg.token, "base_url": tg.base_url},
            reports={"out_dir": str(out), "chats": ["telegram:7100"]},
        )
        app = await open_app(config, clock=clock, migrate=False)
        transport = TelegramTransport(app, poll_timeout=1)
        worker = OutboxWorker(app.db, {"telegram": transport}, clock, services=app.services, chat_interval=0.0)  # type: ignore[arg-type]
        try:
            await transport.start()
            async with app.db.unit_of_work() as uow:
                await uow.staff.save(
                    Staff(channel="telegram", channel_user_id="7101", chat_id="7101", role="district_admin")
                )
            clock.now = datetime(2026, 11, 20, 9, 0, tzinfo=TZ).astimezone(UTC)
            await service.installed_at(app.db, clock.now)
            clock.now = datetime(2026, 11, 30, 7, 30, tzinfo=TZ).astimezone(UTC)
            assert await service.run_scheduled(app.db, app.services, "weekly") == "sent"
            written = [path for path in out.rglob("*") if path.is_file()]
            assert written
            while True:
                started, _ = await worker.dispatch()
                await worker.settle()
                if not started:
                    break
            for chat in (7100, 7101):  # both got the text, the chart and the case list
                assert len(tg.messages(chat)) == 3
        finally:
            await transport.stop()
            await app.close()
    assert [path for path in out.rglob("*")] == []
