"""/dulieu: what a citizen sees of the data kept about them, and erasing it.

Erasure is the one citizen action that cannot be undone, so it takes the button (or its
label typed in full): a polite "dạ" or "ok" typed at the question keeps everything.
"""

from __future__ import annotations

from sqlmodel import select

from bot.app import App
from storage.models import Case, CaseContact, Citizen
from tests.helpers import Chat


async def _file_complaint(chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    await chat.say("/khieunai")
    await chat.press("Xã Nhị Trường")
    await chat.say("Tôi không đồng ý với quyết định thu hồi đất của xã")
    await chat.press("Xong")
    await chat.say("Thạch Thị Sa Ri")
    await chat.say("0912000111")
    await chat.say("ấp Bông Ven, xã Nhị Trường")
    await chat.press("Gửi")
    assert "Đã tiếp nhận" in chat.text


async def _stored(app: App) -> tuple[Citizen, CaseContact, Case]:
    async with app.db.unit_of_work() as uow:
        [citizen] = (await uow.session.exec(select(Citizen))).all()
        [contact] = (await uow.session.exec(select(CaseContact))).all()
        [case] = (await uow.session.exec(select(Case))).all()
        return citizen, contact, case


async def test_summary_shows_what_is_kept(app: App) -> None:
    chat = Chat(app)
    await _file_complaint(chat)
    await chat.say("/dulieu")
    assert "Dữ liệu chúng tôi lưu về bạn" in chat.text
    assert "Số điện thoại: 0912000111" in chat.text
    assert "Số hồ sơ đã gửi: 1" in chat.text
    assert "🗑 Xóa thông tin cá nhân" in chat.labels


async def test_typed_yes_words_do_not_erase(app: App) -> None:
    chat = Chat(app)
    await _file_complaint(chat)
    for typed in ("dạ", "ok", "có", "không"):
        await chat.say("/dulieu")
        await chat.press("Xóa thông tin cá nhân")
        assert "Xóa tên, số điện thoại" in chat.text
        await chat.say(typed)
        assert "Dữ liệu của bạn được giữ nguyên" in chat.text, typed
    citizen, contact, _ = await _stored(app)
    assert contact.full_name == "Thạch Thị Sa Ri" and contact.phone == "0912000111"
    assert citizen.consent_at is not None and citizen.erased_at is None


async def _file_proposal(chat: Chat) -> None:
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    await chat.say("/kiennghi")
    await chat.press("Xã Nhị Trường")
    await chat.say("Tôi không đồng ý với quyết định thu hồi đất của xã")
    await chat.press("Xong")
    await chat.say("0912000111")
    await chat.press("Gửi")
    assert "Đã tiếp nhận" in chat.text


async def test_erasure_removes_the_contact_keeps_the_case_and_asks_consent_again(app: App) -> None:
    # A kiến nghị: its contact is not held on a legal basis (tests/security/test_erasure_retention.py).
    chat = Chat(app)
    await _file_proposal(chat)
    await chat.say("/dulieu")
    await chat.press("Xóa thông tin cá nhân")
    await chat.say("đồng ý xóa")  # the button's label, typed: as good as the button
    assert "đã xóa thông tin cá nhân" in chat.text
    citizen, contact, case = await _stored(app)
    assert (contact.full_name, contact.phone, contact.address) == (None, None, None)
    assert contact.erased_at is not None
    assert citizen.phone is None and citizen.display_name is None
    assert citizen.consent_at is None and citizen.erased_at is not None
    assert case.description == "Tôi không đồng ý với quyết định thu hồi đất của xã"
    await chat.say("/dulieu")
    assert "Số điện thoại: (không có)" in chat.text
    await chat.say("/phananh")  # a new petition: consent is asked again
    assert "✅ Tôi đồng ý" in chat.labels
