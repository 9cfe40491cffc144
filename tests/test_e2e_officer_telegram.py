"""The officer workspace end to end over Telegram: two communes' officers, an inspector, a citizen.

Everything goes through python-telegram-bot's HTTP stack and the fake Bot API; notices arrive through
the outbox worker, buttons are pressed as a person would.
"""

from __future__ import annotations

import re

from tests.fakes.telegram_api import SentMessage
from tests.test_telegram_e2e import Running, running  # noqa: F401  (the fixture)

ADMIN = 900001
OFFICER_KH, OFFICER_MH, INSPECTOR, CITIZEN = 7101, 7102, 7103, 7104


async def _join(r: Running, user: int, unit: str, role: str) -> None:
    await r.tg.send_text(ADMIN, f"/moi {unit} {role}")
    created = await r.tg.next_message(ADMIN)
    code = re.search(r"/dangky ([A-Z0-9]{8})", created.plain_text or "")
    assert code, created.text
    await r.tg.send_text(user, f"/dangky {code.group(1)}")
    joined = await r.tg.next_message(user)
    assert "đã được ghi nhận" in (joined.text or "")


async def _file(r: Running, kind: str, commune: str, text: str) -> str:
    tg = r.tg
    await tg.send_text(CITIZEN, "/phananh")
    first = await tg.next_message(CITIZEN)
    if "Trước khi gửi phản ánh" in (first.text or ""):
        consent = await tg.next_message(CITIZEN)
        await tg.press(CITIZEN, consent, "✅ Tôi đồng ý")
        await tg.next_message(CITIZEN)
        types = await tg.next_message(CITIZEN)
    else:
        types = first
    await r.press(CITIZEN, types, kind)
    if kind == "Tố cáo":
        await tg.next_message(CITIZEN)  # the communes, after the secrecy notice
    await tg.send_text(CITIZEN, commune)
    await tg.wait_messages(CITIZEN, 2)
    await tg.send_text(CITIZEN, text)
    progress = await tg.next_message(CITIZEN)
    contact = await r.press(CITIZEN, progress, "✅ Xong")
    if kind == "Tố cáo":
        await tg.send_text(CITIZEN, "Kiên Thị Mật")
        await tg.next_message(CITIZEN)
        await tg.send_text(CITIZEN, "0988777666")
        await tg.next_message(CITIZEN)
        await tg.send_text(CITIZEN, "ấp Sóc Mới")
        summary = await tg.next_message(CITIZEN)
    else:
        summary = await r.press(CITIZEN, contact, "⏭ Bỏ qua")
    await tg.press(CITIZEN, summary, "📨 Gửi")
    received = await tg.next_message(CITIZEN)
    await tg.next_message(CITIZEN)  # the menu
    code = re.search(r"CN-\d{4}-\d{5}", received.text or "")
    assert code, received.text
    return code.group(0)


async def _card(r: Running, user: int, code: str) -> SentMessage:
    await r.tg.send_text(user, f"/xem {code}")
    return await r.tg.next_message(user)


async def test_officer_actions_over_telegram(running: Running) -> None:  # noqa: F811
    r, tg = running, running.tg
    await _join(r, OFFICER_KH, "Kim Hòa", "canbo")
    await _join(r, OFFICER_MH, "Mỹ Hòa", "canbo")
    await _join(r, INSPECTOR, "TTRA", "thanhtra")

    code = await _file(r, "Phản ánh", "kim hoa", "Cầu khỉ ấp Cầu Xây gãy tay vịn")
    notice = await tg.next_message(OFFICER_KH)
    assert f"Hồ sơ mới {code}" in (notice.plain_text or "")
    assert notice.button_labels() == ["👁 Xem", "✅ Thụ lý"]
    assert tg.messages(OFFICER_MH) == [tg.messages(OFFICER_MH)[0]]  # only their own /dangky reply

    # The other commune's officer cannot open it, by command or by replaying the button.
    card = await _card(r, OFFICER_MH, code)
    assert "Không tìm thấy hồ sơ" in (card.text or "")
    await tg.press_data(OFFICER_MH, card.message_id, notice.button_data("✅ Thụ lý"))
    refused = await tg.next_message(OFFICER_MH)
    assert "không còn dùng được" in (refused.text or "")

    # Thụ lý from the notice: the citizen hears it from the unit.
    await tg.press(OFFICER_KH, notice, "✅ Thụ lý")
    done = await tg.next_message(OFFICER_KH)
    assert f"Đã thụ lý {code}" in (done.text or "")
    accepted = await tg.next_message(CITIZEN)
    assert "Xã Kim Hòa" in (accepted.text or "") and "thụ lý" in (accepted.text or "")

    # Trả lời: the officer's next message is the reply.
    card = await _card(r, OFFICER_KH, code)
    prompt = await r.press(OFFICER_KH, card, "💬 Trả lời")
    assert "Tin nhắn tiếp theo" in (prompt.text or "")
    await tg.send_text(OFFICER_KH, "Xã sẽ thay tay vịn trong tuần này <ngân sách 2 triệu>.")
    await tg.next_message(OFFICER_KH)
    reply = await tg.next_message(CITIZEN)
    assert "&lt;ngân sách 2 triệu&gt;" in (reply.text or "")

    # Yêu cầu bổ sung, and the citizen's photo attaches to the case.
    card = await _card(r, OFFICER_KH, code)
    await r.press(OFFICER_KH, card, "📝 Yêu cầu bổ sung")
    await tg.send_text(OFFICER_KH, "Gửi giúp ảnh cây cầu")
    await tg.next_message(OFFICER_KH)
    request = await tg.next_message(CITIZEN)
    assert "Gửi giúp ảnh cây cầu" in (request.text or "") and request.button_labels() == ["📎 Bổ sung"]
    await tg.send_photo(CITIZEN, caption="cầu đây ạ")
    attached = await tg.next_message(CITIZEN)
    assert code in (attached.text or "")
    supplement_notice = await tg.next_message(OFFICER_KH)
    assert "đã bổ sung" in (supplement_notice.text or "")

    # Ghi chú (internal), then Chuyển to Mỹ Hòa: its officer is told; Kim Hòa loses access.
    card = await _card(r, OFFICER_KH, code)
    await r.press(OFFICER_KH, card, "🔒 Ghi chú")
    await tg.send_text(OFFICER_KH, "Cần kiểm tra ranh giới hai xã")
    await tg.next_message(OFFICER_KH)
    card = await _card(r, OFFICER_KH, code)
    units = await r.press(OFFICER_KH, card, "🔀 Chuyển")
    reason = await r.press(OFFICER_KH, units, "Xã Mỹ Hòa")
    assert "Lý do" in (reason.text or "")
    await tg.send_text(OFFICER_KH, "Cầu thuộc địa phận Mỹ Hòa")
    assert "Đã chuyển" in ((await tg.next_message(OFFICER_KH)).text or "")
    moved = await tg.next_message(CITIZEN)
    assert "Xã Mỹ Hòa" in (moved.text or "")
    new_notice = await tg.next_message(OFFICER_MH)
    assert code in (new_notice.text or "")

    # Giải quyết by Mỹ Hòa; the citizen rates 4 and the case closes.
    card = await r.press(OFFICER_MH, new_notice, "👁 Xem")
    assert "Cần kiểm tra ranh giới" in (card.plain_text or "")  # officers see internal notes
    await r.press(OFFICER_MH, card, "🏁 Giải quyết xong")
    await tg.send_text(OFFICER_MH, "Đã thay tay vịn mới")
    await tg.next_message(OFFICER_MH)
    resolved = await tg.next_message(CITIZEN)
    assert resolved.button_labels()[:5] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]
    thanks = await r.press(CITIZEN, resolved, "4 ⭐")
    assert "Cảm ơn" in (thanks.text or "")

    # Không thụ lý on a second case.
    second = await _file(r, "Kiến nghị", "My Hoa", "Đề nghị mở lớp dạy bơi cho trẻ")
    notice = await tg.next_message(OFFICER_MH)
    card = await r.press(OFFICER_MH, notice, "👁 Xem")
    await r.press(OFFICER_MH, card, "⛔ Không thụ lý")
    await tg.send_text(OFFICER_MH, "Việc này thuộc Trung tâm văn hóa thể thao, đã hướng dẫn")
    await tg.next_message(OFFICER_MH)
    rejected = await tg.next_message(CITIZEN)
    assert second in (rejected.text or "") and "Trung tâm văn hóa" in (rejected.text or "")

    # A denunciation: only the inspector is told, and only the inspector sees who denounced.
    third = await _file(r, "Tố cáo", "Kim Hòa", "Cán bộ thu tiền khi làm giấy tờ")
    inspector_notice = await tg.next_message(INSPECTOR)
    assert third in (inspector_notice.text or "") and "Kiên Thị Mật" not in (inspector_notice.text or "")
    inspector_card = await r.press(INSPECTOR, inspector_notice, "👁 Xem")
    assert "Kiên Thị Mật · 0988777666" in (inspector_card.plain_text or "")
    card = await _card(r, OFFICER_KH, third)
    assert "Không tìm thấy hồ sơ" in (card.text or "")
    accepted_card = await r.press(INSPECTOR, inspector_card, "✅ Thụ lý")
    assert f"Đã thụ lý {third}" in (accepted_card.text or "")
    card = await _card(r, INSPECTOR, third)
    await r.press(INSPECTOR, card, "⏳ Gia hạn")
    await tg.send_text(INSPECTOR, "Cần xác minh thêm tại hai nơi")  # Luật Tố cáo Art. 30: the reason
    confirm = await tg.next_message(INSPECTOR)
    extended = await r.press(INSPECTOR, confirm, "✅ Gia hạn")
    assert "Đã gia hạn" in (extended.text or "")
    # The accused commune's officer never saw its content or a notice about it.
    assert not any("Cán bộ thu tiền" in (m.text or "") for m in tg.messages(OFFICER_KH))
