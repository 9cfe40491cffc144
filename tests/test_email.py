"""E-mail through a real SMTP server (aiosmtpd) started by the tests: reports with their files,
exactly once through the outbox, and what the server refuses for good is not retried."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from bot import cli
from bot import config as config_module
from bot.app import open_app
from bot.config import Config
from bot.dialog.types import Outgoing, Reply
from bot.outbox import OutboxWorker
from bot.services import notify
from bot.services.reminders import run_daily
from bot.text import plain_text
from bot.transports.base import DeliveryError
from bot.transports.email import EmailSender
from storage.models import OutboxMessage
from tests.conftest import ROOT, make_config
from tests.helpers import Chat, FakeClock
from tests.test_officer import file_petition, invite, onboard
from tests.zalo_helpers import free_port

NOIVU = "noivu@caungang.gov.vn"
REFUSED = "khongco@caungang.gov.vn"


class Mailbox:
    """The SMTP server's handler: keeps every message it accepted; refuses one mailbox for good."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _config(database_url: str, port: int, tmp_path: Path) -> Config:
    return make_config(
        database_url,
        email={"host": "127.0.0.1", "port": port, "from_address": "tiepdan@caungang.gov.vn", "starttls": False},
        reports={"emails": [NOIVU], "out_dir": str(tmp_path / "reports")},
    )


async def test_report_send_mails_the_report_with_its_files(
    database_url: str, tmp_path: Path, mailbox: tuple[Mailbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    box, port = mailbox
    config = _config(database_url, port, tmp_path)
    assert await cli._demo_data(config, 40, 3) == 0
    assert await cli._report_send(config, "tuan", None, None) == 0
    assert "e-mailed 1 of 1 recipients" in capsys.readouterr().out
    [mail] = box.messages
    assert box.recipients == [[NOIVU]]
    assert mail["To"] == NOIVU and mail["From"] == "tiepdan@caungang.gov.vn"
    assert str(mail["Subject"]).startswith("Báo cáo tiếp dân Từ ") and "UBND huyện Cầu Ngang" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content_charset() == "utf-8"
    text = body.get_content()
    assert "Tiếp nhận mới:" in text and "<b>" not in text
    names = sorted(part.get_filename() or "" for part in mail.iter_attachments())
    assert names == ["cases.xlsx", "chart.png"]
    chart = next(part for part in mail.iter_attachments() if part.get_filename() == "chart.png")
    assert chart.get_content_type() == "image/png" and chart.get_content()[:8] == b"\x89PNG\r\n\x1a\n"

    # Recorded: running the outbox again sends nothing twice.
    app = await open_app(config, migrate=False)
    try:
        async with app.db.unit_of_work() as uow:
            rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email"))).all()
        assert [(row.chat_id, row.status) for row in rows] == [(NOIVU, "sent")]
        sender = EmailSender(config.email, config.deployment.name)
        worker = OutboxWorker(app.db, {"email": sender}, app.services.clock, services=app.services)
        assert await worker.run_once() == 0
    finally:
        await app.close()
    assert len(box.messages) == 1


async def test_mail_is_sent_once_and_the_repeat_window_is_short(
    database_url: str, clock: FakeClock, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    config = _config(database_url, port, tmp_path)
    app = await open_app(config, clock=clock, migrate=False)
    try:
        async with app.db.unit_of_work() as uow:
            for number in range(5):
                text = f"📌 Hồ sơ CN-2026-0000{number} sắp đến hạn: Đường đất sạt lở ở ấp Chợ"
                await notify.enqueue(uow, "email", NOIVU, Reply(text), now=clock())
        sender = EmailSender(config.email, config.deployment.name)
        worker = OutboxWorker(app.db, {"email": sender}, clock, services=app.services)
        assert await worker.run_once() == 1  # one at a time per recipient, in order
        while await worker.run_once():
            pass
        assert worker.stats.sent == 5
        # The window in which a kill would send a message again: from the server's "250" to the
        # row saying sent (docs/reliability.md measures it the same way for chat).
        assert worker.stats.window_max < 0.5, worker.stats
    finally:
        await app.close()
    subjects = [str(mail["Subject"]) for mail in box.messages]
    assert subjects == [
        f"Hồ sơ CN-2026-0000{n} sắp đến hạn: Đường đất sạt lở ở ấp Chợ (UBND huyện Cầu Ngang)" for n in range(5)
    ]


async def test_a_refused_mailbox_fails_for_good(
    database_url: str, clock: FakeClock, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    config = _config(database_url, port, tmp_path)
    app = await open_app(config, clock=clock, migrate=False)
    try:
        async with app.db.unit_of_work() as uow:
            await notify.enqueue(uow, "email", REFUSED, Reply("Thử"), now=clock())
        sender = EmailSender(config.email, config.deployment.name)
        worker = OutboxWorker(app.db, {"email": sender}, clock, services=app.services)
        await worker.run_once()
        async with app.db.unit_of_work() as uow:
            [row] = (await uow.session.exec(select(OutboxMessage))).all()
        assert row.status == "failed" and row.last_error is not None and "550" in row.last_error
    finally:
        await app.close()
    assert box.messages == []


async def test_a_server_that_is_down_is_retried(database_url: str, clock: FakeClock, tmp_path: Path) -> None:
    config = _config(database_url, free_port(), tmp_path)  # nothing listens there
    app = await open_app(config, clock=clock, migrate=False)
    try:
        async with app.db.unit_of_work() as uow:
            await notify.enqueue(uow, "email", NOIVU, Reply("Thử"), now=clock())
        sender = EmailSender(config.email, config.deployment.name)
        await OutboxWorker(app.db, {"email": sender}, clock, services=app.services).run_once()
        async with app.db.unit_of_work() as uow:
            [row] = (await uow.session.exec(select(OutboxMessage))).all()
        assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > clock()
    finally:
        await app.close()


def test_compose_keeps_vietnamese_and_attaches_files(tmp_path: Path) -> None:
    config = _config("sqlite:///unused.db", 25, tmp_path)
    sheet = tmp_path / "annex.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not really a workbook")
    message = Outgoing("email", NOIVU, "<b>Báo cáo</b> sáu tháng: 12 đơn thư", attachments=(str(sheet),))
    mail = EmailSender(config.email, "UBND huyện Cầu Ngang").compose(message)
    parsed = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert str(parsed["Subject"]) == "Báo cáo sáu tháng: 12 đơn thư (UBND huyện Cầu Ngang)"
    [part] = list(parsed.iter_attachments())
    assert part.get_filename() == "annex.xlsx" and part.get_content() == sheet.read_bytes()


class _Blocked:
    """A chat channel on which the recipient blocked the bot."""

    channel = "telegram"

    async def deliver(self, message: Outgoing) -> None:
        raise DeliveryError("Forbidden: bot was blocked by the user", permanent=True)


async def test_an_officers_notice_the_chat_cannot_take_goes_by_email(
    database_url: str, clock: FakeClock, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    config = _config(database_url, port, tmp_path)
    app = await open_app(config, clock=clock, migrate=False)
    try:
        people = await onboard(app)
        officer = people["officer_kh"]
        await officer.say("/email")
        assert "/email kèm địa chỉ" in officer.text
        await officer.say("/email không phải địa chỉ")
        assert "không phải địa chỉ thư" in officer.text
        await officer.say("email canbo.kimhoa@caungang.gov.vn")  # typed bare, as on Zalo
        assert "Đã ghi địa chỉ thư canbo.kimhoa@caungang.gov.vn" in officer.text
        citizen = Chat(app, user_id="5201")
        code = await file_petition(app, citizen, "kim hoa")
        senders = {"telegram": _Blocked(), "console": _Blocked(), "email": EmailSender(config.email, "UBND")}
        worker = OutboxWorker(app.db, senders, clock, services=app.services)  # type: ignore[arg-type]
        while await worker.run_once():
            pass
        async with app.db.unit_of_work() as uow:
            rows = (await uow.session.exec(select(OutboxMessage).where(OutboxMessage.channel == "email"))).all()
        # Only the officer who gave an address: the lead's notice fails without a copy.
        assert [(row.chat_id, row.status) for row in rows] == [("canbo.kimhoa@caungang.gov.vn", "sent")]
    finally:
        await app.close()
    [mail] = box.messages
    assert str(mail["Subject"]) == "Tin nhắn Tiếp dân không gửi được qua telegram"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and f"Hồ sơ mới {code}" in body.get_content()


class _Accepting:
    channel = "zalo"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def deliver(self, message: Outgoing) -> None:
        self.sent.append(message)


async def test_reminders_reach_each_officer_on_their_channel_or_by_email(
    database_url: str, clock: FakeClock, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    config = _config(database_url, port, tmp_path)
    app = await open_app(config, clock=clock, migrate=False)
    try:
        admin = Chat(app, user_id="900001", channel="telegram")
        codes = []
        for role in ("canbo", "truong"):
            codes.append(await invite(admin, "Kim Hòa", role))
        officer = Chat(app, user_id="z-7001", channel="zalo", name="Cán bộ Zalo")
        lead = Chat(app, user_id="7002", channel="telegram", name="Lãnh đạo")
        await officer.say(f"dangky {codes[0]}")
        await lead.say(f"/dangky {codes[1]}")
        await lead.say("/email lanhdao@kimhoa.gov.vn")
        code = await file_petition(app, Chat(app, user_id="5301"), "Kim Hòa")
        zalo = _Accepting()
        senders = {"zalo": zalo, "telegram": _Blocked(), "email": EmailSender(config.email, "UBND")}
        worker = OutboxWorker(app.db, senders, clock, services=app.services)  # type: ignore[arg-type]
        while await worker.run_once():
            pass
        box.messages.clear()
        zalo.sent.clear()
        clock.now = datetime(2026, 12, 9, 0, 0, tzinfo=UTC)  # two working days before the deadline
        assert await run_daily(app.db, app.services, date(2026, 12, 9)) == 2
        while await worker.run_once():
            pass
    finally:
        await app.close()
    [reminder] = zalo.sent
    assert reminder.chat_id == "z-7001" and code in plain_text(reminder.text)
    [mail] = box.messages
    assert mail["To"] == "lanhdao@kimhoa.gov.vn"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "sắp đến hạn" in body.get_content() and code in body.get_content()


def _write_config(path: Path, database_url: str, port: int, out_dir: Path) -> Path:
    path.write_text(
        f"""
[database]
url = "{database_url}"
[deployment]
data_dir = "{ROOT / "data"}"
[admins]
telegram_ids = []
console_ids = []
[email]
host = "127.0.0.1"
port = {port}
from_address = "tiepdan@caungang.gov.vn"
starttls = false
[reports]
emails = ["{NOIVU}"]
out_dir = "{out_dir}"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("point", "repeats"), [("outbox.sending", False), ("outbox.recorded", False), ("outbox.sent", True)]
)
async def test_a_kill_around_the_send_repeats_only_inside_the_window(
    database_url: str, tmp_path: Path, mailbox: tuple[Mailbox, int], point: str, repeats: bool
) -> None:
    """``report --send`` killed (os._exit, as SIGKILL) at a crash point, then the bot's outbox runs.

    Before the send and after the record nothing is sent twice; only a kill between the server's
    "250" and the record (the window) repeats the one e-mail, as for chat.
    """
    box, port = mailbox
    config_file = _write_config(tmp_path / "config.toml", database_url, port, tmp_path / "reports")
    env = {**os.environ, "TIEPDAN_CRASH_AT": f"{point}:1", "PYTHONPATH": str(ROOT)}
    env.pop("TIEPDAN_DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config_file),
        "report",
        "--period",
        "tuan",
        "--send",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 137, stderr.decode()
    before = len(box.messages)
    assert before == (0 if point == "outbox.sending" else 1)

    config = config_module.load(str(config_file), environ={})
    app = await open_app(config, migrate=False)
    try:
        worker = OutboxWorker(app.db, {"email": EmailSender(config.email, "UBND")}, app.services.clock)
        while await worker.run_once():
            pass
        async with app.db.unit_of_work() as uow:
            [row] = (await uow.session.exec(select(OutboxMessage))).all()
    finally:
        await app.close()
    assert row.status == "sent"
    assert len(box.messages) == (2 if repeats else 1)
    assert all(mail["To"] == NOIVU for mail in box.messages)
