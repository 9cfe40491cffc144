"""Telegram and Zalo in one process, as ``python -m bot run`` starts them.

The citizen is on Zalo, the officers on Telegram. A citizen's identity is per channel (the
same user id on Telegram is someone else), and every message to the citizen, however it is
caused, goes out on the channel the case came from.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlmodel import select

from bot import cli
from bot.config import Config
from bot.dialog.types import Reply
from bot.services import notify
from storage.models import Case, Citizen, OutboxMessage
from storage.uow import Database
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.zalo_helpers import ZaloCitizen

ADMIN = 900001  # the bootstrap super-admin (conftest's [admins]) hears of cases no officer covers
SAME_ID = "5550001"  # the citizen's Zalo id, and also somebody's Telegram id


@dataclass
class Both:
    tg: FakeTelegram
    zalo: FakeZalo
    config: Config
    db: Database  # the test's own connection, to read and to queue as the officer workspace does


@pytest.fixture
async def both(database_url: str) -> AsyncIterator[Both]:
    async with FakeTelegram() as tg, FakeZalo() as zalo:
        config = make_config(
            database_url,
            telegram={"token": tg.token, "base_url": tg.base_url},
            zalo={"enabled": True, "token": zalo.token, "base_url": zalo.url},
        )
        stop = asyncio.Event()
        running = asyncio.create_task(cli._run(config, stop), name="bot-run")
        db = Database(database_url)
        try:
            # Both channels are up once each has asked for updates.
            await tg.wait_until(lambda: bool(tg.calls_of("getUpdates")) or running.done(), what="telegram polling")
            await zalo.wait_until(lambda: bool(zalo.calls_of("getUpdates")) or running.done(), what="zalo polling")
            assert not running.done(), running.exception()
            yield Both(tg, zalo, config, db)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                assert await asyncio.wait_for(running, timeout=30) == 0
            await db.close()


async def test_citizen_on_zalo_is_answered_on_zalo_while_officers_use_telegram(both: Both) -> None:
    tg, zalo = both.tg, both.zalo
    citizen = ZaloCitizen(zalo, user_id=SAME_ID)
    await citizen.consent()
    received = await citizen.file_petition("Đèn đường ấp Bến Đáy tắt cả tháng")
    async with both.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
    assert case.code in received
    assert (case.channel, case.chat_id) == ("zalo", SAME_ID)

    # The new-case notice reaches the officer side on Telegram, through the outbox.
    notice = await tg.next_message(ADMIN, timeout=10)
    assert case.code in (notice.plain_text or "")
    assert zalo.messages(str(ADMIN)) == []

    # Somebody with the same id on Telegram is another citizen: no cases there.
    await tg.send_text(int(SAME_ID), "/hoso")
    answer = await tg.next_message(int(SAME_ID))
    assert "Bạn chưa gửi hồ sơ nào" in (answer.plain_text or "")

    # An officer's reply to the case, queued the way the officer workspace queues it.
    text = "UBND xã Hiệp Mỹ Đông trả lời: đã thay bóng đèn ngày 30/11. Cảm ơn bạn đã báo."
    async with both.db.unit_of_work() as uow:
        await notify.enqueue(uow, case.channel, case.chat_id, Reply(text), now=case.received_at, case_id=case.id)
    reply = await citizen.expect("đã thay bóng đèn", timeout=10)
    assert reply.body == text
    # Nothing of it went to the Telegram chat with the same id.
    assert all("bóng đèn" not in (m.plain_text or "") for m in tg.messages(int(SAME_ID)))
    rows = await _outbox_when_settled(both.db, case.id)
    assert ("zalo", SAME_ID, "sent") in rows
    assert all(channel == "telegram" for channel, chat_id, _ in rows if chat_id == str(ADMIN))
    async with both.db.unit_of_work() as uow:
        people = (await uow.session.exec(select(Citizen).order_by(Citizen.channel))).all()
    assert [(p.channel, p.channel_user_id) for p in people] == [("telegram", SAME_ID), ("zalo", SAME_ID)]


async def _outbox_when_settled(db: Database, case_id: int | None) -> list[tuple[str, str, str]]:
    """The case's outbox rows once none is pending (the worker records a send right after it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        async with db.unit_of_work() as uow:
            rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.case_id == case_id))).all()
        found = sorted((row.channel, row.chat_id, row.status) for row in rows)
        if all(status != "pending" for _, _, status in found) or loop.time() > deadline:
            return found
        await asyncio.sleep(0.05)


async def test_console_only_when_no_channel_is_configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []

    async def fake_console(config: Config) -> int:
        started.append("console")
        return 0

    monkeypatch.setattr(cli, "_console", fake_console)
    enabled_without_token = make_config(database_url, zalo={"enabled": True, "token": ""})
    assert await cli._run(enabled_without_token, asyncio.Event()) == 0
    token_but_disabled = make_config(database_url, zalo={"enabled": False, "token": "1:abc"})
    assert await cli._run(token_but_disabled, asyncio.Event()) == 0
    assert started == ["console", "console"]
