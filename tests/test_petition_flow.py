"""Dialog-level tests of the citizen flows: what the person sees, what the database holds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.app import App, open_app
from handlers.petition import looks_like_name
from storage.models import Case, CaseContact, CaseEvent, Citizen, OutboxMessage, Unit
from tests.conftest import make_config
from tests.helpers import Chat, FakeClock


async def _consent(chat: Chat) -> None:
    await chat.say("/start")
    assert "Xin chào" in chat.text
    assert chat.labels[:2] == ["✅ Tôi đồng ý", "❌ Không đồng ý"]
    await chat.press("Tôi đồng ý")
    assert "Cảm ơn bạn đã đồng ý" in chat.text


async def _rows(app: App, model: type) -> list:  # type: ignore[type-arg]
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.exec(select(model))).all())


async def test_start_asks_consent_before_anything_personal(app: App) -> None:
    chat = Chat(app)
    await chat.say("/start")
    assert "dữ liệu cá nhân" in chat.text.lower()
    await chat.press("Không đồng ý")
    assert "chưa đồng ý" in chat.text
    citizens = await _rows(app, Citizen)
    assert citizens[0].consent_at is None
    await chat.press("Gửi phản ánh")
    assert "cần đồng ý" in chat.text
    assert "✅ Tôi đồng ý" in chat.labels


async def test_full_petition_is_committed_before_the_code_is_shown(app: App, clock: FakeClock) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    assert "Phản ánh" in chat.labels and "Tố cáo" in chat.labels
    await chat.press("Phản ánh")
    assert "xã, thị trấn nào" in chat.text
    await chat.say("kim hoa")  # no accents
    assert "Nơi xảy ra: Xã Kim Hòa" in chat.text
    await chat.say("Cống ở ấp Cầu Xây bị nghẹt, nước ngập đường <b>ba ngày</b>")
    assert "1 tin nhắn, 0 ảnh" in chat.text
    await chat.photo("AgACphoto1")
    await chat.location(9.80, 106.45)
    assert "1 ảnh, có vị trí" in chat.text
    await chat.say("xong")
    assert "không bắt buộc" in chat.text
    await chat.say("0912 345 678")
    assert "Kiểm tra lại" in chat.text and "0912345678" in chat.text
    # User text is escaped, never interpreted as markup.
    assert "&lt;b&gt;ba ngày&lt;/b&gt;" in chat.last[-1].text
    await chat.press("Gửi")
    assert "Đã tiếp nhận" in chat.text
    assert "CN-2026-00001" in chat.text
    assert "11/12/2026" in chat.text  # 10 working days after Fri 27/11/2026

    [case] = await _rows(app, Case)
    assert case.code == "CN-2026-00001"
    assert case.type == "phan_anh" and case.status == "received"
    assert case.attachments == [{"kind": "photo", "file": "AgACphoto1"}]
    assert (case.latitude, case.longitude) == (9.80, 106.45)
    assert "<b>ba ngày</b>" in case.description  # stored as typed
    [event] = await _rows(app, CaseEvent)
    assert event.kind == "received" and event.visibility == "public"
    # No officer has joined yet: the bootstrap super-admin hears of the case. Never nobody.
    [notice] = await _rows(app, OutboxMessage)
    assert notice.chat_id == "900001" and "CN-2026-00001" in notice.payload["text"]


async def test_ambiguous_and_outside_places(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Kiến nghị")
    await chat.say("Hiệp Mỹ")
    assert "nhiều nơi" in chat.text
    assert chat.labels[:2] == ["Xã Hiệp Mỹ Đông", "Xã Hiệp Mỹ Tây"]
    await chat.say("ngu lac")
    assert "không thuộc địa bàn" in chat.text
    assert "Xã Thạnh Hòa Sơn" in chat.labels
    await chat.say("2")  # typed number picks the second option
    assert "Xem tất cả" not in chat.text
    await chat.say("ấp Giồng Lớn")
    assert "không tìm thấy tên này" in chat.text.lower()
    assert len(chat.labels) == 15


@pytest.fixture
async def app_2025(database_url: str, clock: FakeClock) -> AsyncIterator[App]:
    """The bot on the map in force since 1 July 2025 (Vĩnh Long province)."""
    config = make_config(database_url, deployment={"units_profile": "vinhlong-2025"})
    application = await open_app(config, clock=clock, migrate=False)
    yield application
    await application.close()


async def test_former_tra_vinh_places_are_outside_the_2025_area(app_2025: App) -> None:
    chat = Chat(app_2025)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("Trà Vinh")
    assert "«Thành phố Trà Vinh (cũ)» không thuộc địa bàn" in chat.text
    assert chat.labels == ["📋 Xem tất cả"]
    await chat.say("duyen hai")
    assert "«Huyện Duyên Hải (cũ)» không thuộc địa bàn" in chat.text and "Xã Ngũ Lạc" in chat.labels
    await chat.say("ấp Chợ, xã Kim Hòa, tỉnh Trà Vinh")  # the commune named, not the province
    assert "Kim Hòa cũ nay thuộc Xã Vinh Kim" in chat.text and "Nơi xảy ra: Xã Vinh Kim" in chat.text
    await chat.say("/lichtiepdan hiep my")  # one commune on this map
    assert "Lịch tiếp công dân: Xã Hiệp Mỹ" in chat.text


@pytest.fixture
async def app_province(database_url: str, clock: FakeClock) -> AsyncIterator[App]:
    """The bot on the province-wide map (data/units/vinhlong-tinh-2025.toml)."""
    config = make_config(database_url, deployment={"units_profile": "vinhlong-tinh-2025"})
    application = await open_app(config, clock=clock, migrate=False)
    yield application
    await application.close()


async def test_province_map_asks_between_namesakes_showing_their_former_district(app_province: App) -> None:
    chat = Chat(app_province)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("Phường 1")
    assert "«Phường 1» có thể là nhiều nơi" in chat.text
    assert chat.labels == [
        "Phường Trà Vinh (Phường 1 cũ, Thành phố Trà Vinh, Tỉnh Trà Vinh)",
        "Phường Duyên Hải (Phường 1 cũ, Thị xã Duyên Hải, Tỉnh Trà Vinh)",
        "Phường Long Châu (Phường 1 cũ, Thành phố Vĩnh Long, Tỉnh Vĩnh Long)",
        "📋 Xem tất cả",
    ]
    await chat.say("xã Mỹ Hòa, huyện Cầu Ngang")  # the district settles it
    assert "Xã Mỹ Hòa cũ nay thuộc Xã Cầu Ngang" in chat.text and "Nơi xảy ra: Xã Cầu Ngang" in chat.text


async def test_province_map_sends_a_denunciation_to_the_provincial_inspectorate(app_province: App) -> None:
    chat = Chat(app_province)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Tố cáo")
    await chat.say("Phường 1, TP Trà Vinh")
    assert "Phường 1 cũ nay thuộc Phường Trà Vinh" in chat.text and "Nơi xảy ra: Phường Trà Vinh" in chat.text
    await chat.say("Cán bộ phường nhận tiền để làm nhanh hồ sơ")
    await chat.press("Xong")
    await chat.press("Gửi ẩn danh")
    await chat.press("Gửi")
    [case] = await _rows(app_province, Case)
    async with app_province.db.unit_of_work() as uow:
        unit = await uow.units.get(case.unit_id)
    assert unit is not None and (unit.profile, unit.code, unit.name) == (
        "vinhlong-tinh-2025",
        "TTRA-VL",
        "Thanh tra tỉnh Vĩnh Long",
    )


async def test_complaint_requires_name_phone_and_address(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say("/khieunai")
    assert "xã, thị trấn nào" in chat.text
    await chat.press("Xã Nhị Trường")
    await chat.say("Tôi không đồng ý với quyết định thu hồi đất của xã")
    await chat.press("Xong")
    assert "họ và tên" in chat.text
    await chat.say("12345")
    assert "chỉ chữ" in chat.text
    await chat.say("Thạch Thị Sa Ri")
    await chat.say("abc")
    assert "chưa đúng" in chat.text
    assert "Bỏ qua" not in chat.labels
    await chat.say("+84 912 000 111")
    await chat.say("ấp Bông Ven, xã Nhị Trường")
    assert "Liên hệ: Thạch Thị Sa Ri, 0912000111, ấp Bông Ven, xã Nhị Trường" in chat.text
    await chat.press("Gửi")
    [case] = await _rows(app, Case)
    [contact] = await _rows(app, CaseContact)
    assert case.type == "khieu_nai" and case.final_due is None
    assert contact.case_id == case.id and contact.full_name == "Thạch Thị Sa Ri"
    assert contact.address == "ấp Bông Ven, xã Nhị Trường"


async def test_denunciation_goes_to_the_inspectorate_and_can_be_anonymous(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Tố cáo")
    assert "thanh tra" in chat.text.lower()
    await chat.press("Xã Long Sơn")
    await chat.say("Cán bộ địa chính xã nhận tiền để làm nhanh hồ sơ")
    await chat.press("Xong")
    await chat.press("Gửi ẩn danh")
    assert "không được giải quyết theo Luật Tố cáo" in chat.text
    await chat.press("Gửi")
    assert "ẩn danh" in chat.text
    [case] = await _rows(app, Case)
    async with app.db.unit_of_work() as uow:
        unit = await uow.units.get(case.unit_id)
    assert unit is not None and unit.kind == "thanh_tra"
    assert case.anonymous is True
    assert await _rows(app, CaseContact) == []


async def test_cancel_and_draft_expiry(app: App, clock: FakeClock) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("/huy")
    assert "Đã hủy" in chat.text
    await chat.say("/huy")
    assert "không có việc gì đang làm dở" in chat.text
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    clock.advance(hours=25)
    await chat.say("Mỹ Hòa")
    assert "quá 24 giờ" in chat.text
    assert await _rows(app, Case) == []


async def test_my_cases_never_shows_someone_elses_case(app: App) -> None:
    alice, bob = Chat(app, user_id="2001"), Chat(app, user_id="2002")
    await _consent(alice)
    await alice.press("Gửi phản ánh")
    await alice.press("Phản ánh")
    await alice.press("Xã Mỹ Hòa")
    await alice.say("Đèn đường tắt cả tháng nay")
    await alice.press("Xong")
    await alice.press("Bỏ qua")
    await alice.press("Gửi")
    await alice.say("/hoso")
    assert "CN-2026-00001" in alice.text and "Đã tiếp nhận" in alice.text
    await alice.press("CN-2026-00001")
    assert "Đèn đường tắt" in alice.text and "Tiếp nhận" in alice.text

    await bob.say("/hoso CN-2026-00001")
    assert "Không tìm thấy hồ sơ CN-2026-00001" in bob.text
    assert "Đèn đường" not in bob.text
    # Bob replays Alice's button: refused, nothing shown.
    alice_token = next(b.token for m in alice.last for b in m.flat_buttons)
    await bob.press_token(alice_token)
    assert "không còn dùng được" in bob.text
    await bob.say("/hoso")
    assert "chưa gửi hồ sơ nào" in bob.text


async def test_duplicate_update_is_processed_once(app: App) -> None:
    from bot.dialog.types import Inbound

    inbound = Inbound(channel="console", update_id="same", chat_id="5", user_id="5", kind="command", command="start")
    first = await app.engine.handle(inbound)
    second = await app.engine.handle(inbound)
    assert first.messages and not second.messages and second.duplicate


async def test_text_outside_flows_is_never_met_with_silence(app: App) -> None:
    chat = Chat(app)
    await chat.say("hmm")
    assert "chưa hiểu" in chat.text and "📝 Gửi phản ánh, kiến nghị" in chat.labels
    await chat.other("document")
    assert "chữ, ảnh và vị trí" in chat.text
    await chat.other("sticker")  # a friendly gesture: thanked, with the menu
    assert "Cảm ơn bạn!" in chat.text and "📝 Gửi phản ánh, kiến nghị" in chat.labels
    await chat.photo()
    assert "gửi ảnh này để phản ánh" in chat.text and "📝 Gửi phản ánh kèm ảnh này" in chat.labels
    await chat.press("Không, về menu")
    await chat.say("/khonglenh")
    assert "không hiểu lệnh" in chat.text


async def test_a_typed_greeting_greets_and_asks_consent_like_start(app: App) -> None:
    chat = Chat(app)
    await chat.say("Alô")
    assert "Xin chào" in chat.text and "chưa hiểu" not in chat.text
    await chat.press("Tôi đồng ý")
    citizens = await _rows(app, Citizen)
    assert citizens[0].consent_at is not None
    await chat.say("chào anh ạ")
    assert "Xin chào" in chat.text and "✅ Tôi đồng ý" not in chat.labels
    assert "📝 Gửi phản ánh, kiến nghị" in chat.labels
    await chat.say("cám ơn nhiều nha")
    assert "không có chi" in chat.text and "chưa hiểu" not in chat.text
    await chat.say("ok")
    assert "Bạn cần gì thêm" in chat.text and "chưa hiểu" not in chat.text
    # A greeting with a question in it is a question.
    await chat.say("chào anh, làm giấy khai sinh cho con ở đâu")
    assert "Xin chào" not in chat.text


async def test_cancel_words_typed_without_the_slash(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    for word in ("hủy", "thoi"):
        await chat.press("Gửi phản ánh")
        await chat.press("Phản ánh")
        await chat.say(word)
        assert "Đã hủy" in chat.text, word
        assert "📝 Gửi phản ánh, kiến nghị" in chat.labels
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("kim hoa")
    await chat.say("Đường ấp Cầu Xây hư")
    await chat.say("huy")  # at a description, "huy" may be the name Huy: asked
    assert "Bạn vừa gõ «huy»" in chat.text and "Đã hủy" not in chat.text
    await chat.say("huy")  # said again: a cancel
    assert "Đã hủy" in chat.text
    await chat.say("hmm")  # the draft is gone: free text again, not a description
    assert "Đã ghi nhận" not in chat.text
    assert await _rows(app, Case) == []
    await chat.say("menu")  # idle: just the menu
    assert "Bạn cần gì?" in chat.text and "không có việc gì" not in chat.text


async def test_a_word_that_may_be_content_is_asked_about_never_swallowed(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say("/khieunai")
    await chat.say("Nhị Trường")
    await chat.say("Huy")  # the description starts with a name
    assert "Bạn vừa gõ «Huy»" in chat.text
    assert chat.labels == ["🗑 Hủy việc đang làm", "✏️ Không, ghi «Huy»"]
    await chat.press("Không, ghi")
    assert "Đã ghi nhận: 1 tin nhắn" in chat.text
    await chat.say("Thôi")
    await chat.say("con trai tôi bị xã từ chối cấp giấy")  # went on writing: the question is dropped
    assert "Đã ghi nhận: 2 tin nhắn" in chat.text
    await chat.say("xong")
    await chat.say("Menu")
    assert "Bạn vừa gõ «Menu»" in chat.text
    await chat.say("2")  # Zalo: the number of the option
    assert "chỉ cần <b>họ và tên</b>" in chat.last[-1].text  # "Menu" is no name: asked kindly
    await chat.say("Huy")
    await chat.press("Không, ghi")
    assert "Số điện thoại" in chat.text
    await chat.say("0912000111")
    await chat.say("Thôi")  # an address is asked too
    await chat.press("Hủy việc đang làm")
    assert "Đã hủy" in chat.text and await _rows(app, Case) == []


async def test_hủy_with_its_accents_cancels_a_free_text_step_at_once(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say("/phananh")
    await chat.press("Phản ánh")
    await chat.say("Mỹ Hòa")
    await chat.say("Đèn đường tắt")
    await chat.say("Hủy")
    assert "Đã hủy" in chat.text and "📝 Gửi phản ánh, kiến nghị" in chat.labels
    await chat.say("hmm")
    assert "Đã ghi nhận" not in chat.text


async def test_the_name_step_takes_names_and_kindly_refuses_sentences(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say("/khieunai")
    await chat.say("Kim Hòa")
    await chat.say("Xã cấp sai giấy chứng nhận đất")
    await chat.say("xong")
    await chat.say("làm giấy khai sinh cho con")
    assert "chỉ cần họ và tên" in chat.text and "Thạch Thị Sô Phi" in chat.text
    await chat.say("Thạch Thị Sô Phi")
    assert "Số điện thoại" in chat.text
    await chat.say("/huy")
    await chat.say("/khieunai")
    await chat.say("Kim Hòa")
    await chat.say("Xã cấp sai giấy chứng nhận đất")
    await chat.say("xong")
    await chat.say("Trần Thị Con")  # an old-style name that reads like a sentence
    assert "chỉ cần họ và tên" in chat.text
    await chat.say("Trần Thị Con")  # typed again: taken
    await chat.say("0912000111")
    await chat.say("ấp Chợ")
    assert "Liên hệ: Trần Thị Con, 0912000111, ấp Chợ" in chat.text
    await chat.press("Gửi")
    [contact] = await _rows(app, CaseContact)
    assert contact.full_name == "Trần Thị Con"


@pytest.mark.parametrize(
    "name",
    [
        "Thạch Thị Sô Phi",
        "Kim Sóc",
        "Sơn Ngọc Thành",
        "Huy",
        "nguyen van huy",
        "Lâm Văn Tố",
        "Lam Thi Nga",
        "Ng. Văn An",
    ],
)
def test_real_names_look_like_names(name: str) -> None:
    assert looks_like_name(name)


@pytest.mark.parametrize(
    "text", ["làm giấy khai sinh cho con", "lam giay khai sinh cho con", "tôi muốn khiếu nại", "không", "Hiếu?"]
)
def test_sentences_do_not_look_like_names(text: str) -> None:
    assert not looks_like_name(text)


async def test_a_typed_no_skips_the_optional_phone(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("Mỹ Hòa")
    await chat.say("Đèn đường tắt")
    await chat.say("xong")
    assert "không bắt buộc" in chat.text
    await chat.say("Không")
    assert "Kiểm tra lại" in chat.text and "Liên hệ: không để lại" in chat.text
    assert "chưa đúng" not in chat.text


async def test_a_typed_yes_sends_the_summary(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say("Mỹ Hòa")
    await chat.say("Đèn đường tắt")
    await chat.say("xong")
    await chat.press("Bỏ qua")
    await chat.say("hmm")
    assert "bấm Gửi" in chat.text and await _rows(app, Case) == []
    await chat.say("Đúng rồi")
    assert "Đã tiếp nhận" in chat.text and len(await _rows(app, Case)) == 1


async def test_wanting_to_complain_offers_to_file_the_complaint_here(app: App) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say("tôi muốn khiếu nại cán bộ xã")
    assert "📝 Gửi khiếu nại ngay tại đây" in chat.labels
    await chat.press("Gửi khiếu nại ngay")
    assert "xã, thị trấn nào" in chat.text
    await chat.say("Kim Hòa")
    await chat.say("Cán bộ địa chính đo sai đất nhà tôi")
    await chat.press("Xong")
    assert "Luật Khiếu nại" in chat.text  # a complaint: name and address are asked
    await chat.say("/hoi làm giấy khai sinh cho con")  # a plain question offers no petition
    assert "Đăng ký khai sinh" in chat.text
    assert not any(label.startswith("📝 Gửi") for label in chat.labels)


async def test_reception_schedule(app: App) -> None:
    chat = Chat(app)
    await chat.say("/lichtiepdan")
    assert "Thanh tra huyện Cầu Ngang" in chat.labels
    await chat.say("vinh kim")
    assert "Lịch tiếp công dân: Xã Vinh Kim" in chat.text
    assert "Thứ Hai đến Thứ Sáu: 07:00–11:00" in chat.text


async def test_reception_schedule_of_a_place_typed_after_the_command(app: App) -> None:
    chat = Chat(app)
    await chat.say("/lichtiepdan hiep my")
    assert "«hiep my» có thể là nhiều nơi" in chat.text
    assert chat.labels == ["Xã Hiệp Mỹ Đông", "Xã Hiệp Mỹ Tây", "📋 Xem tất cả"]
    await chat.press("Hiệp Mỹ Tây")
    assert "Lịch tiếp công dân: Xã Hiệp Mỹ Tây" in chat.text
    await chat.say("/lichtiepdan Trà Cú")
    assert "«Huyện Trà Cú» không thuộc địa bàn" in chat.text and "Xã Kim Hòa" in chat.labels
    await chat.say("/lichtiepdan Hà Nội")
    assert "không tìm thấy «Hà Nội»" in chat.text and "Xã Kim Hòa" in chat.labels
    await chat.say("hiệp mỹ")  # typed at the list: the same answer
    assert chat.labels == ["Xã Hiệp Mỹ Đông", "Xã Hiệp Mỹ Tây", "📋 Xem tất cả"]
    await chat.press("Xem tất cả")
    assert "Thanh tra huyện Cầu Ngang" in chat.labels


async def test_language_choice_and_role_aware_help(app: App) -> None:
    chat = Chat(app)
    await chat.say("/trogiup")
    assert "/phananh" in chat.text and "/hopthu" not in chat.text
    await chat.say("/ngonngu")
    assert chat.labels == ["Tiếng Việt", "English"]
    await chat.press("English")
    assert "speak English" in chat.text and "What do you need?" in chat.text
    await chat.say("/menu")
    assert "📝 Send a report or recommendation" in chat.labels
    await chat.say("/ngonngu")
    await chat.say("1")
    assert "Đã chọn Tiếng Việt" in chat.text


@pytest.mark.parametrize(
    "typed", ["đồng ý", "dong y", "đồng ý ạ", "ok", "được", "có", "ừ", "dạ", "Dạ có", "tôi đồng ý"]
)
async def test_consent_typed_instead_of_pressed_is_taken(app: App, typed: str) -> None:
    chat = Chat(app)
    await chat.say("/start")
    await chat.say(typed)
    assert "Cảm ơn bạn đã đồng ý" in chat.text and "Bạn có đồng ý không?" not in chat.text
    [citizen] = await _rows(app, Citizen)
    assert citizen.consent_at is not None


@pytest.mark.parametrize("typed", ["không", "ko", "không đồng ý", "Không đồng ý ạ", "dạ không", "khong dong y"])
async def test_consent_declined_by_typing(app: App, typed: str) -> None:
    chat = Chat(app)
    await chat.say("/start")
    await chat.say(typed)
    assert "Bạn chưa đồng ý nên tôi sẽ không lưu" in chat.text
    [citizen] = await _rows(app, Citizen)
    assert citizen.consent_at is None


async def test_consent_asked_before_a_petition_is_taken_by_typing(app: App) -> None:
    chat = Chat(app)
    await chat.say("/phananh")
    assert "cần đồng ý" in chat.text
    await chat.say("đồng ý ạ")
    assert "Cảm ơn bạn đã đồng ý" in chat.text and "Bạn muốn gửi loại nào?" in chat.text
    [citizen] = await _rows(app, Citizen)
    assert citizen.consent_at is not None


UNANSWERED = "chừng nào tổ chức lễ hội đua ghe ngo năm nay"  # a commune can answer; the FAQ cannot


@pytest.mark.parametrize("typed", ["ok", "có", "gửi đi", "ừ", "dạ có"])
async def test_a_typed_yes_forwards_an_unanswered_question(app: App, typed: str) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say(f"/hoi {UNANSWERED}")
    assert "🙋 Gửi câu hỏi cho cán bộ" in chat.labels
    await chat.say(typed)
    assert "Tôi sẽ chuyển câu hỏi của bạn cho cán bộ" in chat.text
    await chat.press("Xã Long Sơn")
    await chat.press("Bỏ qua")
    await chat.say(typed)  # the same yes sends the summary
    assert "Đã tiếp nhận" in chat.text
    [case] = await _rows(app, Case)
    assert case.type == "hoi_dap" and case.description == UNANSWERED


@pytest.mark.parametrize("typed", ["ok", "có", "gửi đi", "ừ", "dạ có"])
async def test_a_typed_yes_forwards_a_question_typed_outside_any_flow(app: App, typed: str) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say(UNANSWERED)
    assert "🙋 Gửi câu hỏi cho cán bộ" in chat.labels and "📝 Gửi phản ánh, kiến nghị" in chat.labels
    await chat.say(typed)
    assert "Tôi sẽ chuyển câu hỏi của bạn cho cán bộ" in chat.text


@pytest.mark.parametrize("typed", ["không", "ko", "thôi", "dạ không cần"])
async def test_a_typed_no_keeps_an_unanswered_question(app: App, typed: str) -> None:
    chat = Chat(app)
    await _consent(chat)
    await chat.say(f"/hoi {UNANSWERED}")
    await chat.say(typed)
    assert "Bạn có thể hỏi lại bằng cách gõ khác đi" in chat.text
    assert await _rows(app, Case) == []


async def _file_at(app: App, address: str) -> tuple[str, str]:
    """File a phản ánh whose commune is typed as ``address``; what the person saw, and the case's unit."""
    chat = Chat(app)
    await _consent(chat)
    await chat.press("Gửi phản ánh")
    await chat.press("Phản ánh")
    await chat.say(address)
    seen = chat.text
    await chat.say("Cầu khỉ ở ấp Sóc Chuối bị gãy")
    await chat.say("xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    assert "Đã tiếp nhận" in chat.text
    [case] = await _rows(app, Case)
    [unit] = [u for u in await _rows(app, Unit) if u.id == case.unit_id]
    return seen, unit.name


@pytest.mark.parametrize(
    "address",
    [
        "xã Long Sơn, huyện Cầu Ngang, tỉnh Trà Vinh",
        "Long Sơn, Cầu Ngang, Trà Vinh",
        "ap Soc Chuoi xa Long Son huyen Cau Ngang tinh Tra Vinh",
        "huyện Cầu Ngang, X. Long Sơn",
    ],
)
async def test_a_whole_address_files_the_case_at_its_commune(app: App, address: str) -> None:
    seen, unit = await _file_at(app, address)
    assert "Nơi xảy ra: Xã Long Sơn" in seen and "Thị trấn Cầu Ngang" not in seen
    assert unit == "Xã Long Sơn"


async def test_a_whole_address_on_the_2025_map_names_the_new_commune(app_2025: App) -> None:
    seen, unit = await _file_at(app_2025, "ấp Sóc Chuối, xã Long Sơn, huyện Cầu Ngang, tỉnh Trà Vinh")
    assert "Long Sơn cũ nay thuộc Xã Hiệp Mỹ" in seen and "Nơi xảy ra: Xã Hiệp Mỹ" in seen
    assert unit == "Xã Hiệp Mỹ"
