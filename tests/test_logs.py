"""Structured logs (bot/logs.py) and the rule that no personal data is ever logged."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from bot import logs
from bot.app import App
from bot.outbox import OutboxWorker
from bot.transports.base import DeliveryError
from storage.models import CaseContact
from tests.conftest import ROOT
from tests.helpers import Chat, FakeClock

# Distinctive enough that any appearance in a log can only come from this test's chat.
DISPLAY_NAME = "Huỳnh Thị Xuyến Kỳ Lạ"
FULL_NAME = "Trịnh Quốc Bảo Ngọc"
PHONE_TYPED = "0987 654 321"
PHONE = "0987654321"
ADDRESS = "ấp Rạch Kinh Xáng số 77"
DESCRIPTION = "Hàng xóm đổ rác thải ra kênh Mương Điều mỗi đêm thứ bảy"
CAPTION = "ảnh chụp lúc 23 giờ tại cống Ba Ngàn"
QUESTION = "làm giấy khai sanh cho bé Tí Nị Zê"
PERSONAL = [
    DISPLAY_NAME,
    FULL_NAME,
    PHONE_TYPED,
    PHONE,
    ADDRESS,
    DESCRIPTION,
    "Mương Điều",
    CAPTION,
    "Ba Ngàn",
    QUESTION,
    "Tí Nị Zê",
    "9.812345",
    "106.456789",
]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Logging as ``python -m bot --verbose --log-format json`` sets it up, into a buffer."""
    root = logging.getLogger()
    saved = (root.level, {name: logging.getLogger(name).level for name in logs.LIBRARY_LEVELS})
    stream = io.StringIO()
    handler = logs.setup("json", verbose=True, stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


class _Refusing:
    """A channel that refuses every message, as Telegram does for a chat that blocked the bot."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.calls = 0

    async def deliver(self, message: object) -> None:
        self.calls += 1
        raise DeliveryError("forbidden: bot was blocked by the user", permanent=True)


async def test_no_personal_data_in_debug_logs_of_a_whole_petition(
    app: App, clock: FakeClock, json_log: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = Chat(app, user_id="5501", name=DISPLAY_NAME)
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    await citizen.say("/khieunai")
    await citizen.press("Xã Nhị Trường")
    await citizen.say(DESCRIPTION)
    await citizen.photo("AgACphoto-log-test", caption=CAPTION)
    await citizen.location(9.812345, 106.456789)
    await citizen.press("Xong")
    await citizen.say(FULL_NAME)
    await citizen.say(PHONE_TYPED)
    await citizen.say(ADDRESS)
    await citizen.press("Gửi")
    assert "CN-2026-00001" in citizen.text
    await citizen.say("/hoi")
    await citizen.say(QUESTION)
    await citizen.press_token("forged-token")  # refused and logged (by chat id)
    # The notices of the new case go out through the outbox, and are refused for good.
    senders = {channel: _Refusing(channel) for channel in ("telegram", "console", "zalo")}
    worker = OutboxWorker(app.db, senders, clock)
    assert await worker.run_once() > 0
    # A database error, logged as the transports log a failed update, would quote its parameters.
    with pytest.raises(IntegrityError) as failure:
        async with app.db.unit_of_work() as uow:
            uow.session.add(CaseContact(case_id=987654, full_name=FULL_NAME, phone=PHONE, address=ADDRESS))
            await uow.session.flush()
    logging.getLogger("bot.transports.telegram").error("error while handling an update", exc_info=failure.value)

    written = json_log.getvalue()
    lines = [json.loads(line) for line in written.splitlines()]
    # The capture works: the refused token, the outbox failures and the error are all there.
    assert any(e["message"].startswith("refused button token on console chat 5501") for e in lines)
    assert any(e["logger"] == "bot.outbox" and "failed for good" in e["message"] for e in lines)
    error = next(e for e in lines if e["message"] == "error while handling an update")
    assert "IntegrityError" in error["exception"] and "parameters hidden" in error["exception"]
    for text in PERSONAL:
        assert text not in written, f"{text!r} was logged"
        assert text not in caplog.text, f"{text!r} was logged"


def test_json_lines_carry_time_level_logger_message_and_extra_fields(json_log: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("case %s accepted", "CN-2026-00042", extra={"case_id": 42, "channel": "zalo"})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed\non two lines")
    logging.getLogger("aiosqlite").debug("executing with parameters")  # held at WARNING
    logging.getLogger("telegram.ext").debug("an update's content")  # held at INFO

    lines = json_log.getvalue().splitlines()

    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "case CN-2026-00042 accepted"
    assert (first["level"], first["logger"], first["case_id"], first["channel"]) == ("INFO", "bot.test", 42, "zalo")
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["message"] == "it failed\non two lines" and second["level"] == "ERROR"
    assert "ValueError: boom" in second["exception"]


def test_text_format_appends_extra_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter())
    log = logging.getLogger("bot.test.text")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("outbox message %s failed for good", 7, extra={"channel": "telegram"})
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert (
        stream.getvalue().rstrip().endswith("WARNING bot.test.text: outbox message 7 failed for good channel=telegram")
    )


def test_command_line_log_format_json(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "new.db"}"\n[deployment]\ndata_dir = "{ROOT / "data"}"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--log-format", "json", "--config", str(config), "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert any(entry["message"].startswith("Running upgrade") for entry in entries)
    assert result.stdout.strip() == "database is up to date"
