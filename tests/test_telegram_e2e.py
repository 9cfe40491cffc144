"""End to end over Telegram: python-telegram-bot's real HTTP stack against the loopback fake Bot API.

The bot runs as in production (polling, the outbox worker); the test plays the citizen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import App, open_app
from bot.dialog.types import Button, Outgoing
from bot.outbox import OutboxWorker
from bot.text import plain_text
from bot.transports.telegram import TelegramTransport
from storage.models import Case, OutboxMessage
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram, SentMessage
from tests.helpers import FakeClock

CITIZEN = 4242
ADMIN = 900001


@dataclass
class Running:
    tg: FakeTelegram
    app: App
    transport: TelegramTransport

    async def say(self, user: int, text: str) -> SentMessage:
        await self.tg.send_text(user, text)
        return await self.tg.next_message(user)

    async def press(self, user: int, message: SentMessage, label: str) -> SentMessage:
        await self.tg.press(user, message, label)
        return await self.tg.next_message(user)

    async def replies(self, user: int, count: int) -> list[SentMessage]:
        return await self.tg.wait_messages(user, count)


@pytest.fixture
async def running(database_url: str, clock: FakeClock) -> AsyncIterator[Running]:
    async with FakeTelegram() as tg:
        config = make_config(database_url, telegram={"token": tg.token, "base_url": tg.base_url})
        app = await open_app(config, clock=clock, migrate=False)
        worker: OutboxWorker | None = None
        transport = TelegramTransport(app, on_queued=lambda: worker.wake() if worker else None)
        worker = OutboxWorker(app.db, {"telegram": transport}, clock, idle_interval=0.05)
        await transport.start()
        task = asyncio.create_task(worker.run_forever())
        try:
            yield Running(tg, app, transport)
        finally:
            task.cancel()
            await transport.stop()
            await app.close()


def _last_with_buttons(messages: list[SentMessage]) -> SentMessage:
    return next(m for m in reversed(messages) if m.buttons)


async def test_petition_over_telegram(running: Running) -> None:
    tg = running.tg
    await tg.send_text(CITIZEN, "/start")
    greeting, consent = await running.replies(CITIZEN, 2)
    assert "Xin chào" in (greeting.text or "") and greeting.parse_mode == "HTML"
    assert consent.button_labels() == ["✅ Tôi đồng ý", "❌ Không đồng ý"]
    # Callback data is an opaque token, never the value behind it.
    assert all(len(data) <= 64 and "consent" not in data for row in consent.buttons for _, data in row)

    await tg.press(CITIZEN, consent, "✅ Tôi đồng ý")
    thanks, menu = await tg.wait_messages(CITIZEN, 2)
    assert "Cảm ơn" in (thanks.text or "")
    assert tg.callback_answers, "the button press was acknowledged"
    await tg.press(CITIZEN, menu, "📝 Gửi phản ánh, kiến nghị")
    types = await tg.next_message(CITIZEN)
    communes = await running.press(CITIZEN, types, "Phản ánh")
    assert "Xã Kim Hòa" in communes.button_labels()
    await tg.send_text(CITIZEN, "thanh hoa son")
    chosen, _ = await tg.wait_messages(CITIZEN, 2)
    assert "Xã Thạnh Hòa Sơn" in (chosen.text or "")
    await tg.send_text(CITIZEN, "Bãi rác tự phát bên bờ kênh <ấp Sóc Chuối> bốc mùi & ruồi nhặng")
    progress = await tg.next_message(CITIZEN)
    assert "1 tin nhắn" in (progress.text or "")
    await tg.send_photo(CITIZEN, caption="ảnh chụp sáng nay")
    await tg.next_message(CITIZEN)
    await tg.send_location(CITIZEN, 9.72, 106.52)
    progress = await tg.next_message(CITIZEN)
    assert "1 ảnh, có vị trí" in (progress.text or "")
    phone = await running.press(CITIZEN, progress, "✅ Xong")
    summary = await running.press(CITIZEN, phone, "⏭ Bỏ qua")
    assert "&lt;ấp Sóc Chuối&gt; bốc mùi &amp; ruồi" in (summary.text or "")
    await tg.press(CITIZEN, summary, "📨 Gửi")
    received, _menu = await tg.wait_messages(CITIZEN, 2)
    assert "CN-2026-00001" in (received.text or "")

    async with running.app.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
    assert case.channel == "telegram" and case.chat_id == str(CITIZEN)
    assert case.attachments[0]["kind"] == "photo" and case.attachments[0]["file"]
    assert "ảnh chụp sáng nay" in case.description

    # The bootstrap super-admin is notified through the outbox.
    notice = await tg.next_message(ADMIN)
    assert "Hồ sơ mới CN-2026-00001" in (notice.text or "")
    await _outbox_row(running.app, lambda r: r.status == "sent")

    await tg.send_text(CITIZEN, "/hoso")
    listing = await tg.next_message(CITIZEN)
    card = await running.press(CITIZEN, listing, "CN-2026-00001")
    assert "Bãi rác tự phát" in (card.text or "") and "Đã tiếp nhận" in (card.text or "")


async def test_forged_and_foreign_buttons_do_nothing(running: Running) -> None:
    tg = running.tg
    await tg.send_text(CITIZEN, "/start")
    _, consent = await running.replies(CITIZEN, 2)
    token = consent.button_data("✅ Tôi đồng ý")
    other = 5151
    await tg.send_text(other, "/menu")
    menu = await tg.next_message(other)
    await tg.press_data(other, menu.message_id, token)  # someone else's token
    refused = await tg.next_message(other)
    assert "không còn dùng được" in (refused.text or "")
    await tg.press_data(other, menu.message_id, "consent:yes")  # forged value
    refused = await tg.next_message(other)
    assert "không còn dùng được" in (refused.text or "")
    async with running.app.db.unit_of_work() as uow:
        citizen = await uow.citizens.find("telegram", str(other))
    assert citizen is not None and citizen.consent_at is None


async def test_outbox_honours_retry_after(running: Running, clock: FakeClock) -> None:
    from datetime import timedelta

    from bot.dialog.types import Reply
    from bot.services import notify

    tg = running.tg
    tg.fail("sendMessage", status=429, retry_after=7, times=1)
    async with running.app.db.unit_of_work() as uow:
        await notify.enqueue(uow, "telegram", "777", Reply("Thông báo thử"), now=clock())
    running.transport.on_queued()
    row = await _outbox_row(running.app, lambda r: r.attempts == 1)
    assert row.status == "pending" and row.last_error == "rate limited"
    assert row.next_attempt_at == clock() + timedelta(seconds=7)
    assert tg.messages(777) == []
    clock.advance(seconds=7)
    running.transport.on_queued()
    message = await tg.next_message(777)
    assert message.text == "Thông báo thử"
    row = await _outbox_row(running.app, lambda r: r.status == "sent")
    assert row.attempts == 2
    assert len(tg.messages(777)) == 1


async def _outbox_row(app: App, predicate: Callable[[OutboxMessage], bool], timeout: float = 5.0) -> OutboxMessage:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with app.db.unit_of_work() as uow:
            [row] = (await uow.session.exec(select(OutboxMessage))).all()
        if predicate(row):
            return row
        if loop.time() > deadline:
            raise AssertionError(f"outbox row never matched: {row}")
        await asyncio.sleep(0.02)


async def test_a_caption_longer_than_telegram_allows_continues_in_messages(running: Running, tmp_path: Path) -> None:
    user = 4242
    await running.tg.send_text(user, "/start")
    await running.replies(user, 2)  # the greeting and the consent question
    already = len(running.tg.messages(user))
    report = tmp_path / "bao-cao-tuan.xlsx"
    report.write_bytes(b"PK\x03\x04 spreadsheet")
    lines = [f"Xã số {number}: <b>{number * 3}</b> hồ sơ, đúng hạn <i>{90 + number % 10} %</i>" for number in range(60)]
    text = "<b>Báo cáo tuần 48</b>\n" + "\n".join(lines)
    message = Outgoing("telegram", str(user), text, ((Button("Xem", "tok-xem"),),), file=str(report))
    assert running.transport.pieces(message) == 3

    await running.transport.send(message)

    sent = running.tg.messages(user)[already:]
    assert [m.method for m in sent] == ["sendDocument", "sendMessage", "sendMessage"]
    assert sent[0].file_name == "bao-cao-tuan.xlsx"
    assert sent[0].plain_text is not None and sent[0].plain_text.startswith("Báo cáo tuần 48\nXã số 0: 0 hồ sơ")
    assert all(len(m.plain_text or "") <= 1024 for m in sent[:1])
    shown = "\n".join(m.plain_text or "" for m in sent)
    assert shown.split() == plain_text(text).split()  # nothing lost, every tag closed and reopened
    assert [m.button_labels() for m in sent] == [[], [], ["Xem"]]  # the buttons under the last piece
