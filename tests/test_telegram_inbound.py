"""Exactly-once inbound on Telegram: an update is acknowledged only after its effects are committed.

Polling: the ``getUpdates`` offset passes an update only once the engine committed it and its
replies went out; chats run concurrently, each chat in order; a failed update is tried again.
Webhook: the secret is checked before anything is read, 200 comes only after the commit, a
failure answers 500 so that Telegram delivers again, and a redelivery is not processed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from sqlmodel import select

from bot.app import App, open_app
from bot.config import ConfigError
from bot.dialog.runtime import Result
from bot.dialog.types import Inbound
from bot.outbox import OutboxWorker
from bot.transports.telegram import SECRET_HEADER, TelegramTransport
from storage.models import ProcessedUpdate
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import FakeClock
from tests.zalo_helpers import free_port

CITIZEN = 4301
OTHER = 4302
SECRET = "webhook-secret_for-tests"
ERROR_TEXT = "hệ thống đang gặp sự cố"

Handle = Callable[[Inbound], Awaitable[Result]]


@dataclass
class Bot:
    tg: FakeTelegram
    app: App
    transport: TelegramTransport
    webhook_url: str = ""

    def wrap(self, wrapper: Callable[[Handle, Inbound], Awaitable[Result]]) -> None:
        """Put ``wrapper`` around the engine's handle (to hold or break a transaction)."""
        original = self.app.engine.handle

        async def handle(inbound: Inbound) -> Result:
            return await wrapper(original, inbound)

        self.app.engine.handle = handle  # type: ignore[method-assign]

    async def processed(self) -> list[str]:
        async with self.app.db.unit_of_work() as uow:
            rows = (await uow.session.exec(select(ProcessedUpdate))).all()
        return sorted(row.update_id for row in rows if row.channel == "telegram")


@contextlib.asynccontextmanager
async def telegram_bot(
    database_url: str, clock: FakeClock, tg: FakeTelegram, *, mode: str = "polling", start: bool = True
) -> AsyncIterator[Bot]:
    section: dict[str, object] = {"token": tg.token, "base_url": tg.base_url, "mode": mode}
    url = ""
    if mode == "webhook":
        port = free_port()
        url = f"http://127.0.0.1:{port}/telegram"
        section.update(webhook_url=url, webhook_secret=SECRET, webhook_listen="127.0.0.1", webhook_port=port)
    config = make_config(database_url, telegram=section, dialog={"rate_limit_messages": 0})
    app = await open_app(config, clock=clock, migrate=False)
    worker: OutboxWorker | None = None
    transport = TelegramTransport(
        app, on_queued=lambda: worker.wake() if worker else None, poll_timeout=1, retry_delay=0.05
    )
    worker = OutboxWorker(app.db, {"telegram": transport}, clock, idle_interval=0.05)
    outbox = asyncio.create_task(worker.run_forever())
    bot = Bot(tg, app, transport, url)
    try:
        if start:
            await transport.start()
        yield bot
    finally:
        outbox.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await outbox
        await transport.stop()
        await app.close()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_retry_delay=0.05) as fake:
        yield fake


# ------------------------------------------------------------------ polling


async def test_offset_moves_only_after_the_commit(database_url: str, clock: FakeClock, tg: FakeTelegram) -> None:
    async with telegram_bot(database_url, clock, tg) as bot:
        entered, release = asyncio.Event(), asyncio.Event()

        async def hold(handle: Handle, inbound: Inbound) -> Result:
            entered.set()
            await release.wait()
            return await handle(inbound)

        bot.wrap(hold)
        update_id = await tg.send_text(CITIZEN, "/start")
        await asyncio.wait_for(entered.wait(), timeout=10)
        # Fetched and being handled, but not committed: Telegram still holds it.
        assert not tg.is_confirmed(update_id)
        assert [u["update_id"] for u in tg.pending_updates] == [update_id]
        assert await bot.processed() == []
        release.set()
        greeting, _consent = await tg.wait_messages(CITIZEN, 2)
        assert "Xin chào" in (greeting.text or "")
        await tg.wait_for_confirmed(update_id)
        assert await bot.processed() == [str(update_id)]


async def test_chats_run_concurrently_and_each_chat_in_order(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg, start=False) as bot:
        release = asyncio.Event()
        order: list[str] = []

        async def hold_first_citizen_update(handle: Handle, inbound: Inbound) -> Result:
            if inbound.chat_id == str(CITIZEN) and inbound.command == "start":
                await release.wait()
            order.append(f"{inbound.chat_id}:{inbound.command}")
            return await handle(inbound)

        bot.wrap(hold_first_citizen_update)
        # All three are queued before the bot starts: one getUpdates batch.
        first = await tg.send_text(CITIZEN, "/start")
        second = await tg.send_text(CITIZEN, "/lichtiepdan")
        other = await tg.send_text(OTHER, "/start")
        await bot.transport.start()

        # The other chat is answered while the citizen's first update is held...
        await tg.wait_messages(OTHER, 2, timeout=10)
        # ...the citizen's second update waits for the first, and nothing of the batch is confirmed.
        assert order == [f"{OTHER}:start"]
        assert not any(tg.is_confirmed(u) for u in (first, second, other))
        release.set()
        greeting, consent, schedule = await tg.wait_messages(CITIZEN, 3, timeout=10)
        assert "Xin chào" in (greeting.text or "") and consent.buttons
        assert "lịch tiếp công dân" in (schedule.plain_text or "").lower()
        assert order == [f"{OTHER}:start", f"{CITIZEN}:start", f"{CITIZEN}:lichtiepdan"]
        await tg.wait_for_confirmed(other)
        assert await bot.processed() == sorted(str(u) for u in (first, second, other))


async def test_a_failed_update_is_tried_again_and_the_person_told_once(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg) as bot:
        failures = 0

        async def fail_twice(handle: Handle, inbound: Inbound) -> Result:
            nonlocal failures
            if failures < 2:
                failures += 1
                raise ConnectionError("the database went away")
            return await handle(inbound)

        bot.wrap(fail_twice)
        update_id = await tg.send_text(CITIZEN, "/start")
        error, greeting, _consent = await tg.wait_messages(CITIZEN, 3, timeout=10)
        assert ERROR_TEXT in (error.text or "")
        assert "Xin chào" in (greeting.text or "")
        await tg.wait_for_confirmed(update_id)
        assert failures == 2
        assert [m for m in tg.messages(CITIZEN) if ERROR_TEXT in (m.text or "")] == [error]
        assert await bot.processed() == [str(update_id)]


async def test_an_update_that_keeps_failing_is_dropped_after_three_tries(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg) as bot:
        attempts: list[str] = []

        async def broken_start(handle: Handle, inbound: Inbound) -> Result:
            if inbound.command == "start":
                attempts.append(inbound.update_id)
                raise ValueError("a bug in a flow")
            return await handle(inbound)

        bot.wrap(broken_start)
        stuck = await tg.send_text(CITIZEN, "/start")
        await tg.wait_for_confirmed(stuck, timeout=10)
        after = await tg.send_text(CITIZEN, "/lichtiepdan")
        schedule = await tg.next_message(CITIZEN, timeout=10)
        while ERROR_TEXT in (schedule.text or ""):
            schedule = await tg.next_message(CITIZEN, timeout=10)
        assert "lịch tiếp công dân" in (schedule.plain_text or "").lower()
        assert attempts == [str(stuck)] * 3
        assert await bot.processed() == [str(after)]


async def test_webhook_mode_needs_a_secret(database_url: str, clock: FakeClock, tg: FakeTelegram) -> None:
    for secret, url in (("", "https://bot.example.vn/telegram"), ("has spaces", "https://bot.example.vn/telegram")):
        config = make_config(
            database_url,
            telegram={"token": tg.token, "base_url": tg.base_url, "mode": "webhook", "webhook_url": url}
            | {"webhook_secret": secret},
        )
        app = await open_app(config, clock=clock, migrate=False)
        try:
            with pytest.raises(ConfigError, match=r"telegram\.webhook_secret"):
                TelegramTransport(app)
        finally:
            await app.close()


# ------------------------------------------------------------------ webhook


async def _post(url: str, body: object, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=json.dumps(body), headers=headers) as response,
    ):
        return response.status


async def test_webhook_refuses_missing_or_wrong_secret(database_url: str, clock: FakeClock, tg: FakeTelegram) -> None:
    async with telegram_bot(database_url, clock, tg, mode="webhook") as bot:
        assert tg.webhook is not None and tg.webhook["secret_token"] == SECRET
        assert tg.webhook["url"] == bot.webhook_url
        update = {
            "update_id": 777,
            "message": {
                "message_id": 1,
                "date": 1798358400,
                "chat": {"id": CITIZEN, "type": "private", "first_name": "Dân"},
                "from": {"id": CITIZEN, "is_bot": False, "first_name": "Dân"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        json_type = {"Content-Type": "application/json"}
        assert await _post(bot.webhook_url, update, json_type) == 401
        assert await _post(bot.webhook_url, update, json_type | {SECRET_HEADER: "not-the-secret"}) == 403
        assert await _post(bot.webhook_url, update, json_type | {SECRET_HEADER: SECRET[:-1]}) == 403
        assert await _post(bot.webhook_url, update, json_type | {SECRET_HEADER: ""}) == 403
        assert await bot.processed() == []
        assert tg.messages(CITIZEN) == []
        # With the secret it is processed; posted again (a redelivery), it is not processed twice.
        assert await _post(bot.webhook_url, update, json_type | {SECRET_HEADER: SECRET}) == 200
        assert len(tg.messages(CITIZEN)) == 2
        assert await _post(bot.webhook_url, update, json_type | {SECRET_HEADER: SECRET}) == 200
        assert len(tg.messages(CITIZEN)) == 2
        assert await bot.processed() == ["777"]


async def test_webhook_answers_only_after_commit_and_500_brings_a_redelivery(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg, mode="webhook") as bot:
        entered, release = asyncio.Event(), asyncio.Event()
        calls = 0

        async def fail_then_hold(handle: Handle, inbound: Inbound) -> Result:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionError("the database went away")
            entered.set()
            await release.wait()
            return await handle(inbound)

        bot.wrap(fail_then_hold)
        update_id = await tg.send_text(CITIZEN, "/start")
        await asyncio.wait_for(entered.wait(), timeout=10)
        # The first delivery got a 500; the second one is being handled and not yet answered.
        assert [d.status for d in tg.webhook_deliveries] == [500]
        assert not tg.is_confirmed(update_id)
        release.set()
        await tg.wait_for_confirmed(update_id)
        assert [d.status for d in tg.webhook_deliveries] == [500, 200]
        error, greeting, _consent = tg.messages(CITIZEN)
        assert ERROR_TEXT in (error.text or "") and "Xin chào" in (greeting.text or "")
        assert await bot.processed() == [str(update_id)]


async def test_a_lost_confirmation_still_leaves_the_case_kept(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg) as bot:
        await tg.send_text(CITIZEN, "/phananh")
        _, consent = await tg.wait_messages(CITIZEN, 2)
        await tg.press(CITIZEN, consent, "✅ Tôi đồng ý")
        _, types = await tg.wait_messages(CITIZEN, 2)
        await tg.press(CITIZEN, types, "Phản ánh")
        await tg.next_message(CITIZEN)
        await tg.send_text(CITIZEN, "my hoa")
        await tg.wait_messages(CITIZEN, 2)
        await tg.send_text(CITIZEN, "Cống thoát nước ấp Chợ bị nghẹt")
        progress = await tg.next_message(CITIZEN)
        await tg.press(CITIZEN, progress, "✅ Xong")
        phone = await tg.next_message(CITIZEN)
        await tg.press(CITIZEN, phone, "⏭ Bỏ qua")
        summary = await tg.next_message(CITIZEN)
        # Telegram fails the confirmation; the menu after it is not sent without it.
        tg.fail("sendMessage", status=502, chat_id=CITIZEN)
        before = len(tg.messages(CITIZEN))
        sent = await tg.press(CITIZEN, summary, "📨 Gửi")
        await tg.wait_for_confirmed(sent)
        assert len(tg.messages(CITIZEN)) == before
        async with bot.app.db.unit_of_work() as uow:
            case = await uow.cases.by_code("CN-2026-00001")
        assert case is not None and "Cống thoát nước" in case.description
        # The person asks what happened and finds the case.
        await tg.send_text(CITIZEN, "/hoso")
        listing = await tg.next_message(CITIZEN)
        assert "CN-2026-00001" in (listing.text or "")
