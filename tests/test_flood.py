"""The per-person flood limit: the token bucket itself, the engine on both databases, Telegram end to end.

A person who sends faster than ``[dialog] rate_limit_messages`` per ``rate_limit_seconds``
is told once per window to slow down; the rest of their messages are dropped unprocessed.
Officers, the bootstrap admins and the console are never limited. The test clock stands
still unless a test moves it, so "at once" below means at one instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app import App, open_app
from bot.config import Config
from bot.dialog.flood import FloodLimiter, Verdict
from bot.dialog.runtime import Result
from bot.dialog.types import Inbound
from bot.outbox import OutboxWorker
from bot.text import plain_text
from bot.transports.telegram import TelegramTransport
from storage.models import Case, ProcessedUpdate
from storage.uow import UnitOfWork
from tests.conftest import make_config
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import Chat, FakeClock

SLOW_DOWN = "Bạn gửi nhanh quá. Vui lòng chờ vài giây rồi gửi tiếp."
LIMIT = {"rate_limit_messages": 12, "rate_limit_seconds": 10}


# ------------------------------------------------------------------ the bucket


def test_defaults_are_twelve_in_ten_seconds_and_zero_turns_the_limit_off() -> None:
    assert (Config().dialog.rate_limit_messages, Config().dialog.rate_limit_seconds) == (12, 10.0)
    limiter = FloodLimiter(12, 10)
    verdicts = [limiter.take(("telegram", "1"), 0.0) for _ in range(15)]
    assert verdicts == [Verdict.PASS] * 12 + [Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert limiter.take(("telegram", "2"), 0.0) is Verdict.PASS, "buckets are per person"
    assert limiter.take(("zalo", "1"), 0.0) is Verdict.PASS, "and per channel"
    assert limiter.take(("telegram", "1"), 10 / 12) is Verdict.PASS, "one message regained every period/capacity"
    with pytest.raises(ValueError):
        FloodLimiter(0, 10)


def test_idle_buckets_are_forgotten() -> None:
    limiter = FloodLimiter(3, 1.0)
    for user in range(2000):
        limiter.take(("zalo", str(user)), 0.0)
    for _ in range(1024):  # the next sweep happens after enough takes, long after the others went idle
        limiter.take(("zalo", "busy"), 50.0)
    assert len(limiter) < 10


@settings(max_examples=150, derandomize=True, database=None, deadline=None)
@given(
    capacity=st.integers(1, 15),
    period=st.sampled_from([1.0, 10.0, 60.0]),
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=120),
)
def test_bucket_never_lets_more_through_than_the_limit(capacity: int, period: float, gaps: list[float]) -> None:
    """In any stretch of time t, at most capacity + t * rate messages pass; one warning per window."""
    limiter = FloodLimiter(capacity, period)
    now, passed, warned = 0.0, [], []
    for gap in gaps:
        now += gap * period / 3
        verdict = limiter.take(("telegram", "42"), now)
        (passed if verdict is Verdict.PASS else warned if verdict is Verdict.WARN else []).append(now)
    for i, start in enumerate(passed):
        for j in range(i, len(passed)):
            assert j - i + 1 <= capacity + (passed[j] - start) * capacity / period + 1e-9
    assert all(later - earlier >= period for earlier, later in itertools.pairwise(warned))
    if len(passed) < len(gaps):
        assert warned, "someone over the limit is told at least once"


# ------------------------------------------------------------------ the engine


@pytest.fixture
async def limited(database_url: str, clock: FakeClock) -> AsyncIterator[App]:
    application = await open_app(make_config(database_url, dialog=LIMIT), clock=clock, migrate=False)
    yield application
    await application.close()


async def _describing(chat: Chat) -> None:
    """Consent, then a petition up to the description: five messages."""
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    await chat.say("/phananh")
    await chat.press("Kiến nghị")
    await chat.say("kim hoa")
    assert "Bạn kể lại sự việc" in chat.text, chat.text


async def _parts(app: App, chat: Chat) -> list[str]:
    async with app.db.unit_of_work() as uow:
        conversation = await uow.conversations.load(chat.channel, chat.user_id, lock=False)
    assert conversation is not None and conversation.step == "describe"
    return list(conversation.data.get("parts", []))


async def test_a_flood_is_answered_once_and_the_rest_is_dropped_unprocessed(limited: App, clock: FakeClock) -> None:
    chat = Chat(limited, user_id="61001", channel="telegram")
    neighbour = Chat(limited, user_id="61002", channel="zalo")
    await _describing(chat)
    opened = 0
    unit_of_work = limited.db.unit_of_work

    def counting() -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        nonlocal opened
        opened += 1
        return unit_of_work()

    limited.db.unit_of_work = counting  # type: ignore[method-assign]
    answers = []
    for n in range(30):
        answers.append([plain_text(m.text) for m in await chat.say(f"Tin số {n}: nước ngập ấp Chợ")])
    limited.db.unit_of_work = unit_of_work  # type: ignore[method-assign]
    assert opened == 7 + 1, "7 processed, 1 look-up for the warning; the dropped ones cost nothing"
    # 12 messages at once: 5 to get here, 7 descriptions; then one polite answer, then silence.
    assert all("Đã ghi nhận" in a[0] for a in answers[:7]), answers[:7]
    assert answers[7] == [SLOW_DOWN]
    assert answers[8:] == [[]] * 22
    assert await _parts(limited, chat) == [f"Tin số {n}: nước ngập ấp Chợ" for n in range(7)]
    async with limited.db.unit_of_work() as uow:
        processed = (await uow.session.exec(select(ProcessedUpdate))).all()
    assert len(processed) == 12, "dropped updates are not even recorded"

    await neighbour.say("/start")
    assert "Xin chào" in neighbour.text, "someone else is not slowed down"

    clock.advance(seconds=1)  # 1.2 messages regained: one goes through, the next is dropped quietly
    assert "8 tin nhắn" in plain_text((await chat.say("Tin sau một giây"))[0].text)
    assert await chat.say("Tin ngay sau đó") == []
    clock.advance(seconds=10)
    await chat.say("xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    assert re.search(r"CN-2026-\d{5}", chat.text), chat.text
    async with limited.db.unit_of_work() as uow:
        [case] = (await uow.session.exec(select(Case))).all()
    # Several messages: each its own line, ended as a sentence (handlers.petition.join_parts).
    assert case.description.splitlines() == [f"Tin số {n}: nước ngập ấp Chợ." for n in range(7)] + ["Tin sau một giây."]

    clock.advance(seconds=10)
    flood = [await chat.say("/lichtiepdan") for _ in range(14)]
    assert [[plain_text(m.text) for m in r] for r in flood[12:]] == [[SLOW_DOWN], []], "a new window warns again"


async def test_a_pressed_button_over_the_limit_is_acknowledged_and_keeps_its_buttons(limited: App) -> None:
    chat = Chat(limited, user_id="61003", channel="telegram")
    await chat.say("/start")
    consent = chat.last
    for _ in range(11):
        await chat.say("/lichtiepdan")
    token = consent[-1].flat_buttons[0].token
    press = Inbound(
        channel="telegram", update_id="press-61003", chat_id="61003", user_id="61003", kind="choice", token=token
    )
    result = await limited.engine.handle(press)
    assert (result.messages, result.notice, result.limited) == ([], SLOW_DOWN, True)
    async with limited.db.unit_of_work() as uow:
        citizen = await uow.citizens.find("telegram", "61003")
    assert citizen is not None and citizen.consent_at is None, "the press was not processed"


async def test_officers_admins_and_the_console_are_not_limited(limited: App) -> None:
    admin = Chat(limited, user_id="900001", channel="telegram")
    await admin.say("/moi Kim Hòa canbo")
    code = re.search(r"/dangky ([A-Z0-9]{8})", admin.text)
    assert code, admin.text
    officer = Chat(limited, user_id="61004", channel="telegram")
    await officer.say(f"/dangky {code.group(1)}")
    console = Chat(limited, user_id="console", channel="console")
    for who, command in ((admin, "/dscanbo"), (officer, "/hopthu"), (console, "/lichtiepdan")):
        answers = [await who.say(command) for _ in range(16)]
        assert all(a and SLOW_DOWN not in plain_text(a[0].text) for a in answers), who.user_id


# ------------------------------------------------------------------ Telegram end to end


async def test_flood_over_telegram_gets_one_polite_message(database_url: str, clock: FakeClock) -> None:
    async with FakeTelegram() as tg:
        config = make_config(database_url, telegram={"token": tg.token, "base_url": tg.base_url}, dialog=LIMIT)
        app = await open_app(config, clock=clock, migrate=False)
        transport = TelegramTransport(app)
        worker = OutboxWorker(app.db, {"telegram": transport}, clock, idle_interval=0.05)
        await transport.start()
        task = asyncio.create_task(worker.run_forever())
        try:
            handled: list[bool] = []
            handle = app.engine.handle

            async def counting(inbound: Inbound) -> Result:
                result = await handle(inbound)
                handled.append(result.limited)
                return result

            app.engine.handle = counting  # type: ignore[method-assign]
            for _ in range(25):
                await tg.send_text(6100, "/lichtiepdan")
            await _until(lambda: len(handled) == 25)
            assert handled == [False] * 12 + [True] * 13
            clock.advance(seconds=10)
            await tg.send_text(6100, "/start")
            await tg.wait_until(lambda: "Bạn có đồng ý" in (tg.messages(6100)[-1].text or ""), what="the consent")
            texts = [m.text or "" for m in tg.messages(6100)]
            assert texts[:12] == ["Bạn muốn xem lịch tiếp công dân của nơi nào?"] * 12
            assert texts[12] == SLOW_DOWN
            assert "Xin chào" in texts[13] and len(texts) == 15  # the greeting and the consent question
            assert tg.errors == []
        finally:
            task.cancel()
            await transport.stop()
            await app.close()


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "the bot did not get there in time"
        await asyncio.sleep(0.01)
