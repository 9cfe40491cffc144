"""Red team: a staff member removed (revoked, or leaving) is sent nothing queued for them as staff.

A notice is queued when its cause commits and delivered later by the outbox worker. An
inspector revoked in between used to receive the denunciation queued for them; so did an
officer who left with notices waiting (a gathered "N phần mới", the morning reminders). What
is queued for someone's own petitions still reaches them: staff are citizens too.
"""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.dialog.types import Outgoing
from bot.outbox import OutboxWorker
from bot.transports.base import plain_text
from tests.helpers import Chat, FakeClock
from tests.test_officer import ADMIN, file_petition, invite

SECRET = "Chủ tịch xã Kim Hòa nhận tiền của người xin cấp đất"


class Recorder:
    """The Telegram channel, as far as the outbox worker can tell: it records what it sends."""

    channel = "telegram"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def deliver(self, message: Outgoing) -> None:
        self.sent.append(message)

    def texts_to(self, chat: Chat) -> list[str]:
        return [plain_text(m.text) for m in self.sent if m.chat_id == chat.user_id]


async def _deliver_all(app: App, clock: FakeClock) -> Recorder:
    recorder = Recorder()
    worker = OutboxWorker(app.db, {"telegram": recorder}, clock, services=app.services, chat_interval=0.0)  # type: ignore[dict-item]
    while True:
        started, _ = await worker.dispatch()
        await worker.settle()
        if not started:
            return recorder


def _all_gone(files: set[str]) -> bool:
    return not any(Path(file).exists() for file in files)


async def _join(app: App, admin: Chat, unit: str, role: str, user: str) -> Chat:
    code = await invite(admin, unit, role)
    chat = Chat(app, user_id=user, channel="telegram", name=f"{role} {user}")
    await chat.say(f"/dangky {code}")
    assert "đã được ghi nhận" in chat.text, chat.text
    return chat


async def test_a_revoked_inspector_is_not_sent_the_denunciation_queued_for_them(app: App, clock: FakeClock) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    inspector = await _join(app, admin, "TTRA", "thanhtra", "7304")
    kept = await _join(app, admin, "TTRA", "thanhtra", "7305")
    code = await file_petition(app, Chat(app, user_id="5301"), "Kim Hòa", kind="Tố cáo", text=SECRET)
    await admin.say("/thuhoi 7304")
    assert "7304" in admin.text or "thanhtra" in admin.text, admin.text
    sent = await _deliver_all(app, clock)
    assert [t for t in sent.texts_to(inspector) if code in t or "nhận tiền" in t] == []
    assert any(code in t for t in sent.texts_to(kept)), "the inspector still in post gets it"


async def test_an_officer_who_leaves_is_sent_no_case_notice_or_reminder(app: App, clock: FakeClock) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    officer = await _join(app, admin, "Kim Hòa", "canbo", "7306")
    code = await file_petition(app, Chat(app, user_id="5302"), "Kim Hòa", text="Cống ấp Chợ bị nghẹt, nhà ông Sáu ngập")
    await officer.say("/roi")
    sent = await _deliver_all(app, clock)
    assert [t for t in sent.texts_to(officer) if code in t or "ông Sáu" in t] == []


async def test_a_removed_officer_still_hears_of_their_own_petition(app: App, clock: FakeClock) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    officer = await _join(app, admin, "Kim Hòa", "canbo", "7307")
    handler = await _join(app, admin, "Mỹ Hòa", "canbo", "7308")
    own = await file_petition(app, officer, "Mỹ Hòa", text="Đèn đường ấp Mỹ Thập hư ba tuần nay")
    await handler.say(f"/xem {own}")
    await handler.press("Thụ lý")
    await admin.say("/thuhoi 7307")
    sent = await _deliver_all(app, clock)
    assert any(own in t for t in sent.texts_to(officer)), sent.texts_to(officer)


async def test_a_revoked_admin_gets_no_queued_case_list_and_its_file_is_deleted(app: App, clock: FakeClock) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram")
    noivu = await _join(app, admin, "", "quantri", "7309")
    await file_petition(app, Chat(app, user_id="5303"), "Kim Hòa")
    await noivu.say("/baocao tuan")
    async with app.db.unit_of_work() as uow:
        files = await uow.outbox.pending_files()
    assert files, "the report's files wait in the outbox"
    await admin.say("/thuhoi 7309")
    sent = await _deliver_all(app, clock)
    assert [m for m in sent.sent if m.chat_id == noivu.user_id and m.file] == []
    assert _all_gone(files)
