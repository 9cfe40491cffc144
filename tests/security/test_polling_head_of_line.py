"""Issue #12, item 13: one chat's burst must not hold up every other chat on Telegram polling.

Before the fix, the next ``getUpdates`` waited until every update of the batch in hand was
handled, so a citizen who sent 12 messages while the Bot API answered slowly delayed everybody
else's replies by seconds. Now each chat has its own order and other chats' updates are taken
at once; the offset still moves only up to the lowest unfinished update.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.dialog.runtime import Result
from bot.dialog.types import Inbound
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import FakeClock
from tests.test_telegram_inbound import Handle, telegram_bot

BURSTER = 4401
OTHER = 4402
SLOW_SEND = 0.3  # seconds the fake Bot API takes to answer each sendMessage
BURST = 12


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_retry_delay=0.05) as fake:
        yield fake


async def test_another_chat_is_answered_while_one_chat_bursts(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg, start=False) as bot:
        tg.slow("sendMessage", SLOW_SEND, times=1000)
        burst = [await tg.send_text(BURSTER, "/lichtiepdan") for _ in range(BURST)]
        await bot.transport.start()  # the whole burst comes in one getUpdates batch
        await tg.wait_messages(BURSTER, 1, timeout=10)  # the burst is being handled

        asked = time.monotonic()
        other = await tg.send_text(OTHER, "/lichtiepdan")
        await tg.wait_messages(OTHER, 1, timeout=20)
        waited = time.monotonic() - asked

        # Its own reply takes SLOW_SEND; before the fix it came after the 11 other replies of the burst.
        assert waited < 6 * SLOW_SEND, f"the other chat waited {waited:.2f} s behind the burst"
        assert len(tg.messages(BURSTER)) < BURST

        # The burst still comes out whole and in order, and everything is acknowledged once.
        await tg.wait_messages(BURSTER, BURST - 1, timeout=20)  # the first one was awaited above
        replies = tg.messages(BURSTER)
        assert len(replies) == BURST
        assert all("lịch tiếp công dân" in (m.plain_text or "").lower() for m in replies)
        for update_id in [*burst, other]:
            await tg.wait_for_confirmed(update_id, timeout=10)
        assert await bot.processed() == sorted(str(u) for u in [*burst, other])


async def test_the_offset_never_passes_an_unfinished_update(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with telegram_bot(database_url, clock, tg) as bot:
        release = asyncio.Event()

        async def hold_the_burster(handle: Handle, inbound: Inbound) -> Result:
            if inbound.chat_id == str(BURSTER):
                await release.wait()
            return await handle(inbound)

        bot.wrap(hold_the_burster)
        held = await tg.send_text(BURSTER, "/lichtiepdan")
        await asyncio.sleep(0.2)
        later = [await tg.send_text(OTHER, "/lichtiepdan") for _ in range(3)]
        await tg.wait_messages(OTHER, 3, timeout=10)
        await asyncio.sleep(0.2)
        # Later updates are handled, but Telegram keeps them all until the held one is done.
        assert not any(tg.is_confirmed(u) for u in [held, *later])
        release.set()
        await tg.wait_messages(BURSTER, 1, timeout=10)
        for update_id in [held, *later]:
            await tg.wait_for_confirmed(update_id, timeout=10)
        assert await bot.processed() == sorted(str(u) for u in [held, *later])
