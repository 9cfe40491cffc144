"""Item 11 of issue #12: `/xem <number>` must not reveal another unit's case code."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.app import App
from storage.models import Case
from tests.helpers import Chat
from tests.test_officer import file_petition, onboard


async def test_a_case_number_of_another_unit_echoes_only_what_was_typed(app: App) -> None:
    people = await onboard(app)
    citizen = Chat(app, user_id="5101")
    code = await file_petition(app, citizen, "Kim Hòa")
    async with app.db.unit_of_work() as uow:
        case = (await uow.session.exec(select(Case).where(Case.code == code))).one()
    other = people["officer_mh"]
    for typed in (str(case.id), f"  {case.id} "):
        await other.say(f"/xem {typed}")
        assert "Không tìm thấy hồ sơ" in other.text
        assert code not in other.text, other.text
        assert not re.search(r"CN-\d{4}-\d{5}", other.text), other.text
        assert str(case.id) in other.text
    for name in ("noivu", "officer_mh"):
        await people[name].press_token("nothing")  # a stale token gives nothing away either
        assert code not in people[name].text
