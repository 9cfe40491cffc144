"""Item 10 of issue #12: a staff flow checks its access before every step, not only when it opens."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.app import App
from storage.models import AuditEntry, CaseEvent, FaqRecord
from tests.helpers import Chat
from tests.test_officer import file_petition, notices, onboard


async def _forwarded_question(app: App, citizen: Chat) -> str:
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    await citizen.say("/hoi")
    await citizen.say("xin cấp giấy phép nuôi ong mật ở ấp")
    if "Có phải bạn muốn hỏi" in citizen.text:
        await citizen.press("hỏi cán bộ")
    else:
        await citizen.press("Gửi câu hỏi cho cán bộ")
    await citizen.press("Xã Kim Hòa")
    await citizen.press("Bỏ qua")
    await citizen.press("Gửi")
    match = re.search(r"CN-\d{4}-\d{5}", citizen.text)
    assert match, citizen.text
    return match.group(0)


async def test_a_revoked_officer_cannot_finish_publishing_a_faq_entry(app: App) -> None:
    people = await onboard(app)
    code = await _forwarded_question(app, Chat(app, user_id="5201"))
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await officer.say("Nuôi ong mật hộ gia đình không cần giấy phép, chỉ cần đặt thùng xa nhà bên cạnh.")
    await officer.say(f"/faq them {code}")
    await officer.press("Tạo mục mới")
    assert "Đặt tên ngắn cho mục FAQ" in officer.text, officer.text
    await people["admin"].say("/thuhoi 7001")  # removed meanwhile
    await officer.say("Nuôi ong mật có cần giấy phép không")
    assert "Đã thêm mục FAQ" not in officer.text
    assert "chỉ dành cho cán bộ" in officer.text, officer.text
    async with app.db.unit_of_work() as uow:
        learned = (await uow.session.exec(select(FaqRecord).where(FaqRecord.origin == "officer"))).all()
        refusals = (await uow.session.exec(select(AuditEntry).where(AuditEntry.actor == "7001"))).all()
    assert learned == []
    assert any(not entry.allowed for entry in refusals)
    # The conversation is over: the next words are not taken as the title either.
    await officer.say("Nuôi ong mật có cần giấy phép không")
    async with app.db.unit_of_work() as uow:
        assert (await uow.session.exec(select(FaqRecord).where(FaqRecord.origin == "officer"))).all() == []


async def test_a_revoked_officer_cannot_send_the_reply_they_were_typing(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5202")
    code = await file_petition(app, citizen, "Kim Hòa")
    officer = people["officer_kh"]
    await officer.say(f"/xem {code}")
    await officer.press("Trả lời")
    await people["noivu"].say("/thuhoi 7001")
    before = len(await notices(app, citizen))
    await officer.say("Xã sẽ cho người xuống sửa đường ngay trong tuần này.")
    assert "chỉ dành cho cán bộ" in officer.text
    assert len(await notices(app, citizen)) == before
    async with app.db.unit_of_work() as uow:
        replies = (await uow.session.exec(select(CaseEvent).where(CaseEvent.kind == "replied"))).all()
    assert replies == []


async def test_a_removed_lead_cannot_pick_a_report_period(app: App) -> None:
    people = await onboard(app)
    lead = people["lead_kh"]
    await lead.say("/baocao")
    assert "Tuần" in " ".join(lead.labels) or lead.labels, lead.text
    await people["admin"].say("/thuhoi 7002")
    await lead.press(lead.labels[0])
    assert "chỉ dành cho cán bộ" in lead.text, lead.text
