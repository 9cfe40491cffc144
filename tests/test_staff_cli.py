"""Bootstrapping an office without Telegram: the staff commands and super-admins on every channel."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot import cli
from bot.app import App, open_app
from storage.models import AuditEntry, Invite
from tests.conftest import make_config
from tests.helpers import Chat, FakeClock


def _code(out: str) -> str:
    match = re.fullmatch(r"[A-Z0-9]{8}", out.strip().splitlines()[0])
    assert match, out
    return match.group(0)


async def test_cli_invites_a_zalo_admin_who_invites_an_officer(
    database_url: str, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(database_url, admins={"telegram_ids": []})
    assert await cli._staff_invite(config, "quantri", None) == 0
    admin_code = _code(capsys.readouterr().out)
    app = await open_app(config, clock=clock, migrate=False)
    try:
        admin = Chat(app, user_id="z-admin", channel="zalo", name="Chị Lan")
        await admin.say(f"/dangky {admin_code}")
        assert "đã được ghi nhận" in admin.text, admin.text
        await admin.say("/moi Kim Hòa canbo")
        officer_code = re.search(r"/dangky ([A-Z0-9]{8})", admin.text)
        assert officer_code, admin.text
        officer = Chat(app, user_id="z-officer", channel="zalo", name="Anh Tư")
        await officer.say(f"/dangky {officer_code.group(1)}")
        assert "Kim Hòa" in officer.text, officer.text
        # The admin's own code is spent.
        again = Chat(app, user_id="z-other", channel="zalo")
        await again.say(f"/dangky {admin_code}")
        assert "đã được ghi nhận" not in again.text
        async with app.db.unit_of_work() as uow:
            invite = await uow.invites.get(admin_code)
            audit = (await uow.session.exec(select(AuditEntry).where(AuditEntry.channel == "cli"))).all()
        assert invite is not None and invite.created_by == "cli" and invite.unit_id is None
        assert [entry.action for entry in audit] == ["invite"]
    finally:
        await app.close()

    assert await cli._staff_list(config) == 0
    listed = capsys.readouterr().out.splitlines()
    assert sorted(line.split("\t")[:3] for line in listed) == [
        ["z-admin", "zalo", "district_admin"],
        ["z-officer", "zalo", "officer"],
    ]
    assert await cli._staff_revoke(config, "z-officer") == 0
    assert "removed zalo:z-officer" in capsys.readouterr().out
    assert await cli._staff_revoke(config, "z-officer") == 2
    app = await open_app(config, clock=clock, migrate=False)
    try:
        officer = Chat(app, user_id="z-officer", channel="zalo")
        await officer.say("/hopthu")
        assert officer.text == "Lệnh này chỉ dành cho cán bộ.", officer.text
    finally:
        await app.close()


async def test_cli_inspector_invite_counts_as_super_admin(
    database_url: str, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(database_url)
    assert await cli._staff_invite(config, "thanhtra", "TTRA") == 0
    code = _code(capsys.readouterr().out)
    assert await cli._staff_invite(config, "canbo", "Nowhere at all") == 2
    assert await cli._staff_invite(config, "boss", "Kim Hòa") == 2
    assert await cli._staff_invite(config, "canbo", None) == 2
    app = await open_app(config, clock=clock, migrate=False)
    try:
        async with app.db.unit_of_work() as uow:
            invite = await uow.invites.get(code)
            assert invite is not None and invite.role == "inspector" and invite.unit_id is not None
            unused = (await uow.session.exec(select(Invite))).all()
        assert len(unused) == 1
    finally:
        await app.close()
    assert await cli._staff_revoke(config, code) == 0
    assert f"revoked invite {code}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("channel", "section", "user"),
    [("zalo", "zalo_ids", "z-900"), ("zalo_oa", "zalo_oa_ids", "oa-900"), ("console", "console_ids", "boss")],
)
async def test_super_admins_are_listed_per_channel(
    database_url: str, clock: FakeClock, channel: str, section: str, user: str
) -> None:
    config = make_config(database_url, admins={section: [user]})
    app: App = await open_app(config, clock=clock, migrate=False)
    try:
        admin = Chat(app, user_id=user, channel=channel)
        await admin.say("/moi Kim Hòa canbo")
        assert re.search(r"/dangky [A-Z0-9]{8}", admin.text), admin.text
        # The same id on another channel is somebody else.
        other = Chat(app, user_id=user, channel="telegram" if channel != "telegram" else "zalo")
        await other.say("/moi Kim Hòa canbo")
        assert not re.search(r"/dangky [A-Z0-9]{8}", other.text), other.text
    finally:
        await app.close()


def test_old_telegram_ids_still_read() -> None:
    config = make_config("sqlite:///unused.db", admins={"telegram_ids": [42]})
    assert config.admins.ids("telegram") == {"42"}
    assert config.admins.ids("zalo") == set()
    assert config.admins.ids("console") == {"admin"}
    assert config.admins.chats() == {("telegram", "42")}
