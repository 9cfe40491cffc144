"""A bot process killed mid-conversation picks up where it was: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from storage.models import Case
from storage.uow import Database
from tests.conftest import ROOT
from tests.fakes.telegram_api import FakeTelegram

CITIZEN = 3131


class BotProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(self.config),
            "run",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def wait(self) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.process.wait()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def _write_config(path: Path, database_url: str, tg: FakeTelegram) -> Path:
    path.write_text(
        f"""
[deployment]
data_dir = "{ROOT / "data"}"
[database]
url = "{database_url}"
[telegram]
token = "{tg.token}"
base_url = "{tg.base_url}"
""",
        encoding="utf-8",
    )
    return path


async def _cases(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.unit_of_work() as uow:
            return int((await uow.session.exec(select(func.count()).select_from(Case))).one())
    finally:
        await db.close()


async def test_kill_mid_flow_then_continue(tmp_path: Path, database_url: str, tg: FakeTelegram) -> None:
    bot = BotProcess(_write_config(tmp_path / "config.toml", database_url, tg))
    await bot.start()
    try:
        await tg.send_text(CITIZEN, "/phananh")
        _, consent = await tg.wait_messages(CITIZEN, 2, timeout=30)
        await tg.press(CITIZEN, consent, "✅ Tôi đồng ý")
        _, types = await tg.wait_messages(CITIZEN, 2, timeout=10)
        await tg.press(CITIZEN, types, "Phản ánh")
        await tg.next_message(CITIZEN, timeout=10)
        await tg.send_text(CITIZEN, "my hoa")
        await tg.wait_messages(CITIZEN, 2, timeout=10)

        bot.kill()  # in the middle of the petition: the step "describe" is saved
        await bot.wait()
        await bot.start()

        await tg.send_text(CITIZEN, "Trụ điện nghiêng sắp đổ trước trường tiểu học")
        progress = await tg.next_message(CITIZEN, timeout=30)
        assert "1 tin nhắn" in (progress.text or "")
        await tg.press(CITIZEN, progress, "✅ Xong")
        phone = await tg.next_message(CITIZEN, timeout=10)
        await tg.press(CITIZEN, phone, "⏭ Bỏ qua")
        summary = await tg.next_message(CITIZEN, timeout=10)
        assert "Xã Mỹ Hòa" in (summary.text or "")
        await tg.press(CITIZEN, summary, "📨 Gửi")
        received = await tg.next_message(CITIZEN, timeout=10)
        year = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year
        assert f"CN-{year}-00001" in (received.text or "")

        bot.kill()  # right after confirming: the update may not be acknowledged to Telegram yet
        await bot.wait()
        await bot.start()
        await tg.send_text(CITIZEN, "/hoso")
        listing = await tg.next_message(CITIZEN, timeout=30)
        while "Hồ sơ của bạn" not in (listing.text or ""):
            listing = await tg.next_message(CITIZEN, timeout=10)
        assert (listing.text or "").count("CN-") == 1
        assert await _cases(database_url) == 1
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.kill()
        await bot.wait()
