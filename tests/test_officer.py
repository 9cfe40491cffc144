"""The officer workspace, dialog level, on both databases: onboarding, actions, secrecy, audit."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from bot.app import App
from bot.dialog.types import Outgoing
from bot.text import plain_text
from storage.models import AuditEntry, Case, CaseEvent, FaqFeedback, OutboxMessage, Rating
from tests.helpers import Chat, FakeClock

ADMIN = "900001"


async def notices(app: App, chat: Chat) -> list[Outgoing]:
    """What the outbox holds for a chat, oldest first (what they would receive)."""
    async with app.db.unit_of_work() as uow:
        rows = await uow.outbox.for_chat(chat.channel, chat.user_id)
    return [Outgoing.from_payload(r.channel, r.chat_id, r.payload) for r in rows]


async def press_notice(app: App, chat: Chat, label: str) -> None:
    """Press a button of the newest notice that has it, as the person would in their chat."""
    for message in reversed(await notices(app, chat)):
        for button in message.flat_buttons:
            if label.lower() in plain_text(button.label).lower():
                await chat.press_token(button.token)
                return
    raise AssertionError(f"no notice button {label!r} for {chat.user_id}")


async def invite(admin: Chat, unit: str, role: str) -> str:
    await admin.say(f"/moi {unit} {role}")
    match = re.search(r"/dangky ([A-Z0-9]{8})", admin.text)
    assert match, admin.text
    return match.group(1)


async def onboard(app: App) -> dict[str, Chat]:
    admin = Chat(app, user_id=ADMIN, channel="telegram", name="Quản trị")
    people = {
        "officer_kh": ("Kim Hòa", "canbo", "7001"),
        "lead_kh": ("Kim Hòa", "truong", "7002"),
        "officer_mh": ("Mỹ Hòa", "canbo", "7003"),
        "inspector": ("TTRA", "thanhtra", "7004"),
        "noivu": ("", "quantri", "7005"),
    }
    chats = {"admin": admin}
    for key, (unit, role, user) in people.items():
        code = await invite(admin, unit, role)
        chat = Chat(app, user_id=user, channel="telegram", name=key)
        await chat.say(f"/dangky {code}")
        assert "đã được ghi nhận" in chat.text, chat.text
        chats[key] = chat
    return chats


async def file_petition(
    app: App, citizen: Chat, commune: str, kind: str = "Phản ánh", text: str = "Đường đất sạt lở"
) -> str:
    await citizen.say("/start")
    if "Tôi đồng ý" in " ".join(citizen.labels):
        await citizen.press("Tôi đồng ý")
    await citizen.say("/phananh")
    await citizen.press(kind)
    await citizen.say(commune)
    await citizen.say(text)
    await citizen.press("Xong")
    if kind in ("Phản ánh", "Kiến nghị"):
        await citizen.press("Bỏ qua")
    else:
        await citizen.say("Lâm Văn Tố")
        await citizen.say("0909123456")
        await citizen.say("ấp Chợ")
    await citizen.press("Gửi")
    match = re.search(r"CN-\d{4}-\d{5}", citizen.text)
    assert match, citizen.text
    return match.group(0)


async def test_invite_is_single_use_and_expires(app: App, clock: FakeClock) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    code = await invite(admin, "Kim Hòa", "canbo")
    first, second = Chat(app, user_id="8001", channel="telegram"), Chat(app, user_id="8002", channel="telegram")
    await first.say(f"/dangky {code}")
    assert "cán bộ, đơn vị Xã Kim Hòa" in first.text
    await second.say(f"/dangky {code}")
    assert "đã dùng hoặc đã hết hạn" in second.text
    late = await invite(admin, "Kim Hòa", "canbo")
    clock.advance(days=4)
    await second.say(f"/dangky {late}")
    assert "hết hạn" in second.text
    revoked = await invite(admin, "TTRA", "thanhtra")
    await admin.say(f"/thuhoi {revoked}")
    assert "Đã thu hồi" in admin.text
    await second.say(f"/dangky {revoked}")
    assert "hết hạn" in second.text
    await first.say("/roi")
    await first.say("/hopthu")
    assert "chỉ dành cho cán bộ" in first.text


async def test_join_without_a_code_says_how_to_use_it(app: App) -> None:
    newcomer = Chat(app, user_id="8003", channel="telegram")
    await newcomer.say("/dangky")
    assert "Cách dùng: /dangky <mã mời>" in newcomer.text and "không đúng" not in newcomer.text
    await newcomer.say("/dangky   ")
    assert "Cách dùng: /dangky" in newcomer.text
    async with app.db.unit_of_work() as uow:
        assert await uow.staff.find("telegram", "8003") is None


async def test_case_reaches_its_unit_and_is_worked_to_resolution(app: App, clock: FakeClock) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5001", name="Sơn Thị Dân")
    code = await file_petition(app, citizen, "kim hoa")

    officer, lead, other = people["officer_kh"], people["lead_kh"], people["officer_mh"]
    [notice] = await notices(app, officer)
    assert f"Hồ sơ mới {code}" in plain_text(notice.text)
    assert [plain_text(b.label) for b in notice.flat_buttons] == ["👁 Xem", "✅ Thụ lý"]
    assert await notices(app, lead), "the unit lead hears of it too"
    assert await notices(app, other) == [], "another commune's officer does not"

    await other.say(f"/xem {code}")
    assert "Không tìm thấy hồ sơ" in other.text

    await press_notice(app, officer, "Xem")
    assert "Đường đất sạt lở" in officer.text and "Sơn Thị Dân" not in officer.text
    assert {"✅ Thụ lý", "💬 Trả lời", "🔀 Chuyển", "🏁 Giải quyết xong", "⛔ Không thụ lý"} <= set(officer.labels)
    await officer.press("Thụ lý")
    assert f"Đã thụ lý {code}" in officer.text
    [accepted] = [n for n in await notices(app, citizen) if "thụ lý" in n.text]
    assert "Xã Kim Hòa" in accepted.text and "officer_kh" not in accepted.text  # the unit, never the officer

    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Anh/chị gửi giúp ảnh chụp đoạn sạt lở")
    assert "chờ người dân bổ sung" in officer.text
    await citizen.photo("AgACsupplement")
    assert f"bổ sung tin nhắn của bạn vào hồ sơ {code}" in citizen.text
    assert any("đã bổ sung hồ sơ" in plain_text(n.text) for n in await notices(app, officer))

    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say("Xã đã cử cán bộ địa chính xuống kiểm tra sáng mai.")
    [reply] = [n for n in await notices(app, citizen) if "trả lời hồ sơ" in plain_text(n.text)]
    assert "cử cán bộ địa chính" in reply.text

    await officer.say(f"/xem {code}")
    await officer.press("Ghi chú")
    await officer.say("Đã báo đội thủy lợi")
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Đã gia cố bờ bằng bao cát, đường đi lại được.")
    [resolved] = [n for n in await notices(app, citizen) if "Bạn đánh giá" in n.text]
    assert "bao cát" in resolved.text
    assert [plain_text(b.label) for b in resolved.flat_buttons][:5] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]

    await citizen.say("/hoso " + code)
    history = citizen.text
    assert "Đã giải quyết" in history and "Đã báo đội thủy lợi" not in history  # internal note hidden
    assert "cử cán bộ địa chính" in history

    # A low score within 7 days reopens the case with the citizen's comment.
    await press_notice(app, citizen, "2 ⭐")
    assert "vì sao chưa hài lòng" in citizen.text
    await citizen.say("Bao cát đã trôi, đường lại sạt")
    assert "mở lại" in citizen.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "accepted"
        [rating] = (await uow.session.exec(select(Rating))).all()
        assert rating.score == 2 and rating.comment == "Bao cát đã trôi, đường lại sạt"
        kinds = [e.kind for e in await uow.cases.events(case.id or 0, public_only=False)]
    assert kinds == [
        "received",
        "accepted",
        "info_requested",
        "info_added",
        "replied",
        "note",
        "resolved",
        "rated",
        "reopened",
    ]
    assert any("mở lại" in plain_text(n.text) for n in await notices(app, officer))


async def test_good_rating_closes_and_aspects_are_optional(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5002")
    code = await file_petition(app, citizen, "My Hoa", kind="Kiến nghị", text="Xin lắp đèn đường ấp Bến Có")
    officer = people["officer_mh"]
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Đã đưa vào kế hoạch lắp đèn quý 1")
    await press_notice(app, citizen, "5 ⭐")
    assert "5 khía cạnh" in citizen.text
    await citizen.press("Đánh giá thêm")
    for score in ("4", "5", "3", "5", "4"):
        await citizen.say(score)  # typed numbers work as on Zalo
    assert "Cảm ơn bạn đã góp ý" in citizen.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        [rating] = (await uow.session.exec(select(Rating))).all()
    assert case is not None and case.status == "closed"
    assert rating.score == 5 and rating.aspects == {"access": 4, "procedure": 5, "staff": 3, "result": 5, "feedback": 4}


async def test_a_result_sent_to_the_citizen_needs_a_few_words(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5012")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    for empty in ("ok", "Xong rồi", "ok cảm ơn anh"):
        await officer.say(empty)
        assert "ghi rõ hơn một chút" in officer.text, empty
        assert f"Kết quả giải quyết hồ sơ {code}" in officer.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "received"
    assert not [n for n in await notices(app, citizen) if "giải quyết" in n.text]
    await officer.say("Đã dọn xong đoạn sạt lở, đường đi lại được")
    assert f"Đã giải quyết {code}" in officer.text
    [resolved] = [n for n in await notices(app, citizen) if "Bạn đánh giá" in n.text]
    assert "Đã dọn xong đoạn sạt lở" in resolved.text
    await officer.say(f"/xem {code}")
    await officer.press("Ghi chú")
    await officer.say("ok")  # an internal note may be short
    assert f"Đã ghi chú vào {code}" in officer.text


async def test_transfer_moves_the_case_and_tells_everyone(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5003")
    code = await file_petition(app, citizen, "Kim Hòa", text="Nước thải trại heo chảy ra kênh ở ranh Mỹ Hòa")
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Chuyển")
    await officer.press("Xã Mỹ Hòa")
    await officer.say("Trại heo nằm trên địa bàn Mỹ Hòa")
    assert f"Đã chuyển {code} đến Xã Mỹ Hòa" in officer.text
    assert any(code in plain_text(n.text) for n in await notices(app, people["officer_mh"]))
    assert any("được chuyển đến" in plain_text(n.text) for n in await notices(app, citizen))
    await officer.say(f"/xem {code}")
    assert "Không tìm thấy hồ sơ" in officer.text  # no longer theirs


async def test_denouncer_identity_only_for_the_inspectorate(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5004")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Tố cáo", text="Cán bộ xã Kim Hòa thu tiền trái phép")
    officer, noivu, inspector = people["officer_kh"], people["noivu"], people["inspector"]
    assert await notices(app, officer) == []  # never sent to the accused commune
    [notice] = await notices(app, inspector)
    assert "Lâm Văn Tố" not in notice.text and "0909123456" not in notice.text
    await officer.say(f"/xem {code}")
    assert "Không tìm thấy hồ sơ" in officer.text
    await noivu.say(f"/xem {code}")
    assert "Không tìm thấy hồ sơ" in noivu.text
    await noivu.say("/hopthu")
    assert code not in noivu.text
    await inspector.say(f"/xem {code}")
    assert "Lâm Văn Tố · 0909123456 · ấp Chợ" in inspector.text
    await inspector.press("Thụ lý")
    await inspector.say(f"/xem {code}")
    await inspector.press("Gia hạn")
    await inspector.say("Cần xác minh thêm tại hai địa điểm")  # Luật Tố cáo Art. 30: a written reason
    await inspector.press("Gia hạn")
    assert "Đã gia hạn" in inspector.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        audits = (await uow.session.exec(select(AuditEntry).where(col(AuditEntry.target) == code))).all()
        staff_notices = (await uow.session.exec(select(OutboxMessage))).all()
    assert case is not None and case.extensions == 1 and case.final_due is not None
    assert {(a.action, a.allowed) for a in audits} >= {("case:view", False), ("accept", True), ("extend", True)}
    for row in staff_notices:
        if row.chat_id != citizen.user_id:
            assert "Lâm Văn Tố" not in row.payload["text"]


async def test_inbox_lists_nearest_deadline_first_and_pages(app: App, clock: FakeClock) -> None:
    people = await onboard(app)
    codes = []
    for index in range(10):
        citizen = Chat(app, user_id=f"60{index:02d}")
        codes.append(await file_petition(app, citizen, "Kim Hòa", text=f"Việc số {index}"))
        clock.advance(days=1)
    officer = people["officer_kh"]
    await officer.say("/hopthu")
    assert "10 hồ sơ đang mở (trang 1/2)" in officer.text
    listed = re.findall(r"CN-\d{4}-\d{5}", officer.text)
    assert listed == codes[:8]
    await officer.press("Trang sau")
    assert re.findall(r"CN-\d{4}-\d{5}", officer.text) == codes[8:]
    assert "Trang sau" not in officer.labels
    await officer.press("Trang trước")
    assert re.findall(r"CN-\d{4}-\d{5}", officer.text) == codes[:8]
    await officer.say("/hopthu 7")  # past the last page: the last page, not an empty list
    assert "10 hồ sơ đang mở (trang 2/2)" in officer.text
    assert re.findall(r"CN-\d{4}-\d{5}", officer.text) == codes[8:]


PERMISSIONS = {
    # command: roles that may use it
    "/hopthu": {"officer_kh", "lead_kh", "officer_mh", "inspector", "noivu", "admin"},
    "/dscanbo": {"noivu", "admin"},
    "/moi Kim Hòa canbo": {"noivu", "admin"},
    "/thuhoi 7001": {"noivu", "admin"},
    "/giamsat": {"supervisor"},
    "/baocao tuan": {"lead_kh", "noivu", "admin"},
    "/xem CN-2026-00001": {"officer_kh", "lead_kh", "noivu", "admin"},
}


@pytest.mark.parametrize("command", sorted(PERMISSIONS))
async def test_permission_matrix(app: App, command: str) -> None:
    people = await onboard(app)
    people["citizen"] = Chat(app, user_id="5999")
    await file_petition(app, people["citizen"], "Kim Hòa")  # CN-2026-00001, a phản ánh of Kim Hòa
    code = await invite(people["admin"], "Kim Hòa", "giamsat")
    people["supervisor"] = Chat(app, user_id="7006", channel="telegram", name="supervisor")
    await people["supervisor"].say(f"/dangky {code}")
    assert "giám sát" in people["supervisor"].text
    for name, chat in people.items():
        await chat.say(command)
        # A case out of one's reach is "not found": whether it exists is not told either.
        refused = any(
            words in chat.text for words in ("chỉ dành cho cán bộ", "ngoài quyền hạn", "Không tìm thấy hồ sơ")
        )
        assert refused == (name not in PERMISSIONS[command]), (name, command, chat.text)
        # An officer refused a command is not told that it is for officers only (7001 was just revoked).
        async with app.db.unit_of_work() as uow:
            staff = await uow.staff.find(chat.channel, chat.user_id) or name == "admin"
        assert ("chỉ dành cho cán bộ" in chat.text) == (refused and not staff), (name, command, chat.text)
    async with app.db.unit_of_work() as uow:
        refusals = (await uow.session.exec(select(AuditEntry).where(col(AuditEntry.allowed).is_(False)))).all()
    denied = {name for name in people if name not in PERMISSIONS[command]}
    assert len(refusals) == len(denied)


async def test_case_card_shows_only_the_contact_details_given(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5010")
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    await citizen.say("/phananh")
    await citizen.press("Phản ánh")
    await citizen.say("Kim Hòa")
    await citizen.say("Cống nghẹt")
    await citizen.press("Xong")
    await citizen.say("0912345678")
    await citizen.press("Gửi")
    await officer.say("/xem CN-2026-00001")
    assert "Liên hệ: 0912345678\n" in officer.text
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại")
    await officer.say(f"/xem {code}")
    assert "Liên hệ: Lâm Văn Tố · 0909123456 · ấp Chợ\n" in officer.text


async def test_messages_after_an_unprompted_supplement_reach_the_case(app: App, clock: FakeClock) -> None:
    """Asked for more, a citizen sends a photo, then what it shows: both reach the case."""
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5011")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Gửi giúp ảnh đoạn sạt lở")
    clock.advance(minutes=5)
    await citizen.photo("AgACslide")
    assert f"bổ sung tin nhắn của bạn vào hồ sơ {code}" in citizen.text and "✅ Xong" in citizen.labels
    await citizen.say("Đoạn sạt dài chừng 20 mét, gần nhà ông Tư")
    assert f"Đã thêm vào hồ sơ {code}" in citizen.text
    await citizen.press("Xong")
    assert "Bạn cần gì thêm" in citizen.text
    await citizen.say("giấy khai sinh")  # after Xong, a question is a question again
    assert "Đã thêm" not in citizen.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "received" and len(case.attachments) == 1
        assert "20 mét" in case.description and "giấy khai sinh" not in case.description
    added = [plain_text(n.text) for n in await notices(app, officer) if "đã bổ sung" in n.text]
    assert len(added) == 2 and "(1 ảnh)" in added[0] and "(chỉ có ảnh)" in added[0] and "20 mét" in added[1]


async def test_cancelling_after_an_unprompted_supplement_says_it_was_saved(app: App, clock: FakeClock) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5014")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Gửi giúp ảnh đoạn sạt lở")
    clock.advance(minutes=5)
    await citizen.photo("AgACslide")
    await citizen.say("hủy")
    assert "đã được thêm vào hồ sơ" in citizen.text and "không được lưu" not in citizen.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.attachments == [{"kind": "photo", "file": "AgACslide"}]


async def test_a_word_like_huy_in_an_officer_text_is_asked_about(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5015")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Ghi chú")
    await officer.say("Huy")  # the colleague who handles it
    assert "Bạn vừa gõ «Huy»" in officer.text
    await officer.press("Không, ghi")
    assert f"Đã ghi chú vào {code}" in officer.text
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say("thôi")
    await officer.press("Hủy việc đang làm")
    assert "Đã hủy" in officer.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None
        kinds = [(e.kind, e.payload.get("text")) for e in await uow.cases.events(case.id or 0, public_only=False)]
    assert kinds == [("received", None), ("note", "Huy")]
    assert not [n for n in await notices(app, citizen) if "trả lời hồ sơ" in n.text]


async def test_a_short_yes_answers_an_officers_question(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5016")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Anh đã báo trưởng ấp chưa?")
    await citizen.say("Dạ rồi")
    assert f"bổ sung tin nhắn của bạn vào hồ sơ {code}" in citizen.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and "Dạ rồi" in case.description
    assert any("Dạ rồi" in n.text for n in await notices(app, officer))


async def test_officer_gets_usage_or_a_refusal_that_fits(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    await officer.say("/faq them")
    assert "Cách dùng: /faq them" in officer.text
    await officer.say("/baocao tuan")
    assert officer.text == "⛔ Việc này ngoài quyền hạn của bạn."


async def test_officer_text_outside_an_action_gets_a_hint_of_the_commands(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    code = await file_petition(app, Chat(app, user_id="5013"), "Kim Hòa")
    await officer.say("Xin cấp giấy phép xây dựng nhà ở")  # a sentence the FAQ would take
    assert "tài khoản cán bộ" in officer.text and "/hopthu" in officer.text
    assert officer.labels == ["📥 Hộp thư", "❔ Các lệnh"]
    await officer.say("cho em hỏi hồ sơ sạt lở xử lý sao anh")
    assert "🙋 Gửi câu hỏi cho cán bộ" not in officer.labels
    await officer.press("Hộp thư")
    assert code in officer.text
    async with app.db.unit_of_work() as uow:
        assert (await uow.session.exec(select(FaqFeedback))).all() == []  # nothing went to the FAQ


async def test_case_actions_by_role(app: App) -> None:
    """Who sees which action buttons on a phản ánh of Kim Hòa."""
    people = await onboard(app)
    code = await file_petition(app, Chat(app, user_id="5005"), "Kim Hòa")
    expected = {
        "officer_kh": {
            "✅ Thụ lý",
            "💬 Trả lời",
            "📝 Yêu cầu bổ sung",
            "🔀 Chuyển",
            "🏁 Giải quyết xong",
            "⛔ Không thụ lý",
            "🔒 Ghi chú",
        },
        "lead_kh": {
            "✅ Thụ lý",
            "💬 Trả lời",
            "📝 Yêu cầu bổ sung",
            "🔀 Chuyển",
            "🏁 Giải quyết xong",
            "⛔ Không thụ lý",
            "🔒 Ghi chú",
        },
        "noivu": {"🔀 Chuyển", "🔒 Ghi chú"},
        "admin": {"🔀 Chuyển", "🔒 Ghi chú"},
    }
    for name, labels in expected.items():
        await people[name].say(f"/xem {code}")
        assert set(people[name].labels) == labels, name
    for name in ("officer_mh", "inspector"):
        await people[name].say(f"/xem {code}")
        assert "Không tìm thấy hồ sơ" in people[name].text
    # A district admin pressing a forged "accept" gets refused even with a valid chat token.
    noivu = people["noivu"]
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None
    await noivu.say(f"/xem {code}")
    events_before = await _events(app)
    await noivu.press("Chuyển")
    await noivu.say("/huy")
    assert await _events(app) == events_before


async def _events(app: App) -> int:
    async with app.db.unit_of_work() as uow:
        return len((await uow.session.exec(select(CaseEvent))).all())


async def test_forwarded_question_answered_then_learned(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5006")
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    await citizen.say("/hoi")
    await citizen.say("xin cấp giấy phép nuôi ong mật ở ấp")
    if "Có phải bạn muốn hỏi" in citizen.text:
        await citizen.press("hỏi cán bộ")
    else:
        await citizen.press("Gửi câu hỏi cho cán bộ")
    assert "chuyển câu hỏi" in citizen.text
    await citizen.press("Xã Kim Hòa")
    await citizen.press("Bỏ qua")
    await citizen.press("Gửi")
    code = re.search(r"CN-\d{4}-\d{5}", citizen.text)
    assert code
    officer = people["officer_kh"]
    await officer.say(f"/xem {code.group(0)}")
    assert "nuôi ong mật" in officer.text
    await officer.press("Trả lời")
    await officer.say("Nuôi ong mật hộ gia đình không cần giấy phép; chỉ cần đặt thùng ong xa nhà hàng xóm.")
    await officer.press("Đưa vào FAQ")
    await officer.press("Tạo mục mới")
    await officer.say("Nuôi ong mật có cần giấy phép không")
    assert "Đã thêm mục FAQ" in officer.text
    other = Chat(app, user_id="5007")
    await other.say("nuoi ong mat co can xin phep khong")
    assert "không cần giấy phép" in other.text
    async with app.db.unit_of_work() as uow:
        record = next(r for r in await uow.faq.all() if r.origin == "officer")
    assert record.title == "Nuôi ong mật có cần giấy phép không"
    cases = await _count(app, Case)
    assert cases == 1


async def _count(app: App, model: type) -> int:  # type: ignore[type-arg]
    async with app.db.unit_of_work() as uow:
        return len((await uow.session.exec(select(model))).all())


async def test_officer_reads_waiting_for_the_citizen_not_for_you(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5020")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Anh/chị gửi giúp ảnh chụp đoạn sạt lở")
    await officer.say(f"/xem {code}")
    assert "Trạng thái: Chờ người dân bổ sung" in officer.text and "Chờ bạn bổ sung" not in officer.text
    await officer.say("/hopthu")
    assert "Chờ người dân bổ sung" in officer.text
    await citizen.say(f"/hoso {code}")
    assert "Trạng thái: Chờ bạn bổ sung" in citizen.text


async def test_asking_for_more_after_acceptance_keeps_the_deadline(app: App, clock: FakeClock) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5021")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại", text="Khiếu nại quyết định thu hồi đất")
    await officer.say(f"/xem {code}")
    await officer.press("Thụ lý")
    assert "Hạn giải quyết: 27/12/2026" in officer.text
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Gửi giúp bản sao quyết định thu hồi đất")
    await officer.say(f"/xem {code}")
    assert not {"✅ Thụ lý", "✅ Thụ lý (phức tạp)"} & set(officer.labels), officer.labels
    assert {"💬 Trả lời", "🏁 Giải quyết xong"} <= set(officer.labels)
    clock.advance(days=10)
    await officer.say(f"/xem accept:{code}")  # a button of an older card, typed
    assert "Chờ người dân bổ sung" in officer.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "need_info"
        assert case.final_due is not None and case.final_due.isoformat() == "2026-12-27"
    assert len([n for n in await notices(app, citizen) if "thụ lý giải quyết" in plain_text(n.text)]) == 1


async def test_a_long_reply_reaches_the_citizen_whole_or_is_refused(app: App) -> None:
    officer = (await onboard(app))["officer_kh"]
    citizen = Chat(app, user_id="5022")
    code = await file_petition(app, citizen, "Kim Hòa")
    long_reply = "Kính gửi <b>anh</b> & chị: " + "xã đã kiểm tra hiện trường đoạn đường. " * 90 + "Hết."
    assert 3000 < len(long_reply) <= 4096  # one Telegram message
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say(long_reply)
    assert f"Đã gửi trả lời cho người dân về {code}" in officer.text
    [reply] = [n for n in await notices(app, citizen) if "trả lời hồ sơ" in plain_text(n.text)]
    assert plain_text(reply.text).rstrip().endswith("Hết.")  # not cut at 3,000 characters
    assert "&lt;b&gt;anh&lt;/b&gt; &amp; chị" in reply.text  # shown as typed, not as markup

    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say("Nội dung trả lời. " * 300)  # 5,400 characters: only the console can send that
    assert "5399 ký tự, quá 4096" in officer.text and "chưa gửi đi" in officer.text
    await officer.say("Xã sẽ trả lời chi tiết bằng văn bản trong tuần này.")
    assert f"Đã gửi trả lời cho người dân về {code}" in officer.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None
        replies = [e for e in await uow.cases.events(case.id or 0, public_only=True) if e.kind == "replied"]
    assert [len(e.payload["text"]) for e in replies] == [len(long_reply), 51]


async def test_help_tells_a_unit_lead_of_their_report(app: App) -> None:
    people = await onboard(app)
    await people["lead_kh"].say("/trogiup")
    assert "/baocao: báo cáo của đơn vị" in people["lead_kh"].text and "/moi" not in people["lead_kh"].text
    await people["lead_kh"].say("/baocao")
    assert "báo cáo kỳ nào" in people["lead_kh"].text
    await people["officer_kh"].say("/trogiup")
    assert "/baocao" not in people["officer_kh"].text and "/hopthu" in people["officer_kh"].text


async def test_a_transferred_case_is_accepted_anew_by_the_unit_it_went_to(app: App, clock: FakeClock) -> None:
    """The unit a case is transferred to accepts it itself: the deadline runs from its acceptance,
    also when it asked the citizen for more before accepting."""
    people = await onboard(app)
    citizen = Chat(app, user_id="5022")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Khiếu nại", text="Khiếu nại việc cấp sổ đỏ ở ranh Mỹ Hòa")
    first, second = people["officer_kh"], people["officer_mh"]
    await first.say(f"/xem {code}")
    await first.press("Thụ lý")
    assert "Hạn giải quyết: 27/12/2026" in first.text
    await first.say(f"/xem {code}")
    await first.press("Chuyển")
    await first.press("Xã Mỹ Hòa")
    await first.say("Thửa đất thuộc địa bàn xã Mỹ Hòa")
    clock.advance(days=10)
    await second.say(f"/xem {code}")
    await second.press("Yêu cầu bổ sung")
    await second.say("Gửi giúp bản sao giấy chứng nhận quyền sử dụng đất")
    await second.say(f"/xem {code}")
    assert "✅ Thụ lý" in second.labels
    await second.press("Thụ lý")
    assert "Hạn giải quyết: 06/01/2027" in second.text
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.status == "accepted"
        assert case.accepted_at == clock.now and case.final_due is not None
        assert case.final_due.isoformat() == "2027-01-06"
