"""/baocao: who may ask for which report, what they see, and what is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.app import App, open_app
from bot.reports import service
from storage.db import READ_ONLY
from storage.models import AuditEntry, Staff
from storage.uow import UnitOfWork
from tests import reports_dataset
from tests.conftest import make_config
from tests.helpers import Chat, FakeClock


@pytest.fixture
async def app(database_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[App]:
    config = make_config(database_url, reports={"out_dir": str(tmp_path / "reports")})
    application = await open_app(config, clock=clock, migrate=False)
    yield application
    await application.close()


async def _staff(app: App, user: str, role: str, unit_id: int | None = None) -> None:
    async with app.db.unit_of_work() as uow:
        await uow.staff.save(Staff(channel="console", channel_user_id=user, chat_id=user, role=role, unit_id=unit_id))


async def _audit(app: App) -> list[AuditEntry]:
    async with app.db.unit_of_work() as uow:
        return list(reversed(await uow.audit.recent()))


async def _files(app: App, channel: str, chat: str) -> list[Path]:
    async with app.db.unit_of_work() as uow:
        return [Path(m.payload["file"]) for m in await uow.outbox.for_chat(channel, chat) if m.payload.get("file")]


async def test_district_admin_gets_any_period_with_files(app: App) -> None:
    await reports_dataset.build(app)
    await _staff(app, "3001", "district_admin")
    chat = Chat(app, user_id="3001")
    await chat.say("/baocao 2026-W47")
    assert "Tổng hợp Tiếp dân: Tuần 47/2026" in chat.text and "toàn địa bàn" in chat.text
    assert "Tiếp nhận mới: 6" in chat.text and "Đúng hạn: 2/4 (50,0%)" in chat.text
    assert "tệp kèm theo" in chat.text
    files = await _files(app, "console", "3001")
    assert [path.name for path in files] == ["bieu-do-2026-W47.png", "danh-sach-ho-so-2026-W47.xlsx"]
    rows = list(load_workbook(files[1])["Hồ sơ"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 9
    entry = (await _audit(app))[-1]
    assert (entry.action, entry.target, entry.allowed) == ("report", "2026-W47", True)


async def test_admin_picks_six_months_from_the_buttons(app: App) -> None:
    await _staff(app, "3002", "district_admin")
    chat = Chat(app, user_id="3002")
    await chat.say("/baocao")
    assert "kỳ nào" in chat.text
    assert chat.labels == ["📅 7 ngày qua", "🗂 6 tháng", "📘 Cả năm"]
    await chat.press("6 tháng")
    assert "6 tháng đầu năm 2026" in chat.text
    names = [path.name for path in await _files(app, "console", "3002")]
    assert names == ["bieu-do-2026-H1.png", "bao-cao-2026-H1.docx", "phu-luc-2026-H1.xlsx"]


async def test_super_admin_gets_the_whole_area(app: App) -> None:
    await reports_dataset.build(app)
    chat = Chat(app, user_id="900001", channel="telegram")
    await chat.say("/baocao 2026-W47")
    assert "toàn địa bàn" in chat.text and "Tiếp nhận mới: 6" in chat.text


async def test_unit_lead_sees_only_their_unit(app: App) -> None:
    data = await reports_dataset.build(app)
    await _staff(app, "3003", "unit_lead", data.unit_a)
    chat = Chat(app, user_id="3003")
    await chat.say("/baocao 2026-W47")
    assert "đơn vị Thị trấn Cầu Ngang" in chat.text
    assert "Tiếp nhận mới: 2" in chat.text and "Thị trấn Mỹ Long" not in chat.text
    assert "CN-2026-00005" not in chat.text  # overdue, but in another unit
    files = await _files(app, "console", "3003")
    rows = list(load_workbook(files[1])["Hồ sơ"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[0] for row in rows) == ["CN-2026-00001", "CN-2026-00003", "CN-2026-00006", "CN-2026-00007"]
    entry = (await _audit(app))[-1]
    assert entry.allowed and entry.detail == {"unit": "Thị trấn Cầu Ngang"}


@pytest.mark.parametrize("role", ["officer", "inspector"])
async def test_other_staff_are_refused_and_audited(app: App, role: str) -> None:
    await _staff(app, "3004", role, None)
    chat = Chat(app, user_id="3004")
    await chat.say("/baocao 2026")
    assert chat.text == "⛔ Việc này ngoài quyền hạn của bạn."
    assert await _files(app, "console", "3004") == []
    entry = (await _audit(app))[-1]
    assert (entry.actor, entry.action, entry.allowed) == ("3004", "report", False)


async def test_citizen_is_refused_and_audited(app: App) -> None:
    chat = Chat(app, user_id="3005")
    await chat.say("/baocao tuan")
    assert chat.text == "Lệnh này chỉ dành cho cán bộ."
    entry = (await _audit(app))[-1]
    assert (entry.actor, entry.allowed) == ("3005", False) and "report" in entry.action
    assert await _files(app, "console", "3005") == []


async def test_unknown_period_is_explained(app: App) -> None:
    await _staff(app, "3006", "district_admin")
    chat = Chat(app, user_id="3006")
    await chat.say("/baocao hôm qua")
    assert "không hiểu kỳ báo cáo «hôm qua»" in chat.text and "/baocao 2026-H1" in chat.text
    assert await _files(app, "console", "3006") == []


async def test_the_report_is_read_in_a_read_only_unit_of_work(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in the turn's own: on SQLite that one runs its statements in the event loop's thread."""
    await reports_dataset.build(app)
    await _staff(app, "3001", "district_admin")
    seen: list[object] = []
    build = service.build

    async def spying_build(uow: UnitOfWork, *args: Any, **kwargs: Any) -> service.Bundle:
        seen.append((await uow.session.connection()).sync_connection.get_execution_options().get(READ_ONLY))
        return await build(uow, *args, **kwargs)

    monkeypatch.setattr(service, "build", spying_build)
    chat = Chat(app, user_id="3001")
    await chat.say("/baocao 2026-W47")
    assert "Tiếp nhận mới: 6" in chat.text
    assert seen == [True]
