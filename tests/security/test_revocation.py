"""Item 5 of issue #12: revocation revokes, on every channel."""

from __future__ import annotations

import re

from bot.app import App
from tests.helpers import Chat
from tests.test_officer import ADMIN, invite


async def _is_staff(app: App, chat: Chat) -> bool:
    async with app.db.unit_of_work() as uow:
        return await uow.staff.find(chat.channel, chat.user_id) is not None


async def test_revoking_a_used_code_removes_whoever_used_it(app: App) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    code = await invite(admin, "Kim Hòa", "canbo")
    officer = Chat(app, user_id="7101", channel="telegram", name="Cán bộ A")
    await officer.say(f"/dangky {code}")
    assert await _is_staff(app, officer)
    await admin.say(f"/thuhoi {code}")
    assert not await _is_staff(app, officer)
    assert "Cán bộ A" in admin.text, admin.text
    await officer.say("/hopthu")
    assert "chỉ dành cho cán bộ" in officer.text


async def test_staff_of_another_channel_are_revoked_by_the_id_listed(app: App) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    code = await invite(admin, "Mỹ Hòa", "canbo")
    officer = Chat(app, user_id="zl-55501", channel="zalo", name="Cán bộ Zalo")
    await officer.say(f"/dangky {code}")
    assert await _is_staff(app, officer)
    await admin.say("/dscanbo")
    listed = re.search(r"zl-55501", admin.text)
    assert listed, admin.text
    await admin.say("/thuhoi zl-55501")
    assert not await _is_staff(app, officer), admin.text
    await officer.say("/hopthu")
    assert "chỉ dành cho cán bộ" in officer.text
