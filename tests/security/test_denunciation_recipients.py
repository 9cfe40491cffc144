"""Item 2 of issue #12: a denunciation reaches only the inspectorate, never a fallback."""

from __future__ import annotations

from bot.app import App
from bot.dialog.types import Outgoing
from bot.text import plain_text
from tests.helpers import Chat
from tests.test_officer import ADMIN, file_petition, invite, notices

SECRET = "Cán bộ địa chính xã Kim Hòa thu tiền trái phép"


async def _people(app: App, *, inspector: bool) -> dict[str, Chat]:
    admin = Chat(app, user_id=ADMIN, channel="telegram", name="Quản trị")
    people = {"admin": admin}
    wanted = {"noivu": ("", "quantri", "7005"), "officer_kh": ("Kim Hòa", "canbo", "7001")}
    if inspector:
        wanted["inspector"] = ("TTRA", "thanhtra", "7004")
    for key, (unit, role, user) in wanted.items():
        code = await invite(admin, unit, role)
        chat = Chat(app, user_id=user, channel="telegram", name=key)
        await chat.say(f"/dangky {code}")
        people[key] = chat
    return people


def _leaks(messages: list[Outgoing], code: str) -> list[str]:
    texts = [plain_text(m.text) for m in messages]
    return [t for t in texts if code in t or "thu tiền" in t or "Lâm Văn Tố" in t or "0909123456" in t]


async def test_without_an_inspector_admins_get_a_content_free_alert(app: App) -> None:
    people = await _people(app, inspector=False)
    code = await file_petition(app, Chat(app, user_id="5401"), "Kim Hòa", kind="Tố cáo", text=SECRET)
    for name in ("admin", "noivu", "officer_kh"):
        assert _leaks(await notices(app, people[name]), code) == [], name
    alerts = [plain_text(n.text) for n in await notices(app, people["noivu"])]
    assert any("chưa có thanh tra nhận" in text for text in alerts), alerts
    assert all(not n.flat_buttons for n in await notices(app, people["noivu"]))
    assert await notices(app, people["officer_kh"]) == []


async def test_supplements_and_reopen_comments_never_fall_back(app: App) -> None:
    people = await _people(app, inspector=True)
    citizen = Chat(app, user_id="5402")
    code = await file_petition(app, citizen, "Kim Hòa", kind="Tố cáo", text=SECRET)
    inspector = people["inspector"]
    await inspector.say(f"/xem {code}")
    await inspector.press("Yêu cầu bổ sung")
    await inspector.say("Xin cho biết ngày giờ việc thu tiền xảy ra")
    await people["admin"].say("/thuhoi 7004")  # the only inspector leaves
    for text in ("Ngày 3 tháng 11, thu tiền ở trụ sở", "Có người làm chứng là ông Ba"):
        await citizen.say(text)
    for name in ("admin", "noivu", "officer_kh"):
        assert _leaks(await notices(app, people[name]), code) == [], name
    alerts = [n for n in await notices(app, people["noivu"]) if "chưa có thanh tra" in plain_text(n.text)]
    assert len(alerts) <= 1, "one alert, not one per supplement"


async def test_a_denunciation_is_not_transferred_to_a_body_without_an_inspector(app: App) -> None:
    people = await _people(app, inspector=True)
    code = await file_petition(app, Chat(app, user_id="5403"), "Kim Hòa", kind="Tố cáo", text=SECRET)
    inspector = people["inspector"]
    await inspector.say(f"/xem {code}")
    await inspector.press("Chuyển")
    await inspector.press("Công an huyện Cầu Ngang")
    if "Đã chuyển" not in inspector.text and "chưa có thanh tra" not in inspector.text:
        await inspector.say("Có dấu hiệu tội phạm")
    assert "chưa có thanh tra" in inspector.text or "không có" in inspector.text, inspector.text
    assert f"Đã chuyển {code}" not in inspector.text
    await inspector.say(f"/xem {code}")
    assert SECRET in inspector.text  # still the inspectorate's
    for name in ("admin", "noivu", "officer_kh"):
        assert _leaks(await notices(app, people[name]), code) == [], name
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
        unit = await uow.units.get(case.unit_id) if case else None
    assert unit is not None and unit.kind == "thanh_tra"
