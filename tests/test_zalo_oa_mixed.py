"""A citizen on the Zalo OA, the commune's officer on Telegram, in one process as ``python -m bot run``.

The officer accepts, replies and resolves with Telegram buttons; every notice reaches the
citizen on the OA, who rates the case there. The resolution's six rating options are more than
the OA's five buttons, so they come as numbered lines and the citizen types the number.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlmodel import select

from bot import cli
from storage.models import Case, OutboxMessage, Rating
from storage.uow import Database
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_oa_api import FakeZaloOa, OaCitizen
from tests.test_zalo_mixed import OFFICER, _onboard_officer, _sees
from tests.test_zalo_oa import _consent, file_petition
from tests.zalo_oa_helpers import oa_section


async def test_officer_on_telegram_answers_a_citizen_on_the_oa(database_url: str) -> None:
    async with FakeTelegram() as tg, FakeZaloOa() as oa:
        section = oa_section(oa)
        oa.webhook_url = f"http://127.0.0.1:{section['webhook_port']}{section['webhook_path']}"
        config = make_config(database_url, telegram={"token": tg.token, "base_url": tg.base_url}, zalo_oa=section)
        stop = asyncio.Event()
        running = asyncio.create_task(cli._run(config, stop), name="bot-run")
        db = Database(database_url)
        try:
            await tg.wait_until(lambda: bool(tg.calls_of("getUpdates")) or running.done(), what="telegram polling")
            await _wait_for_webhook(oa, running)
            await _onboard_officer(tg)
            citizen = OaCitizen(oa)
            await _consent(citizen)
            received = await file_petition(citizen, "Đèn đường ấp Bến Đáy tắt cả tháng")
            async with db.unit_of_work() as uow:
                [case] = (await uow.session.exec(select(Case))).all()
            assert case.code in received and (case.channel, case.chat_id) == ("zalo_oa", citizen.user_id)

            notice = await _sees(tg, OFFICER, case.code)
            await tg.press(OFFICER, notice, "✅ Thụ lý")
            # The confirmation carries the case card with the actions that still apply.
            card = await _sees(tg, OFFICER, "Đã thụ lý")
            await citizen.expect(f"Hồ sơ {case.code} đã được Xã Hiệp Mỹ Đông thụ lý giải quyết", timeout=10)
            assert "1 tin nhắn thoại: cán bộ cần nghe" in (card.plain_text or "")  # the voice message is flagged
            await tg.press(OFFICER, card, "🏁 Giải quyết xong")
            await _sees(tg, OFFICER, "Kết quả giải quyết")
            await tg.send_text(OFFICER, "Đã sửa xong đường dây, đèn sáng lại.")
            await _sees(tg, OFFICER, "Đã giải quyết")
            resolved = await citizen.expect("đèn sáng lại", timeout=10)
            assert "1. 1 ⭐" in resolved.text and "6. ❌ Chưa được giải quyết" in resolved.text
            assert resolved.buttons == []
            await citizen.say("5")
            await citizen.expect("Cảm ơn bạn đã đánh giá!")

            async with db.unit_of_work() as uow:
                [rating] = (await uow.session.exec(select(Rating))).all()
                rows = (await uow.session.exec(select(OutboxMessage))).all()
            assert (rating.case_id, rating.score) == (case.id, 5)
            assert {row.channel for row in rows if row.chat_id == citizen.user_id} == {"zalo_oa"}
            assert {row.channel for row in rows if row.chat_id == str(OFFICER)} == {"telegram"}
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                assert await asyncio.wait_for(running, timeout=30) == 0
            await db.close()


async def _wait_for_webhook(oa: FakeZaloOa, running: asyncio.Task[int]) -> None:
    """The OA's webhook answers once the transport has started (its first refresh done)."""
    for _ in range(200):
        assert not running.done(), running.exception()
        if oa.refresh_presented:
            with contextlib.suppress(OSError):
                await oa.post_raw(b"{}", {})
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the zalo oa webhook never came up")
