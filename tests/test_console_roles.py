"""The console plays every role: one person per process, notices shown to their own person,
and a number typed after a notice picks from that notice."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.dialog.types import Outgoing
from bot.outbox import OutboxWorker
from bot.text import plain_text
from bot.transports.console import run_console
from tests.conftest import make_config
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, onboard


class _Capture:
    channel = "console"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def deliver(self, message: Outgoing) -> None:
        self.sent.append(message)


async def test_a_number_after_a_delivered_notice_picks_from_it(app: App, clock: FakeClock) -> None:
    """The officer resolves while the citizen is at the menu; the rating request arrives after it."""
    people = await onboard(app)
    citizen = Chat(app, user_id="5101")
    code = await file_petition(app, citizen, "My Hoa", kind="Kiến nghị", text="Xin lắp đèn đường ấp Bến Có")
    officer = people["officer_mh"]
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    clock.advance(seconds=5)
    await officer.say("Đã đưa vào kế hoạch lắp đèn quý 1")
    clock.advance(seconds=5)
    # Meanwhile the citizen opened the menu (its fourth entry is the reception schedule).
    await citizen.say("/start")
    assert "Bạn cần gì?" in citizen.text
    clock.advance(seconds=5)
    sender = _Capture()
    worker = OutboxWorker(app.db, {"console": sender}, clock, only_chat=("console", citizen.user_id))
    assert await worker.run_once() >= 1
    assert any("Bạn đánh giá" in plain_text(m.text) for m in sender.sent)
    assert all(m.chat_id == citizen.user_id for m in sender.sent), "only this person's notices"
    clock.advance(seconds=5)
    await citizen.say("4")
    assert "lịch tiếp" not in citizen.text.lower(), citizen.text
    assert "khía cạnh" in citizen.text, citizen.text


async def test_a_number_after_the_last_exchange_still_picks_from_the_menu(app: App, clock: FakeClock) -> None:
    """A notice delivered before the menu was shown does not take the menu's numbers."""
    people = await onboard(app)
    citizen = Chat(app, user_id="5102")
    code = await file_petition(app, citizen, "My Hoa", kind="Kiến nghị", text="Xin lắp đèn đường ấp Bến Có")
    officer = people["officer_mh"]
    await officer.say(f"/xem {code}")
    await officer.press("Giải quyết xong")
    await officer.say("Đã đưa vào kế hoạch lắp đèn quý 1")
    clock.advance(seconds=5)
    await OutboxWorker(app.db, {"console": _Capture()}, clock, only_chat=("console", citizen.user_id)).run_once()
    clock.advance(seconds=5)
    await citizen.say("/start")
    clock.advance(seconds=5)
    await citizen.say("4")
    assert "lịch tiếp" in citizen.text.lower() or "Lịch tiếp" in citizen.text, citizen.text


class Terminal:
    """One ``python -m bot console --as NAME`` in this process: lines in through a pipe, text out."""

    def __init__(self, app: App, person: str) -> None:
        read_end, self._write_end = os.pipe()
        self._stdin = os.fdopen(read_end, encoding="utf-8")
        self.out = io.StringIO()
        self._seen = 0
        self.task = asyncio.create_task(
            run_console(app, self._stdin, self.out, person=person, poll_interval=0.05), name=f"console-{person}"
        )

    def say(self, line: str) -> None:
        os.write(self._write_end, (line + "\n").encode())

    async def expect(self, fragment: str, timeout: float = 10.0) -> str:
        """Everything printed up to and including the first new block that contains ``fragment``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            text = self.out.getvalue()
            found = text.find(fragment, self._seen)
            if found >= 0:
                end = text.find("\n\n", found)
                end = len(text) if end < 0 else end + 2
                chunk, self._seen = text[self._seen : end], end
                return chunk
            await asyncio.sleep(0.02)
        raise AssertionError(f"{fragment!r} not shown; after {self._seen}: {self.out.getvalue()[self._seen :]!r}")

    async def close(self) -> None:
        os.close(self._write_end)
        await asyncio.wait_for(self.task, 10)
        self._stdin.close()


def _number_of(block: str, label: str) -> str:
    match = re.search(rf"(\d+)\. [^\n]*{re.escape(label)}", block)
    assert match, block
    return match.group(1)


@contextlib.asynccontextmanager
async def _process(database_url: str) -> AsyncIterator[App]:
    """One console process's app: its own engine on the shared database file."""
    app = await open_app(make_config(database_url, admins={"telegram_ids": []}), migrate=False)
    try:
        yield app
    finally:
        await app.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_admin_officer_and_citizen_in_three_consoles(database_url: str, tmp_path: Path) -> None:
    async with _process(database_url) as a, _process(database_url) as b, _process(database_url) as c:
        admin, officer, citizen = Terminal(a, "admin"), Terminal(b, "canbo"), Terminal(c, "dan")
        try:
            admin.say("/moi Kim Hòa canbo")
            invite = await admin.expect("/dangky")
            code = re.search(r"/dangky ([A-Z0-9]{8})", invite)
            assert code, invite
            officer.say(f"/dangky {code.group(1)}")
            await officer.expect("đã được ghi nhận")

            citizen.say("/start")
            await citizen.expect("Bạn có đồng ý không?")
            citizen.say("1")
            await citizen.expect("Bạn cần gì?")
            for line, shown in (
                ("1", "Bạn muốn gửi loại nào?"),
                ("1", "xã, thị trấn nào"),
                ("kim hoa", "Bạn kể lại sự việc"),
                ("Đường đất sạt lở ở ấp Chợ", "Đã ghi nhận"),
                ("1", "không bắt buộc"),
                ("bo qua", "Kiểm tra lại trước khi gửi"),
                ("gui", "Đã tiếp nhận"),
            ):
                citizen.say(line)
                await citizen.expect(shown)
            notice = await officer.expect("Hồ sơ mới")
            officer.say(_number_of(notice, "Xem"))
            card = await officer.expect("Giải quyết xong")
            officer.say(_number_of(card, "Giải quyết xong"))
            await officer.expect("Kết quả giải quyết")
            officer.say("Đã gia cố bờ bằng bao cát")
            await officer.expect("Đã giải quyết")
            rating = await citizen.expect("Bạn đánh giá")
            assert "bao cát" in rating and "4. 4 ⭐" in rating, rating
            # The notice arrived after the citizen's menu: "4" rates, it does not open the schedule.
            citizen.say("4")
            await citizen.expect("khía cạnh")
            assert "canbo" not in citizen.out.getvalue()
            assert "Bạn đánh giá" not in officer.out.getvalue() and "Hồ sơ mới" not in citizen.out.getvalue()
        finally:
            for terminal in (admin, officer, citizen):
                await terminal.close()
