"""The Zalo transport's edges: webhook secret, long polling, odd updates, outbox delivery and errors.

Everything runs against the fake Zalo Bot API; the assertions are about what the citizen
receives and what the database holds (or does not).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError
from bot.dialog.types import Option, Reply
from bot.services import notify
from bot.transports.zalo import ZaloTransport
from storage.models import Citizen, Conversation, OutboxMessage, ProcessedUpdate
from tests.conftest import make_config
from tests.fakes.zalo_api import MAX_TEXT_LENGTH, SECRET_HEADER, FakeZalo
from tests.helpers import FakeClock
from tests.zalo_helpers import WEBHOOK_SECRET, ZaloBot, ZaloCitizen, running_zalo


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


async def _post(url: str, body: Any, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as response:
        return response.status


def _update(user_id: str, text: str, message_id: str = "9f1c2d3e4a5b6c7d8e9f") -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": message_id,
            "from": {"id": user_id, "display_name": "Lê Văn Webhook"},
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            "date": 1798358400000,
            "text": text,
        },
    }


async def _queue(bot: ZaloBot, citizen: ZaloCitizen, reply: Reply) -> int:
    """Queue a notification for the citizen's chat, as the officer workspace does."""
    async with bot.app.db.unit_of_work() as uow:
        row = await notify.enqueue(uow, "zalo", citizen.user_id, reply, now=bot.app.services.clock())
    bot.worker.wake()
    assert row.id is not None
    return row.id


async def _outbox_row(bot: ZaloBot, row_id: int) -> OutboxMessage:
    async with bot.app.db.unit_of_work() as uow:
        row = await uow.outbox.get(row_id)
    assert row is not None
    return row


async def _wait_for_row(bot: ZaloBot, row_id: int, status: str, attempts: int) -> OutboxMessage:
    """Until the worker recorded ``attempts`` attempts ending in ``status``."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        row = await _outbox_row(bot, row_id)
        if row.status == status and row.attempts >= attempts:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"outbox row {row_id} never reached {status} after {attempts} attempts: {row}")
        bot.worker.wake()
        await asyncio.sleep(0.02)  # the worker writes the outcome right after the fake answered


# ------------------------------------------------------------------ webhook


async def test_webhook_refuses_missing_or_wrong_secret_and_stores_nothing(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, zalo, mode="webhook") as bot:
        assert zalo.webhook is not None
        assert (zalo.webhook["url"], zalo.webhook["secret_token"]) == (bot.webhook_url, WEBHOOK_SECRET)
        update = _update("c0ffee00c0ffee00c0ff", "/start")
        assert await _post(bot.webhook_url, update, {}) == 401
        assert await _post(bot.webhook_url, update, {SECRET_HEADER: "not-the-secret"}) == 403
        assert await _post(bot.webhook_url, update, {SECRET_HEADER: WEBHOOK_SECRET[:-1]}) == 403
        assert await _post(bot.webhook_url, update, {SECRET_HEADER: ""}) == 403
        for model in (ProcessedUpdate, Citizen, Conversation):
            assert await bot.rows(model) == []
        assert zalo.calls_of("sendMessage") == []

        # The platform, with the secret it was given, gets through.
        citizen = ZaloCitizen(zalo)
        await citizen.say("/start")
        await citizen.expect("Bạn có đồng ý không?")
        [person] = await bot.rows(Citizen)
        assert (person.channel, person.channel_user_id) == ("zalo", citizen.user_id)
        assert [d.status for d in zalo.webhook_deliveries] == [200]


async def test_webhook_answers_200_only_after_commit_and_redelivery_is_not_processed_twice(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, zalo, mode="webhook") as bot:
        citizen = ZaloCitizen(zalo)
        original = bot.app.engine.handle
        calls = 0

        async def failing_once(inbound: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("database went away")
            return await original(inbound)

        bot.app.engine.handle = failing_once  # type: ignore[method-assign]
        message_id = await citizen.say("/start")
        await citizen.expect("hệ thống đang gặp sự cố")
        await citizen.expect("Bạn có đồng ý không?")
        # Refused with 500 (nothing committed), then redelivered by the platform and processed.
        assert [d.status for d in zalo.webhook_deliveries] == [500, 200]
        assert [row.update_id for row in await bot.rows(ProcessedUpdate)] == [f"m:{message_id}"]

        # The same update delivered again (the platform did not see our 200): no second answer.
        await zalo.send_raw_update(zalo.updates[0])
        await zalo.wait_until(lambda: len(zalo.webhook_deliveries) == 3, what="the redelivery")
        assert zalo.webhook_deliveries[-1].status == 200
        await citizen.say("2")  # Không đồng ý: the next reply is the first one after the redelivery
        declined = await zalo.next_message(citizen.user_id)
        assert "chưa đồng ý" in declined.body, zalo.transcript(citizen.user_id)
        assert len(await bot.rows(ProcessedUpdate)) == 2


async def test_webhook_accepts_bodies_wrapped_as_ok_result(database_url: str, clock: FakeClock) -> None:
    async with FakeZalo(wrap_webhook=True) as zalo, running_zalo(database_url, clock, zalo, mode="webhook"):
        citizen = ZaloCitizen(zalo)
        await citizen.say("/start")
        await citizen.expect("Bạn có đồng ý không?")


# ------------------------------------------------------------------ polling


@pytest.mark.parametrize("errors_in_body", [False, True], ids=["http-408", "body-408"])
async def test_polling_treats_408_as_nothing_new(database_url: str, clock: FakeClock, errors_in_body: bool) -> None:
    async with FakeZalo(errors_in_body=errors_in_body) as zalo, running_zalo(database_url, clock, zalo):
        # Nobody writes for two long polls: each ends with 408 and the bot polls again.
        await zalo.wait_until(lambda: len(zalo.errors_of("getUpdates")) >= 2, timeout=5, what="two empty polls")
        assert {code for code, _ in zalo.errors_of("getUpdates")} == {408}
        assert all(call == {"timeout": "1"} for call in zalo.calls_of("getUpdates"))
        citizen = ZaloCitizen(zalo)
        await citizen.say("/start")
        await citizen.expect("Bạn có đồng ý không?")
        assert zalo.calls_of("deleteWebhook"), "getUpdates does not work while a webhook is set"


async def test_polling_survives_server_errors_and_dropped_connections(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    zalo.fail("getUpdates", 502, times=2)
    zalo.drop("getUpdates")
    zalo.fail("getUpdates", 429, retry_after=0.05)
    async with running_zalo(database_url, clock, zalo):
        citizen = ZaloCitizen(zalo)
        await citizen.say("/start")
        await citizen.expect("Bạn có đồng ý không?")
        assert [code for code, _ in zalo.errors_of("getUpdates")][:3] == [502, 502, 429]


async def test_group_chats_and_bots_are_ignored(database_url: str, clock: FakeClock, zalo: FakeZalo) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        citizen = ZaloCitizen(zalo)
        await zalo.send_group_text("group0000000000000001", citizen.user_id, "/start")
        bot_update = _update("bbbbbbbbbbbbbbbbbbbb", "/start", message_id="bot-message-1")
        bot_update["message"]["from"]["is_bot"] = True
        await zalo.send_raw_update(bot_update)
        await zalo.send_raw_update({"event_name": "message.text.received"})  # no message at all
        await citizen.say("/start")  # queued last: once it is answered, the others were handled
        await citizen.expect("Bạn có đồng ý không?")
        assert zalo.messages("group0000000000000001") == []
        assert zalo.messages("bbbbbbbbbbbbbbbbbbbb") == []
        assert [p.channel_user_id for p in await bot.rows(Citizen)] == [citizen.user_id]


async def test_update_without_event_name_as_in_the_docs_sample(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        update = _update("e4ea2cd5189df1c3a88c", "/start", message_id="16f6366b3f02645a3d15")
        del update["event_name"]
        update["message"]["from"] = {"id": "e4ea2cd5189df1c3a88c", "first_name": "Nguyen Van A"}
        await zalo.send_raw_update(update)
        await zalo.next_containing("e4ea2cd5189df1c3a88c", "Bạn có đồng ý không?")
        [person] = await bot.rows(Citizen)
        assert person.display_name == "Nguyen Van A"


# ------------------------------------------------------------------ outbox delivery


async def test_long_notification_with_options_is_split_and_answerable_by_number(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        citizen = ZaloCitizen(zalo)
        await citizen.say("/start")
        await citizen.expect("Bạn có đồng ý không?")
        await citizen.say("1")
        await citizen.expect("Bạn cần gì?")
        paragraphs = [f"Đoạn {n}. UBND xã đã kiểm tra hiện trường và trả lời như sau." * 3 for n in range(1, 25)]
        text = "Trả lời hồ sơ của bạn:\n\n" + "\n\n".join(paragraphs)
        assert len(text) > 2 * MAX_TEXT_LENGTH
        options = (Option("📂 Xem hồ sơ", "flow:my_cases"), Option("🗓 Lịch tiếp dân", "flow:schedule"))
        row_id = await _queue(bot, citizen, Reply(text, options))
        first = await citizen.expect("Trả lời hồ sơ của bạn")
        pieces = [first.body]
        while "Đoạn 24." not in pieces[-1]:
            pieces.append((await zalo.next_message(citizen.user_id)).body)
        assert len(pieces) == 3 and all(len(piece) <= MAX_TEXT_LENGTH for piece in pieces)
        for paragraph in paragraphs:  # cut between paragraphs, never inside one
            assert any(paragraph in piece for piece in pieces)
        # The options come once, numbered, at the end of the last piece.
        assert "1. 📂 Xem hồ sơ\n  2. 🗓 Lịch tiếp dân" in pieces[-1]
        assert all("1. 📂" not in piece for piece in pieces[:-1])
        row = await _wait_for_row(bot, row_id, "sent", 1)
        assert row.sent_at is not None


async def test_number_typed_after_a_notification_answers_that_notification(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        citizen = ZaloCitizen(zalo)
        await citizen.say("/huy")
        await citizen.expect("Bạn cần gì?")  # the menu: 1 petition, 2 FAQ, 3 my cases, 4 schedule, 5 data
        clock.advance(minutes=5)
        options = (Option("📂 Xem hồ sơ", "flow:my_cases"), Option("🗓 Lịch tiếp dân", "flow:schedule"))
        await _queue(bot, citizen, Reply("Hồ sơ của bạn đã có trả lời.", options))
        await citizen.expect("2. 🗓 Lịch tiếp dân")
        clock.advance(minutes=5)
        # The chat is idle and the last numbered list the person saw is the notification's.
        await citizen.say("2")
        await citizen.expect("Bạn muốn xem lịch tiếp công dân của nơi nào?")


async def test_delivery_errors_are_retried_or_given_up(database_url: str, clock: FakeClock, zalo: FakeZalo) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        citizen = ZaloCitizen(zalo)
        await citizen.say("/huy")
        await citizen.expect("Bạn không có việc gì đang làm dở")
        await citizen.expect("Bạn cần gì?")  # the menu after it: every reply is out before the faults

        # 429 with Retry-After: retried at exactly that time, then sent.
        zalo.fail("sendMessage", 429, retry_after=7, chat_id=citizen.user_id)
        row_id = await _queue(bot, citizen, Reply("Hồ sơ của bạn đã được thụ lý."))
        row = await _wait_for_row(bot, row_id, "pending", 1)
        assert row.next_attempt_at == clock() + timedelta(seconds=7)
        assert "429" in (row.last_error or "")
        clock.advance(seconds=7)
        bot.worker.wake()
        await citizen.expect("Hồ sơ của bạn đã được thụ lý.")
        assert (await _wait_for_row(bot, row_id, "sent", 2)).attempts == 2

        # A server error and a dropped connection: retried later with backoff.
        zalo.fail("sendMessage", 503, chat_id=citizen.user_id)
        row_id = await _queue(bot, citizen, Reply("Cán bộ sẽ liên hệ bạn trong tuần."))
        row = await _wait_for_row(bot, row_id, "pending", 1)
        assert row.next_attempt_at > clock() and "503" in (row.last_error or "")
        zalo.drop("sendMessage")
        clock.advance(minutes=1)
        bot.worker.wake()
        row = await _wait_for_row(bot, row_id, "pending", 2)
        assert row.last_error is not None and row.last_error.startswith("network")
        clock.advance(minutes=1)
        bot.worker.wake()
        await citizen.expect("Cán bộ sẽ liên hệ bạn trong tuần.")

        # The citizen blocked the bot: given up for good, not retried.
        zalo.block(citizen.user_id)
        row_id = await _queue(bot, citizen, Reply("Mời bạn đánh giá."))
        row = await _wait_for_row(bot, row_id, "failed", 1)
        assert row.attempts == 1 and "blocked" in (row.last_error or "")
        assert zalo.token not in (row.last_error or "")
        assert "Mời bạn đánh giá." not in citizen.seen()


# ------------------------------------------------------------------ configuration


async def test_bad_token_and_incomplete_webhook_config_stop_with_one_line(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    from bot.app import open_app

    config = make_config(
        database_url, zalo={"enabled": True, "token": "123:wrong", "base_url": zalo.url, "mode": "polling"}
    )
    app = await open_app(config, clock=clock, migrate=False)
    try:
        transport = ZaloTransport(app)
        with pytest.raises(ConfigError, match=r"zalo.token: the Bot API refused it \(401"):
            await transport.start()
        for section, message in (
            ({"mode": "webhook", "webhook_url": "https://bot.example.vn/zalo"}, "zalo.webhook_secret"),
            ({"mode": "webhook", "webhook_secret": "short"}, "zalo.webhook_url"),
            ({"mode": "webhook", "webhook_url": "https://bot.example.vn/zalo", "webhook_secret": "short"}, "8 to 256"),
        ):
            other = make_config(database_url, zalo={"enabled": True, "token": zalo.token, **section})
            app.config = other
            with pytest.raises(ConfigError, match=message):
                ZaloTransport(app)
    finally:
        await app.close()
