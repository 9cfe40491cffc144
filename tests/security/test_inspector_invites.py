"""Item 4 of issue #12: nobody makes themselves an inspector."""

from __future__ import annotations

import re

from bot.app import App
from bot.text import plain_text
from tests.helpers import Chat
from tests.test_officer import ADMIN, file_petition, invite, notices, onboard


async def test_a_district_admin_cannot_invite_an_inspector_and_read_identities(app: App) -> None:
    people = await onboard(app)
    noivu = people["noivu"]
    code = await file_petition(
        app, Chat(app, user_id="5301"), "Kim Hòa", kind="Tố cáo", text="Cán bộ địa chính xã nhận tiền"
    )
    await noivu.say("/moi TTRA thanhtra")
    made = re.search(r"/dangky ([A-Z0-9]{8})", noivu.text)
    assert made is None, noivu.text
    assert "ngoài quyền hạn" in noivu.text
    await noivu.say("/moi TTRA truong")  # nor a lead of the inspectorate, who could then invite inspectors
    assert re.search(r"/dangky ([A-Z0-9]{8})", noivu.text) is None, noivu.text
    await noivu.say(f"/xem {code}")
    assert "Lâm Văn Tố" not in noivu.text


async def test_nobody_redeems_their_own_invite(app: App) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    code = await invite(admin, "TTRA", "thanhtra")
    await admin.say(f"/dangky {code}")
    assert "đã được ghi nhận" not in admin.text, admin.text
    async with app.db.unit_of_work() as uow:
        assert await uow.staff.find("telegram", ADMIN) is None


async def test_a_role_never_changes_in_place(app: App) -> None:
    people = await onboard(app)
    admin, officer = people["admin"], people["officer_kh"]
    code = await invite(admin, "TTRA", "thanhtra")
    await officer.say(f"/dangky {code}")
    assert "đã được ghi nhận" not in officer.text, officer.text
    async with app.db.unit_of_work() as uow:
        staff = await uow.staff.find("telegram", "7001")
    assert staff is not None and staff.role == "officer"
    # Revoked first, the same account may join again with another role.
    await admin.say("/thuhoi 7001")
    await officer.say(f"/dangky {code}")
    assert "đã được ghi nhận" in officer.text, officer.text


async def test_an_inspectorate_lead_invites_and_inspectors_hear_who_joins(app: App) -> None:
    people = await onboard(app)
    admin, inspector = people["admin"], people["inspector"]
    lead_code = await invite(admin, "TTRA", "truong")
    lead = Chat(app, user_id="7301", channel="telegram", name="Chánh thanh tra")
    await lead.say(f"/dangky {lead_code}")
    assert "đã được ghi nhận" in lead.text
    assert any("Chánh thanh tra" in plain_text(n.text) for n in await notices(app, inspector))
    code = await invite(lead, "TTRA", "thanhtra")
    newcomer = Chat(app, user_id="7302", channel="telegram", name="Thanh tra viên B")
    await newcomer.say(f"/dangky {code}")
    assert "đã được ghi nhận" in newcomer.text
    told = [plain_text(n.text) for n in await notices(app, inspector)]
    assert any("Thanh tra viên B" in text for text in told), told
    # A commune's lead does not issue inspector invites.
    await people["lead_kh"].say("/moi TTRA thanhtra")
    assert re.search(r"/dangky ([A-Z0-9]{8})", people["lead_kh"].text) is None
