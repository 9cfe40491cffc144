"""The Telegram transport's HTTP layer (AiohttpRequest) against the loopback fake Bot API.

Form fields, multipart uploads, long polls, PTB's error mapping (RetryAfter, BadRequest),
timeouts and network failures: what PTB's own HTTPXRequest did before, through aiohttp.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import Defaults, ExtBot

from bot.transports.telegram import AiohttpRequest, file_url_for
from tests.fakes.telegram_api import FakeTelegram, Upload

CHAT = 5151


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def _bot(base_url: str, token: str, **timeouts: float) -> ExtBot[None]:
    return ExtBot(
        token,
        base_url=base_url,
        base_file_url=file_url_for(base_url),
        request=AiohttpRequest(4, **timeouts),
        get_updates_request=AiohttpRequest(1, **timeouts),
        defaults=Defaults(parse_mode=ParseMode.HTML),
    )


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[ExtBot[None]]:
    client = _bot(tg.base_url, tg.token)
    await client.initialize()
    yield client
    await client.shutdown()


async def test_text_buttons_and_answers(tg: FakeTelegram, bot: ExtBot[None]) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Có", callback_data="tok-1")]])
    sent = await bot.send_message(CHAT, "Xin chào <b>Cầu Ngang</b> & 123", reply_markup=markup)
    message = tg.messages(CHAT)[0]
    assert sent.message_id == message.message_id
    assert message.text == "Xin chào <b>Cầu Ngang</b> & 123" and message.parse_mode == "HTML"
    assert message.buttons == [[("Có", "tok-1")]]
    await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    assert tg.messages(CHAT)[0].buttons == []


async def test_uploads_are_multipart_with_name_type_and_caption(
    tg: FakeTelegram, bot: ExtBot[None], tmp_path: Path
) -> None:
    document = tmp_path / "danh-sach.xlsx"
    document.write_bytes(b"PK\x03\x04 not really a workbook \x00\xff")
    photo = tmp_path / "bieu-do.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n fake chart")
    await bot.send_document(CHAT, document, caption="Danh sách <i>tuần 48</i>", filename=document.name)
    await bot.send_photo(CHAT, photo, caption="Biểu đồ")
    [doc_call] = tg.calls_of("sendDocument")
    [photo_call] = tg.calls_of("sendPhoto")
    upload = doc_call["document"]
    assert isinstance(upload, Upload)
    assert upload.filename == "danh-sach.xlsx" and upload.data == document.read_bytes()
    assert doc_call["caption"] == "Danh sách <i>tuần 48</i>" and doc_call["parse_mode"] == "HTML"
    assert isinstance(photo_call["photo"], Upload) and photo_call["photo"].data == photo.read_bytes()
    doc_message, photo_message = tg.messages(CHAT)
    assert doc_message.file_name == "danh-sach.xlsx" and photo_message.caption == "Biểu đồ"


async def test_long_poll_outlasts_the_read_timeout(tg: FakeTelegram) -> None:
    client = _bot(tg.base_url, tg.token, read_timeout=0.5)
    await client.initialize()
    try:
        poll = asyncio.create_task(client.get_updates(timeout=2))
        await asyncio.sleep(1.0)  # longer than the read timeout: PTB adds the poll's timeout to it
        await tg.send_text(CHAT, "alo")
        updates = await asyncio.wait_for(poll, 5)
    finally:
        await client.shutdown()
    assert [u.message.text for u in updates if u.message] == ["alo"]


async def test_telegram_errors_keep_their_meaning(tg: FakeTelegram, bot: ExtBot[None]) -> None:
    tg.fail("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as limited:
        await bot.send_message(CHAT, "một")
    assert limited.value.retry_after.total_seconds() == 7  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, "<b>unclosed")


async def test_a_slow_answer_times_out(tg: FakeTelegram) -> None:
    client = _bot(tg.base_url, tg.token, read_timeout=0.3)
    await client.initialize()
    tg.slow("sendMessage", 2.0)
    try:
        with pytest.raises(TimedOut):
            await client.send_message(CHAT, "chậm")
    finally:
        await client.shutdown()


async def test_an_unreachable_api_is_a_network_error_without_the_token() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = "987654:SECRET-token-value"
    request = AiohttpRequest(1, connect_timeout=1.0)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as failed:
            await request.post(f"http://127.0.0.1:{port}/bot{token}/getMe")
    finally:
        await request.shutdown()
    assert not isinstance(failed.value, TimedOut)
    assert "SECRET" not in str(failed.value)


async def test_not_initialized_and_shut_down_twice() -> None:
    request = AiohttpRequest(1)
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post("http://127.0.0.1:9/bot1:x/getMe")
    await request.initialize()
    await request.shutdown()
    await request.shutdown()
