"""A scheduled digest reaches Telegram: the text, then the chart as a photo and the spreadsheet
as a document, through the outbox and the real python-telegram-bot stack (fake Bot API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import open_app
from bot.outbox import OutboxWorker
from bot.reports import service
from bot.transports.telegram import TelegramTransport
from storage.models import Staff
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import FakeClock

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_weekly_digest_is_delivered_with_its_files(
    database_url: str, clock: FakeClock, tg: FakeTelegram, tmp_path: Path
) -> None:
    config = make_config(
        database_url,
        telegram={"token": tg.token, "base_url": tg.base_url},
        reports={"out_dir": str(tmp_path / "reports"), "chats": ["telegram:7100"]},
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
        while True:
            started, _ = await worker.dispatch()
            await worker.settle()
            if not started:
                break
        for chat in (7100, 7101):  # the configured chat and the district admin
            text, chart, sheet = tg.messages(chat)
            assert text.text is not None and "Tổng hợp Tiếp dân: Tuần 48/2026" in text.text
            assert chart.photo is not None and chart.caption == "Biểu đồ: Tuần 48/2026"
            assert sheet.document is not None and sheet.file_name == "danh-sach-ho-so-2026-W48.xlsx"
            assert sheet.caption == "Danh sách hồ sơ: Tuần 48/2026"
    finally:
        await transport.stop()
        await app.close()
