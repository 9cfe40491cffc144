"""The Zalo OA channel end to end: a citizen who follows the commune's OA, over real HTTP.

The bot's real transport runs against :class:`~tests.fakes.zalo_oa_api.FakeZaloOa`: signed
webhook events in, ``message/cs`` calls out (buttons tapped by the fake citizen come back as
text events carrying the button's payload), tokens from the fake's OAuth endpoint.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.dialog.types import Button, Outgoing
from bot.transports.zalo_oa import MAX_TEXT_LENGTH, render, signed_timestamp
from storage.models import Case, Citizen, FaqFeedback, OutboxMessage, ProcessedUpdate
from tests.fakes.zalo_oa_api import FakeZaloOa, OaCitizen
from tests.helpers import FakeClock
from tests.zalo_oa_helpers import OaBot, running_oa

PHOTO = "https://photo-talk.zdn.vn/8b1c2d/cong-nghet.jpg"
VOICE = "https://voice-talk.zdn.vn/a7/ghi-am.aac"


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa(clock=clock) as server:
        yield server


@pytest.fixture
async def bot(database_url: str, clock: FakeClock, fake: FakeZaloOa) -> AsyncIterator[OaBot]:
    async with running_oa(database_url, clock, fake) as running:
        yield running


async def _consent(citizen: OaCitizen) -> None:
    await citizen.follow()  # following the OA greets, then asks for consent
    await citizen.expect("Xin chào")
    consent = await citizen.expect("Bạn có đồng ý không?")
    assert [title for title, _ in consent.buttons] == ["✅ Tôi đồng ý", "❌ Không đồng ý"]
    await citizen.press("Tôi đồng ý", consent)
    await citizen.expect("Cảm ơn bạn đã đồng ý")
    await citizen.expect("Bạn cần gì?")


async def file_petition(citizen: OaCitizen, description: str = "Cống ở ấp Cầu Xây bị nghẹt") -> str:
    """A kiến nghị at Hiệp Mỹ Đông with a photo, a voice message and a location, by buttons."""
    await citizen.press("Gửi phản ánh")
    kinds = await citizen.expect("Bạn muốn gửi loại nào?")
    await citizen.press("Kiến nghị", kinds)
    await citizen.expect("xã, thị trấn nào")
    await citizen.say("hiep my dong")
    await citizen.expect("Bạn kể lại sự việc")
    await citizen.image(PHOTO, caption=description)
    await citizen.expect("1 tin nhắn, 1 ảnh")
    await citizen.audio(VOICE)
    await citizen.expect("1 tin nhắn, 2 ảnh")
    await citizen.location(9.7312, 106.4589)
    progress = await citizen.expect("Đã ghi nhận")
    await citizen.press("Xong", progress)
    await citizen.expect("không bắt buộc")
    await citizen.say("0912 345 678")
    summary = await citizen.expect("Kiểm tra lại trước khi gửi")
    await citizen.press("Gửi", summary)
    received = await citizen.expect("Đã tiếp nhận")
    await citizen.expect("Bạn cần gì thêm không?")
    return received.text


async def test_a_petition_with_photo_voice_and_location(bot: OaBot, fake: FakeZaloOa) -> None:
    citizen = OaCitizen(fake)
    await _consent(citizen)
    received = await file_petition(citizen)
    [case] = await bot.rows(Case)
    assert case.code in received and (case.channel, case.chat_id) == ("zalo_oa", citizen.user_id)
    assert case.attachments == [{"kind": "photo", "file": PHOTO}, {"kind": "voice", "file": VOICE}]
    assert (case.latitude, case.longitude) == (9.7312, 106.4589)
    assert case.description == "Cống ở ấp Cầu Xây bị nghẹt"
    # Told how the OA's reply window works when the case is filed.
    [note] = [m.text for m in fake.messages(citizen.user_id) if "trong 7 ngày" in m.text]
    assert "Hồ sơ của tôi" in note and "gửi ngay khi bạn nhắn" in note
    [person] = await bot.rows(Citizen)
    assert (person.channel, person.channel_user_id) == ("zalo_oa", citizen.user_id)
    assert all(len(m.text) <= MAX_TEXT_LENGTH and "<b>" not in m.text for m in fake.messages(citizen.user_id))


async def test_faq_my_cases_and_the_reception_schedule(bot: OaBot, fake: FakeZaloOa) -> None:
    citizen = OaCitizen(fake)
    await _consent(citizen)
    await citizen.press("Hỏi thủ tục")
    await citizen.expect("Bạn muốn hỏi thủ tục gì?")
    await citizen.say("lam giay khai sanh cho con")
    answer = await citizen.expect("Đăng ký khai sinh")
    assert tuple(title for title, _ in answer.buttons[:2]) == ("👍 Có ích", "👎 Chưa đúng")
    await citizen.press("Có ích", answer)
    await citizen.expect("Cảm ơn bạn đã cho biết!")
    [log] = await bot.rows(FaqFeedback)
    assert (log.channel, log.entry_id, log.helpful) == ("zalo_oa", "khai-sinh", True)

    await file_petition(citizen)
    await citizen.press("Hồ sơ của tôi")
    listing = await citizen.expect("Hồ sơ của bạn")
    assert "CN-2026-00001 Kiến nghị: Đã tiếp nhận" in listing.text
    await citizen.press("CN-2026-00001", listing)
    card = await citizen.expect("Hồ sơ CN-2026-00001")
    assert "Trạng thái: Đã tiếp nhận" in card.text

    await citizen.press("Lịch tiếp công dân")
    await citizen.expect("Bạn muốn xem lịch tiếp công dân của nơi nào?")
    await citizen.say("hiep my dong")
    schedule = await citizen.expect("Lịch tiếp công dân: Xã Hiệp Mỹ Đông")
    assert "📍" in schedule.text


async def test_a_sticker_is_answered_politely(bot: OaBot, fake: FakeZaloOa) -> None:
    citizen = OaCitizen(fake)
    await _consent(citizen)
    await citizen.sticker()
    answer = await citizen.expect("Chọn một mục")
    assert "Tôi chỉ đọc được" not in answer.text and answer.buttons


async def test_a_forged_or_replayed_webhook_changes_nothing(bot: OaBot, fake: FakeZaloOa) -> None:
    citizen = OaCitizen(fake)
    event = fake.user_event("user_send_text", citizen.user_id, {"text": "/start"})
    raw = json.dumps(event).encode()
    assert await fake.post_raw(raw, {}) == 401  # no signature
    assert await fake.post_raw(raw, {"X-ZEvent-Signature": fake.sign(raw, secret="guessed")}) == 403
    tampered = raw.replace(b"/start", b"/hoso!")
    assert await fake.post_raw(tampered, {"X-ZEvent-Signature": fake.sign(raw)}) == 403
    assert await fake.post_raw(raw, {"X-ZEvent-Signature": "mac=" + "0" * 64}) == 403
    assert await bot.rows(ProcessedUpdate) == [] and await bot.rows(Citizen) == []
    assert fake.messages(citizen.user_id) == []

    status, delivered = await fake.emit(event)
    assert status == 200
    await citizen.expect("Bạn có đồng ý không?")
    count = len(fake.messages(citizen.user_id))
    # The same signed bytes again (Zalo's retry, or an attacker's replay): no second answer.
    assert await fake.post_raw(delivered, {"X-ZEvent-Signature": fake.sign(delivered)}) == 200
    assert len(await bot.rows(ProcessedUpdate)) == 1 and len(await bot.rows(Citizen)) == 1
    await bot.worker.settle()
    assert len(fake.messages(citizen.user_id)) == count


def test_the_signature_is_app_id_body_timestamp_secret() -> None:
    raw = b'{"app_id":"1","event_name":"user_send_text","timestamp":"1751100041636","message":{"text":"hi"}}'
    import hashlib

    mac = hashlib.sha256(b"1" + raw + b"1751100041636" + b"key").hexdigest()
    assert signed_timestamp(raw, "mac=" + mac, "1", "key") == "1751100041636"
    assert signed_timestamp(raw, mac, "1", "key") == "1751100041636"  # without "mac="
    assert signed_timestamp(raw, "mac=" + mac, "1", "other") is None
    assert signed_timestamp(raw, "mac=" + mac, "2", "key") is None
    assert signed_timestamp(raw + b" ", "mac=" + mac, "1", "key") is None


def test_options_are_query_buttons_up_to_five_then_numbered_lines() -> None:
    five = tuple((Button(f"Mục {n}", f"tok{n}"),) for n in range(1, 6))
    [body] = render(Outgoing("zalo_oa", "u1", "<b>Chọn</b>", five), "👉 Gõ số")
    payload = body["message"]["attachment"]["payload"]
    assert payload["text"] == "Chọn" and payload["template_type"] == "button"
    assert [b["payload"] for b in payload["buttons"]] == [f"#tok{n}" for n in range(1, 6)]
    assert {b["type"] for b in payload["buttons"]} == {"oa.query.hide"}
    six = (*five, (Button("Mục 6", "tok6"),))
    [body] = render(Outgoing("zalo_oa", "u1", "Chọn", six), "👉 Gõ số")
    assert "attachment" not in body["message"]
    assert "  6. Mục 6" in body["message"]["text"] and body["message"]["text"].endswith("👉 Gõ số")
    long = render(Outgoing("zalo_oa", "u1", "Một câu dài. " * 400, five[:2]), "")
    assert len(long) == 3 and all(len(b["message"].get("text", "")) <= MAX_TEXT_LENGTH for b in long)
    assert "attachment" in long[-1]["message"]


async def test_a_report_file_is_uploaded_and_sent(bot: OaBot, fake: FakeZaloOa, tmp_path: object) -> None:
    from pathlib import Path

    citizen = OaCitizen(fake)
    await _consent(citizen)
    report = Path(str(tmp_path)) / "bao-cao.pdf"
    report.write_bytes(b"%PDF-1.4 fake report")
    await bot.transport.deliver(Outgoing("zalo_oa", citizen.user_id, "Báo cáo tuần", file=str(report)))
    sent = fake.messages(citizen.user_id)[-2:]
    assert sent[0].file_token is not None and fake.uploads[sent[0].file_token] == "bao-cao.pdf"
    assert sent[1].text == "Báo cáo tuần"


async def test_unfollow_stops_notices_until_the_person_comes_back(
    bot: OaBot, fake: FakeZaloOa, clock: FakeClock
) -> None:
    citizen = OaCitizen(fake)
    await _consent(citizen)
    await file_petition(citizen)
    [case] = await bot.rows(Case)
    await citizen.unfollow()
    await _queue_notice(bot, case, "Cán bộ đã xuống kiểm tra cống.")
    held = await _outbox_status(bot, "held")
    assert len(held) == 1
    assert not any("kiểm tra cống" in m.text for m in fake.messages(citizen.user_id))
    await citizen.follow()
    await citizen.expect("Cán bộ đã xuống kiểm tra cống.")
    assert await _outbox_status(bot, "held") == []


async def _queue_notice(bot: OaBot, case: Case, text: str) -> None:
    """An officer's reply to the citizen, as the officer flow queues it (and records its event)."""
    from bot.services import casework
    from bot.services.access import Actor

    async with bot.app.db.unit_of_work() as uow:
        fresh = await uow.cases.get(case.id or 0)
        assert fresh is not None
        await casework.reply(uow, bot.app.services, fresh, Actor(None, True), "telegram", "900001", text)
    bot.worker.wake()
    await bot.worker.settle()
    await _settled(bot)


async def _settled(bot: OaBot) -> None:
    import asyncio

    for _ in range(100):
        if not await _outbox_status(bot, "pending"):
            return
        await asyncio.sleep(0.05)


async def _outbox_status(bot: OaBot, status: str) -> list[OutboxMessage]:
    return [row for row in await bot.rows(OutboxMessage) if row.status == status]


def test_a_tap_is_a_choice_and_a_typed_hashtag_stays_text() -> None:
    from bot.transports.zalo_oa import to_inbound

    def text_event(text: str) -> dict[str, object]:
        return {
            "event_name": "user_send_text",
            "sender": {"id": "u1"},
            "timestamp": "1",
            "message": {"msg_id": "m", "text": text},
        }

    tap = to_inbound(text_event("#NGdO2OXvzaeY"))
    assert tap is not None and (tap.kind, tap.token) == ("choice", "NGdO2OXvzaeY")
    for typed in ("#khẩn", "#gấp cứu", "#"):
        inbound = to_inbound(text_event(typed))
        assert inbound is not None and inbound.kind == "text", typed


async def test_200_only_after_commit_and_a_redelivery_is_not_processed_twice(bot: OaBot, fake: FakeZaloOa) -> None:
    citizen = OaCitizen(fake)
    original = bot.app.engine.handle
    calls = 0

    async def failing_once(inbound: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await original(inbound)

    bot.app.engine.handle = failing_once  # type: ignore[method-assign]
    event = fake.user_event("user_send_text", citizen.user_id, {"text": "/start"})
    status, raw = await fake.emit(event)
    assert status == 500  # nothing committed: Zalo delivers it again
    await citizen.expect("hệ thống đang gặp sự cố")
    assert await bot.rows(ProcessedUpdate) == []
    assert await fake.post_raw(raw, {"X-ZEvent-Signature": fake.sign(raw)}) == 200  # Zalo's retry
    await citizen.expect("Bạn có đồng ý không?")
    assert [row.update_id for row in await bot.rows(ProcessedUpdate)] == [f"m:{event['message']['msg_id']}"]
