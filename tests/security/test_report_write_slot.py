"""Issue #12, item 9: /baocao must not hold the bot's write slot while the report is built.

On SQLite the units of work of the process take turns (storage/uow.py), and a turn holds the
write lock from its first statement to its commit. A report built inside the officer's turn
(even read through a read-only unit of work) kept that turn for the whole build, 0.2-0.5 s at
20,000 cases and seconds at a million, and every citizen waited behind it. Now the turn only
records the request; the report is built after its commit and its files queued in a short
transaction of their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.reports import demo
from storage.models import Staff
from tests.conftest import make_config
from tests.helpers import Chat, FakeClock

CASES = 20_000


@pytest.fixture
async def app(database_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[App]:
    config = make_config(database_url, reports={"out_dir": str(tmp_path / "reports")})
    application = await open_app(config, clock=clock, migrate=False)
    yield application
    await application.close()


async def test_a_citizen_is_answered_while_a_report_is_built(app: App) -> None:
    await demo.generate(app, CASES)
    async with app.db.unit_of_work() as uow:
        await uow.staff.save(Staff(channel="console", channel_user_id="3001", chat_id="3001", role="district_admin"))
    admin = Chat(app, user_id="3001")
    citizen = Chat(app, user_id="5001")
    finished: dict[str, float] = {}

    async def ask(chat: Chat, text: str, who: str) -> None:
        await chat.say(text)
        finished[who] = time.monotonic()

    report = asyncio.create_task(ask(admin, "/baocao 6thang", "report"))
    await asyncio.sleep(0.01)  # the officer's turn has begun
    started = time.monotonic()
    await ask(citizen, "/lichtiepdan", "citizen")
    await report
    assert "lịch tiếp công dân" in citizen.text.lower()
    assert "tệp kèm theo" in admin.text
    waited = finished["citizen"] - started
    built = finished["report"] - started
    # The citizen's turn is not queued behind the report.
    assert finished["citizen"] < finished["report"], f"citizen {waited:.2f} s, report {built:.2f} s"
    assert waited < built / 2, f"citizen {waited:.2f} s, report {built:.2f} s"
