"""Telegram and Zalo in one process, as ``python -m bot run`` starts them.

The citizen is on Zalo, the officer on Telegram: the officer accepts, replies and resolves
with buttons, and every notice reaches the citizen on Zalo, where the rating is given by
typing numbers. A citizen's identity is per channel (the same user id on Telegram is
someone else).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlmodel import select

from bot import cli
from bot.config import Config
from storage.models import Case, Citizen, OutboxMessage, Rating
from storage.uow import Database
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram, SentMessage
from tests.fakes.zalo_api import FakeZalo
from tests.zalo_helpers import ZaloCitizen

ADMIN = 900001  # the bootstrap super-admin (conftest's [admins]): invites the officer
OFFICER = 7001  # the commune officer of Xã Hiệp Mỹ Đông, on Telegram
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
            # Both channels are up once each has asked for updates (a start on a loaded machine
            # takes seconds: migrations, reference data, both channels' getMe).
            up = 30.0
            await tg.wait_until(
                lambda: bool(tg.calls_of("getUpdates")) or running.done(), timeout=up, what="telegram polling"
            )
            await zalo.wait_until(
                lambda: bool(zalo.calls_of("getUpdates")) or running.done(), timeout=up, what="zalo polling"
            )
            assert not running.done(), running.exception()
            yield Both(tg, zalo, config, db)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                assert await asyncio.wait_for(running, timeout=30) == 0
            await db.close()


async def _sees(tg: FakeTelegram, chat_id: int, fragment: str) -> SentMessage:
    """The next message to a Telegram chat containing ``fragment``."""
    while True:
        message = await tg.next_message(chat_id, timeout=10)
        if fragment in (message.plain_text or ""):
            return message


async def _onboard_officer(tg: FakeTelegram) -> None:
    """The super-admin invites a commune officer, who registers with the code, all on Telegram."""
    await tg.send_text(ADMIN, "/moi Hiệp Mỹ Đông canbo")
    invitation = await _sees(tg, ADMIN, "/dangky")
    match = re.search(r"/dangky ([A-Z0-9]{8})", invitation.plain_text or "")
    assert match, invitation.plain_text
    await tg.send_text(OFFICER, f"/dangky {match.group(1)}")
    await _sees(tg, OFFICER, "đã được ghi nhận")


async def test_officer_on_telegram_answers_a_citizen_on_zalo(both: Both) -> None:
    tg, zalo = both.tg, both.zalo
    await _onboard_officer(tg)
    citizen = ZaloCitizen(zalo, user_id=SAME_ID)
    await citizen.consent()
    received = await citizen.file_petition("Đèn đường ấp Bến Đáy tắt cả tháng")
    async with both.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
    assert case.code in received
    assert (case.channel, case.chat_id) == ("zalo", SAME_ID)

    # The new-case notice reaches the commune's officer on Telegram, with buttons there.
    notice = await _sees(tg, OFFICER, case.code)
    assert notice.button_labels() == ["👁 Xem", "✅ Thụ lý"]
    await tg.press(OFFICER, notice, "✅ Thụ lý")
    accepted = await _sees(tg, OFFICER, "Đã thụ lý")
    await citizen.expect(f"Hồ sơ {case.code} đã được Xã Hiệp Mỹ Đông thụ lý giải quyết", timeout=10)

    # Somebody with the same id on Telegram is another citizen: no cases there, no notices.
    await tg.send_text(int(SAME_ID), "/hoso")
    answer = await tg.next_message(int(SAME_ID))
    assert "Bạn chưa gửi hồ sơ nào" in (answer.plain_text or "")

    # The confirmation carries the card again; the officer replies; it reaches the citizen on Zalo.
    assert f"Hồ sơ {case.code}" in (accepted.text or "")
    await tg.press(OFFICER, accepted, "💬 Trả lời")
    await _sees(tg, OFFICER, "Gõ nội dung trả lời")
    await tg.send_text(OFFICER, "Đã thay bóng đèn ngày 30/11. Cảm ơn bạn đã báo.")
    replied = await _sees(tg, OFFICER, "Đã gửi trả lời")
    reply = await citizen.expect("Đã thay bóng đèn ngày 30/11", timeout=10)
    assert f"Xã Hiệp Mỹ Đông trả lời hồ sơ {case.code}:" in reply.body and "<b>" not in reply.body

    # The officer resolves the case; the citizen rates it on Zalo by typing numbers.
    await tg.press(OFFICER, replied, "🏁 Giải quyết xong")  # the confirmation carries the card
    await _sees(tg, OFFICER, "Kết quả giải quyết")
    await tg.send_text(OFFICER, "Đã sửa xong đường dây, đèn sáng lại.")
    await _sees(tg, OFFICER, "Đã giải quyết")
    resolved = await citizen.expect("đèn sáng lại", timeout=10)
    assert "1. 1 ⭐" in resolved.body and "5. 5 ⭐" in resolved.body and "6. ❌ Chưa được giải quyết" in resolved.body
    await citizen.say("5")
    await citizen.expect("Cảm ơn bạn đã đánh giá!")
    await citizen.say("thoi")  # "Thôi": no more questions
    await citizen.expect("Cảm ơn bạn đã góp ý!")

    assert all(case.code not in (m.plain_text or "") for m in tg.messages(int(SAME_ID)))
    rows = await _outbox_when_settled(both.db, case.id)
    to_citizen = [status for channel, chat_id, status in rows if chat_id == SAME_ID]
    assert to_citizen == ["sent"] * 3 and all(channel in ("zalo", "telegram") for channel, _, _ in rows)
    assert {channel for channel, chat_id, _ in rows if chat_id == SAME_ID} == {"zalo"}
    assert {channel for channel, chat_id, _ in rows if chat_id == str(OFFICER)} == {"telegram"}
    async with both.db.unit_of_work() as uow:
        people = (
            await uow.session.exec(select(Citizen).where(Citizen.channel_user_id == SAME_ID).order_by(Citizen.channel))
        ).all()
        [rating] = (await uow.session.exec(select(Rating))).all()
    assert [(p.channel, p.channel_user_id) for p in people] == [("telegram", SAME_ID), ("zalo", SAME_ID)]
    assert (rating.case_id, rating.score, rating.solved) == (case.id, 5, True)


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
