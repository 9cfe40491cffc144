"""The conversation around the FAQ and the petition (issue 18): what a person sees.

A case code typed at the home screen, a photo sent there, questions no officer can answer,
"quay lại" inside the petition, "Sửa nội dung", and how the parts of a description and an
address typed at the commune step end up in the case.
"""

from __future__ import annotations

from sqlmodel import select

from bot.app import App
from handlers.petition import join_parts
from storage.models import Case
from tests.helpers import Chat


async def _consent(chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Tôi đồng ý")


async def _cases(app: App) -> list[Case]:
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.exec(select(Case))).all())


async def _file(chat: Chat, text: str = "Đèn đường tắt cả tháng nay") -> None:
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.press("Xã Mỹ Hòa")
    await chat.say(text)
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")


async def test_a_case_code_typed_at_home_shows_ones_own_case_only(app: App) -> None:
    alice, bob = Chat(app, user_id="3001"), Chat(app, user_id="3002")
    await _consent(alice)
    await _file(alice)
    await alice.say("CN-2026-00001")
    assert "Đèn đường tắt" in alice.text and "CN-2026-00001" in alice.text
    await alice.say("hồ sơ cn-2026-00001 tới đâu rồi")
    assert "Đèn đường tắt" in alice.text
    await bob.say("CN-2026-00001")
    assert "Không tìm thấy hồ sơ CN-2026-00001" in bob.text
    assert "Đèn đường" not in bob.text
    assert "Gửi câu hỏi cho cán bộ" not in " ".join(bob.labels)


async def test_a_photo_at_home_offers_a_petition_that_keeps_it(app: App) -> None:
    chat = Chat(app, user_id="3003")
    await _consent(chat)
    await chat.photo("AgACtree", caption="cây đổ chắn đường")
    assert "gửi ảnh này để phản ánh" in chat.text
    await chat.press("Gửi phản ánh kèm ảnh này")
    await chat.press("Phản ánh")
    await chat.press("Xã Mỹ Hòa")
    assert "1 tin nhắn, 1 ảnh" in chat.text  # the photo and its caption are already there
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    [case] = await _cases(app)
    assert case.attachments == [{"kind": "photo", "file": "AgACtree"}]
    assert "cây đổ chắn đường" in case.description


async def test_no_officer_is_offered_for_gibberish_or_what_no_commune_answers(app: App) -> None:
    chat = Chat(app, user_id="3004")
    await _consent(chat)
    await chat.say("asdfgh qwrtz kkkkkk")
    assert "Gửi câu hỏi cho cán bộ" not in " ".join(chat.labels)
    await chat.say("giá vàng hôm nay bao nhiêu vậy cán bộ")
    assert "không trả lời được" in chat.text
    assert "Gửi câu hỏi cho cán bộ" not in " ".join(chat.labels)
    await chat.say("xổ số miền nam hôm nay ra số mấy")
    assert "Gửi câu hỏi cho cán bộ" not in " ".join(chat.labels)
    # A real question the FAQ lacks may still go to an officer.
    await chat.say("cán bộ cho hỏi chừng nào ấp tui có đường nhựa")
    assert any("cán bộ" in label for label in chat.labels)


async def test_quay_lai_goes_back_one_step_and_keeps_what_was_sent(app: App) -> None:
    chat = Chat(app, user_id="3005")
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("kim hoa")
    await chat.say("Cống bị nghẹt")
    await chat.say("quay lại")  # at the description: back to the commune
    assert "Quay lại bước trước" in chat.text and "xã, thị trấn nào" in chat.text
    assert "Đã hủy" not in chat.text
    await chat.say("Quay lại")  # at the commune: back to the kind of petition
    assert "Phản ánh" in chat.labels and "Tố cáo" in chat.labels
    await chat.press("Kiến nghị")
    await chat.say("my hoa")
    assert "1 tin nhắn" in chat.text  # what was typed before is still there
    await chat.press("Xong")
    await chat.say("quay lại")  # at the phone: back to the description
    assert "1 tin nhắn" in chat.text
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    [case] = await _cases(app)
    assert case.type == "kien_nghi" and case.description == "Cống bị nghẹt"
    # At the first question there is no step before: it cancels, as it always did.
    await chat.press("Gửi phản ánh")
    await chat.say("quay lại")
    assert "Đã hủy" in chat.text


async def test_sua_noi_dung_keeps_the_photos_and_says_so(app: App) -> None:
    chat = Chat(app, user_id="3006")
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.press("Xã Mỹ Hòa")
    await chat.say("rác đổ ở đầu cầu")
    await chat.photo("AgACtrash")
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Sửa nội dung")
    assert "1 ảnh đã gửi vẫn được giữ" in chat.text and "0 tin nhắn, 1 ảnh" in chat.text
    await chat.say("rác đổ ở đầu cầu Mỹ Hòa, bốc mùi")
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    [case] = await _cases(app)
    assert case.attachments == [{"kind": "photo", "file": "AgACtrash"}]
    assert case.description == "rác đổ ở đầu cầu Mỹ Hòa, bốc mùi"


async def test_parts_are_joined_as_sentences_and_an_address_keeps_its_hamlet(app: App) -> None:
    chat = Chat(app, user_id="3007")
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("ấp Sóc Chuối, xã Long Sơn")
    assert "Nơi xảy ra: Xã Long Sơn" in chat.text
    await chat.say("Đường bể")
    await chat.say("xe không chạy được!")
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    [case] = await _cases(app)
    assert case.description == "Địa chỉ: ấp Sóc Chuối, xã Long Sơn.\nĐường bể.\nxe không chạy được!"


def test_join_parts() -> None:
    assert join_parts(["a", " b? ", "", "c"]) == "a.\nb?\nc."
    assert join_parts(["chỉ một tin nhắn"]) == "chỉ một tin nhắn"
