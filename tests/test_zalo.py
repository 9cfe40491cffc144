"""The citizen flows end to end on Zalo: the real transport against the fake Zalo Bot API.

Zalo has no buttons, so every choice below is typed: a number ("1"), a number word ("hai",
"một") or an option's label without accents ("bo qua"). The tests read what the person sees
(plain text, numbered options, a hint to type the number) and what the database holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.services.cases import excerpt
from storage.models import Case, CaseEvent, Citizen, FaqFeedback
from tests.fakes.zalo_api import MAX_TEXT_LENGTH, FakeZalo
from tests.helpers import FakeClock
from tests.zalo_helpers import ZaloBot, ZaloCitizen, running_zalo

HINT = "Gõ số thứ tự để chọn"
PHOTO = "https://photo-stal-1.zdn.vn/hoso/ong-cong-nghet.jpg"


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


@pytest.fixture
async def bot(database_url: str, clock: FakeClock, zalo: FakeZalo) -> AsyncIterator[ZaloBot]:
    async with running_zalo(database_url, clock, zalo) as running:
        yield running


async def _consent(citizen: ZaloCitizen) -> None:
    await citizen.say("/start")
    await citizen.expect("Xin chào")
    question = await citizen.expect("Bạn có đồng ý không?")
    assert "1. ✅ Tôi đồng ý" in question.body and "2. ❌ Không đồng ý" in question.body
    assert question.body.rstrip().endswith("hoặc gõ tên mục.") and HINT in question.body
    await citizen.say("1")
    await citizen.expect("Cảm ơn bạn đã đồng ý")
    await citizen.expect("Bạn cần gì?")


async def test_petition_end_to_end_with_typed_choices(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await _consent(citizen)
    await citizen.say("một")
    kinds = await citizen.expect("Bạn muốn gửi loại nào?")
    # Catalog HTML is turned into plain text; options are numbered lines.
    assert "<b>" not in kinds.body and "• Phản ánh:" in kinds.body
    assert "1. Phản ánh\n  2. Kiến nghị\n  3. Khiếu nại\n  4. Tố cáo" in kinds.body
    await citizen.say("hai")
    units = await citizen.expect("xã, thị trấn nào")
    assert "Xã Hiệp Mỹ Đông" in units.body
    await citizen.say("hiep my dong")
    chosen = await citizen.expect("Nơi xảy ra")
    assert "Nơi xảy ra: Xã Hiệp Mỹ Đông" in chosen.body
    await citizen.say("Đường ấp Hiệp Mỹ bị sạt lở, xin sửa trước mùa mưa <b>gấp</b>")
    await citizen.expect("Đã ghi nhận: 1 tin nhắn, 0 ảnh")
    await citizen.say("1")
    await citizen.expect("không bắt buộc")
    await citizen.say("bo qua")
    summary = await citizen.expect("Kiểm tra lại trước khi gửi")
    assert "Loại: Kiến nghị" in summary.body and "Nơi: Xã Hiệp Mỹ Đông" in summary.body
    # What the citizen typed comes back as typed: escaped for Telegram, unescaped for Zalo.
    assert "sửa trước mùa mưa <b>gấp</b>" in summary.body
    assert "1. 📨 Gửi" in summary.body
    await citizen.say("gui")
    received = await citizen.expect("Đã tiếp nhận")
    assert "Mã hồ sơ: CN-2026-00001" in received.body and "<code>" not in received.body

    [case] = await bot.rows(Case)
    assert (case.code, case.type, case.channel, case.chat_id) == ("CN-2026-00001", "kien_nghi", "zalo", citizen.user_id)
    assert case.description == "Đường ấp Hiệp Mỹ bị sạt lở, xin sửa trước mùa mưa <b>gấp</b>"
    [person] = await bot.rows(Citizen)
    assert (person.channel, person.channel_user_id, person.display_name) == ("zalo", citizen.user_id, citizen.name)
    assert person.consent_at is not None
    # Every piece the bot sent fits Zalo's limit and nothing was refused.
    assert not zalo.errors
    assert all(len(text) <= MAX_TEXT_LENGTH for text in citizen.seen())


async def test_photo_by_url_is_kept_as_case_attachment(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await _consent(citizen)
    await citizen.say("1")
    await citizen.expect("Bạn muốn gửi loại nào?")
    await citizen.say("1")
    await citizen.expect("xã, thị trấn nào")
    await citizen.say("kim hoa")
    await citizen.expect("Bạn kể lại sự việc")
    await citizen.image(PHOTO, caption="Cống nghẹt trước nhà văn hóa ấp")
    progress = await citizen.expect("Đã ghi nhận")
    assert "1 tin nhắn, 1 ảnh" in progress.body
    await citizen.image(PHOTO.replace(".jpg", "-2.jpg"))
    await citizen.expect("1 tin nhắn, 2 ảnh")
    await citizen.say("xong")
    await citizen.expect("không bắt buộc")
    await citizen.say("0912 345 678")
    summary = await citizen.expect("Kiểm tra lại")
    assert "Ảnh: 2" in summary.body and "0912345678" in summary.body
    await citizen.say("1")  # 1. Gửi
    await citizen.expect("Đã tiếp nhận")

    [case] = await bot.rows(Case)
    assert case.attachments == [
        {"kind": "photo", "file": PHOTO},
        {"kind": "photo", "file": PHOTO.replace(".jpg", "-2.jpg")},
    ]
    assert case.description == "Cống nghẹt trước nhà văn hóa ấp"


async def test_faq_question_without_accents_and_thumbs_up_by_number(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await _consent(citizen)
    await citizen.say("Hỏi thủ tục")  # part of the menu label "❓ Hỏi thủ tục hành chính"
    await citizen.expect("Bạn muốn hỏi thủ tục gì?")
    await citizen.say("lam giay khai sanh cho con")
    answer = await citizen.expect("Đăng ký khai sinh")
    assert "60 ngày" in answer.body and "UBND xã" in answer.body
    assert "1. 👍 Có ích" in answer.body and "2. 👎 Chưa đúng" in answer.body
    await citizen.say("1")
    await citizen.expect("Cảm ơn bạn đã cho biết!")

    [log] = await bot.rows(FaqFeedback)
    assert (log.channel, log.entry_id, log.outcome, log.helpful) == ("zalo", "khai-sinh", "answer", True)


async def test_my_cases_lists_and_opens_by_number(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await _consent(citizen)
    await citizen.file_petition()
    await citizen.say("/hoso")
    listing = await citizen.expect("Hồ sơ của bạn")
    assert "CN-2026-00001 Kiến nghị: Đã tiếp nhận" in listing.body
    assert "1. CN-2026-00001" in listing.body
    await citizen.say("1")
    card = await citizen.expect("Hồ sơ CN-2026-00001")
    assert "Trạng thái: Đã tiếp nhận" in card.body and "Xã Hiệp Mỹ Đông" in card.body

    # Another Zalo user sees neither the list nor the case by its code.
    stranger = ZaloCitizen(zalo, user_id="b1b2b3b4b5b6b7b8b9b0", name="Người khác")
    await stranger.say("/hoso")
    await stranger.expect("Bạn chưa gửi hồ sơ nào")
    await stranger.say("/hoso CN-2026-00001")
    await stranger.expect("Không tìm thấy hồ sơ CN-2026-00001")


async def test_long_case_card_is_split_under_the_limit(bot: ZaloBot, zalo: FakeZalo, clock: FakeClock) -> None:
    citizen = ZaloCitizen(zalo)
    await _consent(citizen)
    await citizen.file_petition("Nước thải từ trại heo chảy ra kênh. " * 20)
    [case] = await bot.rows(Case)
    sentences = [f"Ý kiến số {n}: đoàn kiểm tra đã làm việc với hộ chăn nuôi và lập biên bản." for n in range(1, 45)]
    answer = "\n".join(sentences)
    async with bot.app.db.unit_of_work() as uow:
        assert case.id is not None
        await uow.cases.add_event(
            CaseEvent(
                case_id=case.id,
                at=clock(),
                actor_kind="staff",
                actor_id=None,
                kind="replied",
                visibility="public",
                payload={"text": answer},
            )
        )
    await citizen.say("/hoso CN-2026-00001")
    first = await citizen.expect("Hồ sơ CN-2026-00001")
    pieces = [first.body]
    while "Ý kiến số 44" not in pieces[-1]:
        pieces.append((await zalo.next_message(citizen.user_id)).body)
    assert len(pieces) >= 2
    assert all(len(piece) <= MAX_TEXT_LENGTH for piece in pieces)
    assert all(len(call["text"]) <= MAX_TEXT_LENGTH for call in zalo.calls_of("sendMessage"))
    # Cut at line boundaries: every sentence arrives whole, in order.
    joined = "\n".join(pieces)
    for sentence in sentences:
        assert sentence in joined
    assert joined.index("Ý kiến số 9:") < joined.index("Ý kiến số 10:") < joined.index("Ý kiến số 44:")
    assert excerpt(case.description, 100)[:60] in first.body
    assert not zalo.errors


async def test_sticker_and_unsupported_messages_get_a_helpful_answer(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await citizen.sticker()  # a friendly gesture: thanked, with the menu
    answer = await citizen.expect("Cảm ơn bạn!")
    assert "1. 📝 Gửi phản ánh, kiến nghị" in answer.body and HINT in answer.body
    # "unsupported" is Zalo withholding a protected sender's content (its docs), not a format.
    await zalo.send_unsupported(citizen.user_id)
    await citizen.expect("Zalo không chuyển nội dung tin nhắn này")
    # Inside the petition flow a sticker does not derail the step.
    await _consent(citizen)
    await citizen.say("1")
    await citizen.expect("Bạn muốn gửi loại nào?")
    await citizen.say("1")
    await citizen.expect("xã, thị trấn nào")
    await citizen.say("vinh kim")
    await citizen.expect("Bạn kể lại sự việc")
    await citizen.sticker()
    await citizen.expect("Ở bước này tôi nhận chữ, ảnh và vị trí")
    await citizen.say("Đèn đường tắt cả tuần")
    await citizen.expect("Đã ghi nhận: 1 tin nhắn, 0 ảnh")


async def test_commands_and_cancel(bot: ZaloBot, zalo: FakeZalo) -> None:
    citizen = ZaloCitizen(zalo)
    await _consent(citizen)
    await citizen.say("/phananh")
    await citizen.expect("Bạn muốn gửi loại nào?")
    await citizen.say("/huy")
    await citizen.expect("Đã hủy")
    await citizen.say("/khongcolenhnay")
    await citizen.expect("Tôi không hiểu lệnh này")
