"""The outbox worker over the fake Bot API: order per chat, retries, permanent failures, pacing.

The worker is driven step by step (``dispatch`` starts what is due and allowed, ``settle`` waits
for those deliveries to be recorded) with the test's clock, except in the pacing test, where it
runs as in production and the fake server measures the rate it sees.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.app import App, open_app
from bot.dialog.types import Outgoing, Reply
from bot.outbox import BASE_BACKOFF, OutboxWorker, SendWindow
from bot.services import notify
from bot.transports.telegram import TelegramTransport
from storage.models import OutboxMessage
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, onboard


@dataclass
class Outbox:
    tg: FakeTelegram
    app: App
    worker: OutboxWorker

    async def queue(self, chat_id: int, text: str) -> int:
        async with self.app.db.unit_of_work() as uow:
            row = await notify.enqueue(uow, "telegram", str(chat_id), Reply(text), now=self.app.services.clock())
        assert row.id is not None
        return row.id

    async def step(self) -> int:
        """One pass of the worker, waiting for what it started."""
        started, _ = await self.worker.dispatch()
        await self.worker.settle()
        return started

    async def drain(self) -> None:
        while await self.step():
            pass

    async def rows(self) -> list[OutboxMessage]:
        async with self.app.db.unit_of_work() as uow:
            return list((await uow.session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())

    async def row(self, row_id: int) -> OutboxMessage:
        async with self.app.db.unit_of_work() as uow:
            found = await uow.outbox.get(row_id)
        assert found is not None
        return found


@contextlib.asynccontextmanager
async def outbox(database_url: str, clock: FakeClock, tg: FakeTelegram, **pacing: float) -> AsyncIterator[Outbox]:
    config = make_config(
        database_url, telegram={"token": tg.token, "base_url": tg.base_url}, dialog={"rate_limit_messages": 0}
    )
    app = await open_app(config, clock=clock, migrate=False)
    transport = TelegramTransport(app, poll_timeout=1)
    pacing.setdefault("chat_interval", 0.0)
    worker = OutboxWorker(app.db, {"telegram": transport}, clock, services=app.services, **pacing)  # type: ignore[arg-type]
    try:
        await transport.start()
        yield Outbox(tg, app, worker)
    finally:
        await transport.stop()
        await app.close()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def test_order_per_chat_holds_while_the_first_message_backs_off(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with outbox(database_url, clock, tg) as box:
        tg.fail("sendMessage", status=502, chat_id=601)
        first = await box.queue(601, "Thông báo 1")
        await box.queue(601, "Thông báo 2")
        await box.queue(601, "Thông báo 3")
        await box.queue(602, "Cho người khác")
        await box.drain()
        row = await box.row(first)
        assert (row.status, row.attempts) == ("pending", 1) and "network" in (row.last_error or "")
        # Exponential backoff with jitter: the first retry comes between half the base and the base.
        wait = row.next_attempt_at - clock()
        assert timedelta(seconds=BASE_BACKOFF / 2) <= wait <= timedelta(seconds=BASE_BACKOFF)
        assert tg.messages(601) == [], "the later messages of the chat wait for the first"
        assert [m.text for m in tg.messages(602)] == ["Cho người khác"]
        clock.advance(seconds=BASE_BACKOFF)
        await box.drain()
        assert [m.text for m in tg.messages(601)] == ["Thông báo 1", "Thông báo 2", "Thông báo 3"]
        assert {r.status for r in await box.rows()} == {"sent"}
        assert (await box.row(first)).attempts == 2


async def test_a_rate_limit_pauses_the_whole_channel_for_retry_after(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with outbox(database_url, clock, tg) as box:
        tg.fail("sendMessage", status=429, retry_after=5, chat_id=611)
        limited = await box.queue(611, "Bị giới hạn")
        await box.drain()
        row = await box.row(limited)
        assert row.next_attempt_at == clock() + timedelta(seconds=5) and row.last_error == "rate limited"
        await box.queue(612, "Người khác cũng phải chờ")
        assert await box.step() == 0
        assert tg.messages(612) == []
        clock.advance(seconds=5)
        await box.drain()
        assert [m.text for m in tg.messages(611)] == ["Bị giới hạn"]
        assert [m.text for m in tg.messages(612)] == ["Người khác cũng phải chờ"]


async def test_undelivered_citizen_notice_is_recorded_and_told_to_the_unit(
    database_url: str, clock: FakeClock, tg: FakeTelegram
) -> None:
    async with outbox(database_url, clock, tg) as box:
        people = await onboard(box.app)
        citizen = Chat(box.app, user_id="5101", channel="telegram", name="Thạch Thị Dân")
        code = await file_petition(box.app, citizen, "kim hoa")
        await box.drain()  # the officers hear of the new case
        officer = people["officer_kh"]
        assert any(code in (m.text or "") for m in tg.messages(7001))

        tg.block(5101)
        await officer.say(f"/xem {code}")
        await officer.press("Thụ lý")
        await box.drain()
        [notice] = [r for r in await box.rows() if r.chat_id == "5101"]
        assert notice.status == "failed" and notice.attempts == 1
        assert "blocked" in (notice.last_error or "")
        for chat in (7001, 7002):
            [told] = [m for m in tg.messages(chat) if "Không gửi được" in (m.plain_text or "")]
            assert code in (told.plain_text or "") and "chặn" in (told.plain_text or "")
            assert told.button_labels() == ["👁 Xem"]

        # A notice to an officer that cannot be delivered is recorded, and tells nobody else.
        tg.block(7002)
        before = len([m for m in tg.messages(7001) if "Không gửi được" in (m.plain_text or "")])
        async with box.app.db.unit_of_work() as uow:
            case = await uow.cases.by_code(code)
            assert case is not None
            await notify.enqueue(uow, "telegram", "7002", Reply("Cho trưởng"), now=clock(), case_id=case.id)
        await box.drain()
        failed = [r for r in await box.rows() if r.status == "failed"]
        assert {r.chat_id for r in failed} == {"5101", "7002"}
        after = len([m for m in tg.messages(7001) if "Không gửi được" in (m.plain_text or "")])
        assert after == before == 1


async def test_pacing_over_all_chats_and_per_chat(database_url: str, clock: FakeClock, tg: FakeTelegram) -> None:
    async with outbox(database_url, clock, tg, messages_per_second=20, chat_interval=0.3) as box:
        for chat in range(620, 650):
            await box.queue(chat, f"Thông báo cho {chat}")
        for number in range(3):
            await box.queue(700, f"Tin {number}")
        runner = asyncio.create_task(box.worker.run_forever())
        try:
            await tg.wait_until(lambda: len(tg.send_times()) == 33, timeout=30, what="every message")
        finally:
            runner.cancel()
            with contextlib.suppress(BaseException):
                await runner
        assert tg.max_per_second() <= 20
        assert tg.max_per_second(700, window=0.25) == 1
        assert [m.text for m in tg.messages(700)] == ["Tin 0", "Tin 1", "Tin 2"]
        assert {r.status for r in await box.rows()} == {"sent"}


async def test_send_window_counts_from_completions_and_charges_long_messages() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    window = SendWindow(2.0, monotonic=lambda: now[0], sleep=sleep)  # two sends in any second
    first = await window.acquire()
    now[0] = 0.25
    window.release(first)  # the receiver had it by 0.25
    second = await window.acquire()
    window.release(second)
    third = await window.acquire()  # waits for a second after the first one completed
    assert (slept, now[0]) == ([1.0], 1.25)
    window.release(third)
    now[0] = 1.5
    long = await window.acquire(cost=2)  # a text cut into two pieces takes two places
    assert (slept, now[0]) == ([1.0, 0.75], 2.25)
    window.release(long)
    assert len(await window.acquire(cost=5)) == 5  # more pieces than the limit: it waits for others only
    assert SendWindow(0.5).limit == 1 and SendWindow(0.5).window == 2.0
    assert (SendWindow(30).limit, SendWindow(30).window) == (30, 1.0)


class GatedSender:
    """A channel whose sends finish when the test says so."""

    channel = "console"

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}
        self.sent: list[str] = []

    def gate(self, text: str) -> asyncio.Event:
        return self.gates.setdefault(text, asyncio.Event())

    async def deliver(self, message: Outgoing) -> None:
        await self.gate(message.text).wait()
        self.sent.append(message.text)


async def test_a_row_recorded_while_a_pass_waits_is_not_sent_again(app: App, clock: FakeClock) -> None:
    sender = GatedSender()
    worker = OutboxWorker(app.db, {"console": sender}, clock, concurrency=1, chat_interval=0.0)
    async with app.db.unit_of_work() as uow:
        for chat, text in (("Z", "z0"), ("Z", "z1"), ("X", "x")):
            await notify.enqueue(uow, "console", chat, Reply(text), now=clock())
    first = asyncio.create_task(worker.dispatch())  # z0 starts, x waits for the only slot
    sender.gate("z0").set()
    assert (await first)[0] == 2  # z0 done, x started
    second = asyncio.create_task(worker.dispatch())  # reads z1 and x (x still pending, in flight)
    sender.gate("x").set()  # x is recorded while the pass waits for the slot for z1
    sender.gate("z1").set()
    await second
    await worker.settle()
    assert sorted(sender.sent) == ["x", "z0", "z1"]
