"""Issue #12, item 8: a citizen's flood of supplements must not flood the officers or the case.

After "Yêu cầu bổ sung", 600 messages in 10 minutes (within the flood limit: one a second)
produced 1,200 officer notices (two officers) and 300 attachments on one case. Now a case takes
at most ``[supplements] max_parts_per_case`` parts and ``max_attachments_per_case`` attachments
(the citizen is told kindly, once, when it is full), and an officer gets at most one notice per
case every ``notice_window_minutes``: later parts update the notice still waiting to go out
("N phần mới") instead of adding rows.
"""

from __future__ import annotations

from sqlmodel import col, func, select

from bot.app import App
from bot.text import plain_text
from storage.models import CaseEvent, OutboxMessage
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, onboard

SUPPLEMENTS = 600


async def _officer_notices(app: App, case_id: int, chats: list[Chat]) -> list[OutboxMessage]:
    async with app.db.unit_of_work() as uow:
        rows = await uow.session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.case_id == case_id, col(OutboxMessage.chat_id).in_([c.user_id for c in chats]))
            .order_by(col(OutboxMessage.id))
        )
        return list(rows.all())


async def test_six_hundred_supplements_in_ten_minutes(app: App, clock: FakeClock) -> None:
    people = await onboard(app)
    officer, lead = people["officer_kh"], people["lead_kh"]
    citizen = Chat(app, user_id="5801")
    code = await file_petition(app, citizen, "Kim Hòa")
    await officer.say(f"/xem {code}")
    await officer.press("Yêu cầu bổ sung")
    await officer.say("Gửi giúp ảnh đoạn sạt lở")
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
    assert case is not None and case.id is not None
    before = len(await _officer_notices(app, case.id, [officer, lead]))

    answers: list[str] = []
    for n in range(SUPPLEMENTS):
        clock.advance(seconds=1)
        if n < 40:  # photos first (past the photo cap), then texts (past the part cap)
            await citizen.photo(f"AgACflood{n}")
        else:
            await citizen.say(f"Phần bổ sung số {n}")
        answers.append(citizen.text)

    limits = app.config.supplements
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None and case.id is not None
        parts = (
            await uow.session.exec(
                select(func.count()).where(CaseEvent.case_id == case.id, CaseEvent.kind == "info_added")
            )
        ).one()
    assert parts <= limits.max_parts_per_case
    assert len(case.attachments) <= limits.max_attachments_per_case
    # The citizen is told kindly when the case is full; then nothing more is added.
    assert any("đã nhận đủ nội dung bổ sung" in a for a in answers), answers[-3:]
    assert any("đã nhận đủ ảnh" in a for a in answers), answers[-3:]
    assert not any("Đã thêm vào hồ sơ" in a for a in answers[-100:])

    notices = (await _officer_notices(app, case.id, [officer, lead]))[before:]
    per_officer = {chat.user_id: [n for n in notices if n.chat_id == chat.user_id] for chat in (officer, lead)}
    window = limits.notice_window_minutes
    # At most one notice per window of ten minutes, plus the first one at once.
    for rows in per_officer.values():
        assert 1 <= len(rows) <= 10 // window + 2, [plain_text(r.payload["text"]) for r in rows]
    texts = [plain_text(r.payload["text"]) for r in per_officer[officer.user_id]]
    assert "phần" in texts[-1], texts
