"""E-mail through a real SMTP server (aiosmtpd) started by the tests: reports with their files,
exactly once through the outbox, and what the server refuses for good is not retried."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from bot import cli
from bot.app import open_app
from bot.config import Config
from bot.dialog.types import Outgoing, Reply
from bot.outbox import OutboxWorker
from bot.services import notify
from bot.transports.email import EmailSender
from storage.models import OutboxMessage
from tests.conftest import make_config
from tests.helpers import FakeClock
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
