"""Zalo Bot Platform details from its current documentation (issue 16, item 5).

Photos may come as ``photo_url`` or ``photo`` (a string, an object or a list); voice messages
carry ``voice_url`` and are kept as attachments flagged for an officer; ``unsupported`` means
Zalo withheld a protected sender's content; 403 is a server error (retried) and 429 an exhausted
quota (long back-off); the bot shows "typing" while a turn runs; ``health`` compares the
webhook Zalo posts to with ours (``getWebhookInfo``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot import health
from bot.dialog.types import Reply
from bot.transports.zalo import ZaloApiError, delivery_error, photo_url, to_inbound
from storage.models import Case
from tests.conftest import make_config
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import FakeClock
from tests.test_zalo_transport import _queue, _wait_for_row
from tests.zalo_helpers import ZaloCitizen, running_zalo

PHOTO = "https://photo-talk.zdn.vn/1/anh.jpg"
VOICE = "https://f21-voice-aac-dl.zdn.vn/2/ghi-am.aac"


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as server:
        yield server


@pytest.mark.parametrize(
    "fields",
    [
        {"photo_url": PHOTO},
        {"photo": PHOTO},
        {"photo": {"url": PHOTO}},
        {"photo": [{"url": "https://photo-talk.zdn.vn/1/nho.jpg"}, {"url": PHOTO}]},
        {"photo": ["https://photo-talk.zdn.vn/1/nho.jpg", PHOTO]},
    ],
)
def test_a_photo_in_every_documented_shape(fields: dict[str, object]) -> None:
    assert photo_url(fields) == PHOTO
    message = {"message_id": "m1", "from": {"id": "u1"}, "chat": {"id": "u1"}, **fields}
    inbound = to_inbound({"event_name": "message.image.received", "message": message})
    assert inbound is not None and (inbound.kind, inbound.attachment) == ("photo", PHOTO)


def test_voice_and_withheld_messages() -> None:
    base = {"message_id": "m1", "from": {"id": "u1"}, "chat": {"id": "u1", "chat_type": "PRIVATE"}}
    voice = to_inbound({"event_name": "message.voice.received", "message": {**base, "voice_url": VOICE}})
    assert voice is not None and (voice.kind, voice.attachment) == ("voice", VOICE)
    withheld = to_inbound({"event_name": "message.unsupported.received", "message": base})
    assert withheld is not None and (withheld.kind, withheld.other) == ("other", "withheld")


def test_403_is_retried_and_429_backs_off_long() -> None:
    server = delivery_error(ZaloApiError("sendMessage", 403, "Internal server error"))
    assert not server.permanent and server.retry_after is None
    quota = delivery_error(ZaloApiError("sendMessage", 429, "Quota exceeded"))
    assert not quota.permanent and quota.retry_after == 3600.0


async def test_a_voice_message_joins_the_petition_and_typing_is_shown(
    database_url: str, clock: FakeClock, zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        citizen = ZaloCitizen(zalo)
        await citizen.consent()
        await citizen.say("1")
        await citizen.expect("Bạn muốn gửi loại nào?")
        await citizen.say("1")
        await citizen.expect("xã, thị trấn nào")
        await citizen.say("kim hoa")
        await citizen.expect("Bạn kể lại sự việc")
        await zalo.send_raw_update(
            {
                "event_name": "message.voice.received",
                "message": {
                    "message_id": "v1",
                    "from": {"id": citizen.user_id, "display_name": citizen.name},
                    "chat": {"id": citizen.user_id, "chat_type": "PRIVATE"},
                    "voice_url": VOICE,
                    "message_type": "CHAT_VOICE",
                },
            }
        )
        await citizen.expect("0 tin nhắn, 1 ảnh")
        await citizen.say("xong")
        await citizen.expect("không bắt buộc")
        await citizen.say("bo qua")
        await citizen.expect("Kiểm tra lại")
        await citizen.say("1")
        await citizen.expect("Đã tiếp nhận")
        [case] = await bot.rows(Case)
        assert case.attachments == [{"kind": "voice", "file": VOICE}]
        assert (citizen.user_id, "typing") in zalo.chat_actions

        await zalo.send_unsupported(citizen.user_id)
        answer = await citizen.expect("Zalo không chuyển nội dung")
        assert "Tôi chỉ đọc được" not in answer.body


async def test_a_403_from_zalo_is_retried(database_url: str, clock: FakeClock, zalo: FakeZalo) -> None:
    async with running_zalo(database_url, clock, zalo) as bot:
        citizen = ZaloCitizen(zalo)
        await citizen.say("/huy")
        await citizen.expect("Bạn cần gì?")
        zalo.fail("sendMessage", 403, description="Internal server error", chat_id=citizen.user_id)
        row_id = await _queue(bot, citizen, Reply("Hồ sơ của bạn đã được thụ lý."))
        row = await _wait_for_row(bot, row_id, "pending", 1)
        assert "403" in (row.last_error or "")
        clock.advance(minutes=5)
        bot.worker.wake()
        await citizen.expect("Hồ sơ của bạn đã được thụ lý.")


async def test_health_compares_the_registered_webhook(database_url: str, clock: FakeClock, zalo: FakeZalo) -> None:
    async with running_zalo(database_url, clock, zalo, mode="webhook") as bot:
        report = await health.check(bot.app.config, now=clock() + timedelta(seconds=1))
        assert not any(problem.startswith("zalo:") for problem in report.problems), report.problems
        elsewhere = make_config(
            database_url,
            zalo={**bot.app.config.zalo.model_dump(), "webhook_url": "https://other.example.vn/zalo"},
        )
        report = await health.check(elsewhere, now=clock())
        assert any("the webhook Zalo posts to is http://127.0.0.1" in p for p in report.problems)
