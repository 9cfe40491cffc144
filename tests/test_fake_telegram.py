"""The fake Bot API server works with the real python-telegram-bot HTTP stack.

A tiny PTB Application (echo, /start with an inline keyboard, photo, location, contact, document
upload) runs against :class:`tests.fakes.FakeTelegram` through long polling or a webhook, and the
tests assert what the citizen sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes import FakeTelegram

# PTB 22 itself reads the deprecated int ``RetryAfter.retry_after`` while building the exception
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

USER = 4242
REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the tiny bot under test


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.effective_user is not None
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Có", callback_data="yes"), InlineKeyboardButton("Không", callback_data="no")]]
    )
    name = html.escape(update.effective_user.first_name)
    await update.message.reply_html(f"Xin chào <b>{name}</b>!", reply_markup=keyboard)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    # PTB 22 parses an inaccessible message (date 0) into a Message with ZERO_DATE, not into
    # InaccessibleMessage, so is_accessible is the check that works
    if query.message is None or not query.message.is_accessible:  # stale or forged
        await query.answer("Tin nhắn đã hết hạn", show_alert=True)
        return
    await query.answer("Đã nhận")
    await query.edit_message_text(f"Bạn chọn: {query.data}")


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    largest = update.message.photo[-1]
    data = await (await largest.get_file()).download_as_bytearray()
    await update.message.reply_text(
        f"Ảnh {largest.width}x{largest.height}, {len(data)} byte", reply_to_message_id=update.message.message_id
    )


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.location is not None
    place = update.message.location
    await update.message.reply_text(
        f"Vị trí: {place.latitude:.4f}, {place.longitude:.4f}", reply_markup=ReplyKeyboardRemove()
    )


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.contact is not None
    assert update.effective_user is not None
    contact = update.message.contact
    whose = "của bạn" if contact.user_id == update.effective_user.id else "người khác"
    await update.message.reply_text(f"SĐT {contact.phone_number} ({whose})")


async def on_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None
    kind = "voice" if message.voice else "sticker" if message.sticker else "document"
    await message.reply_text(f"Đã nhận tệp: {kind}")


async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await context.bot.send_chat_action(update.message.chat_id, "upload_document")
    await update.message.reply_document(InputFile(b"a,b\n1,2\n", filename="baocao.csv"), caption="Báo cáo")


def build_app(
    fake: FakeTelegram, rate_limiter: AIORateLimiter | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    builder = ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)  # type: ignore[arg-type]
    app = builder.build()
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CommandHandler("baocao", on_report))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    app.add_handler(MessageHandler(filters.LOCATION, on_location))
    app.add_handler(MessageHandler(filters.CONTACT, on_contact))
    app.add_handler(MessageHandler(filters.VOICE | filters.Sticker.ALL | filters.Document.ALL, on_file))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as telegram:
        yield telegram


@pytest.fixture
async def polling_bot(fake: FakeTelegram) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    app = build_app(fake)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as raw_bot:
        yield raw_bot


@contextlib.asynccontextmanager
async def receiver(handler: Any) -> AsyncIterator[str]:
    """A throwaway aiohttp server; yields its URL."""
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ------------------------------------------------------------------ through a polling Application


@pytest.mark.usefixtures("polling_bot")
async def test_long_polling_delivers_and_confirms_with_offset(fake: FakeTelegram) -> None:
    update_id = await fake.send_text(USER, "Cho hỏi thủ tục đăng ký tạm trú")

    reply = await fake.next_message(USER)
    assert reply.text == "Cho hỏi thủ tục đăng ký tạm trú"
    assert reply.chat_id == USER and reply.parse_mode is None and reply.buttons == []
    await fake.wait_for_confirmed(update_id)
    assert any(params.get("offset") == update_id + 1 for params in fake.calls_of("getUpdates"))
    assert fake.pending_updates == []
    assert fake.tokens == {fake.token}
    assert len(fake.calls_of("getMe")) == 1


@pytest.mark.usefixtures("polling_bot")
async def test_start_html_keyboard_then_press_edits_the_message(fake: FakeTelegram) -> None:
    await fake.send_text(USER, "/start", first_name="Lan")

    greeting = await fake.next_message(USER)
    assert greeting.text == "Xin chào <b>Lan</b>!"
    assert greeting.parse_mode == "HTML"
    assert greeting.plain_text == "Xin chào Lan!"
    assert greeting.buttons == [[("Có", "yes"), ("Không", "no")]]
    assert greeting.button_labels() == ["Có", "Không"]

    await fake.press(USER, greeting, "Không")
    edited = await fake.next_edit(USER)
    assert edited.message_id == greeting.message_id
    assert edited.text == "Bạn chọn: no"
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
    await fake.wait_until(lambda: len(fake.callback_answers) == 1)
    answer = fake.callback_answers[0]
    assert (answer["text"], answer["show_alert"], answer["data"]) == ("Đã nhận", False, "no")
    # the stored message follows the edit; the snapshot from next_message does not
    assert fake.messages(USER)[0].edited and fake.messages(USER)[0].text == "Bạn chọn: no"
    assert greeting.text == "Xin chào <b>Lan</b>!"
    with pytest.raises(AssertionError, match="no button 'Có'"):
        await fake.press(USER, greeting, "Có")


@pytest.mark.usefixtures("polling_bot")
async def test_forged_callback_for_unknown_message_is_inaccessible(fake: FakeTelegram) -> None:
    await fake.press_data(USER, 999, "admin:xoa_tat_ca")

    await fake.wait_until(lambda: len(fake.callback_answers) == 1)
    assert fake.callback_answers[0]["show_alert"] is True
    assert fake.callback_answers[0]["text"] == "Tin nhắn đã hết hạn"
    assert fake.messages(USER) == []


@pytest.mark.usefixtures("polling_bot")
async def test_photo_is_downloaded_and_answered_in_reply(fake: FakeTelegram) -> None:
    await fake.send_photo(USER, caption="Ổ gà trên đường Láng", content=b"\xff\xd8" + b"x" * 2046)
    photo_message_id = fake.updates[-1]["message"]["message_id"]

    reply = await fake.next_message(USER)
    assert reply.text == "Ảnh 1280x960, 2048 byte"
    assert reply.reply_to_message_id == photo_message_id
    assert len(fake.calls_of("getFile")) == 1


@pytest.mark.usefixtures("polling_bot")
async def test_location_and_contact(fake: FakeTelegram) -> None:
    await fake.send_location(USER, 21.028511, 105.854167)
    where = await fake.next_message(USER)
    assert where.text == "Vị trí: 21.0285, 105.8542"
    assert where.keyboard_removed

    await fake.send_contact(USER, "+84912345678")
    await fake.send_contact(USER, "+84987654321", own=False)
    own, other = await fake.wait_messages(USER, 2)
    assert own.text == "SĐT +84912345678 (của bạn)"
    assert other.text == "SĐT +84987654321 (người khác)"


@pytest.mark.usefixtures("polling_bot")
async def test_voice_sticker_and_document_from_the_user(fake: FakeTelegram) -> None:
    await fake.send_voice(USER)
    await fake.send_sticker(USER)
    await fake.send_document(USER, file_name="don_khieu_nai.pdf")

    replies = await fake.wait_messages(USER, 3)
    assert [reply.text for reply in replies] == [
        "Đã nhận tệp: voice",
        "Đã nhận tệp: sticker",
        "Đã nhận tệp: document",
    ]


@pytest.mark.usefixtures("polling_bot")
async def test_document_upload_goes_through_multipart(fake: FakeTelegram) -> None:
    await fake.send_text(USER, "/baocao")

    sent = await fake.next_message(USER)
    assert sent.document is not None and sent.file_name == "baocao.csv"
    assert sent.caption == "Báo cáo"
    assert fake.files[sent.document].content == b"a,b\n1,2\n"
    assert fake.chat_actions == [(USER, "upload_document")]


# ------------------------------------------------------------------ errors and fault injection


async def test_429_is_retried_by_the_aio_rate_limiter(fake: FakeTelegram) -> None:
    app = build_app(fake, rate_limiter=AIORateLimiter(max_retries=2))
    fake.fail("sendMessage", status=429, retry_after=1)
    async with app:
        started = time.monotonic()
        await app.bot.send_message(USER, "Lịch tiếp dân tuần này")
        elapsed = time.monotonic() - started

    assert elapsed >= 1.0
    assert len(fake.calls_of("sendMessage")) == 2
    assert fake.errors == [("sendMessage", 429, "Too Many Requests: retry after 1")]
    assert [m.text for m in fake.messages(USER)] == ["Lịch tiếp dân tuần này"]


@pytest.mark.parametrize(
    ("status", "exception", "text"),
    [
        (429, RetryAfter, "Retry in (1|0:00:01)"),
        (403, Forbidden, "bot was blocked by the user"),
        (400, BadRequest, "Chat not found"),  # PTB capitalises BadRequest messages
        (500, NetworkError, "Internal Server Error"),
        (502, NetworkError, "Bad Gateway"),
    ],
)
async def test_injected_errors_surface_as_ptb_exceptions(
    fake: FakeTelegram, bot: Bot, status: int, exception: type[Exception], text: str
) -> None:
    fake.fail("sendMessage", status=status)

    with pytest.raises(exception, match=text):
        await bot.send_message(USER, "Thông báo")
    await bot.send_message(USER, "Thông báo")  # only the next call fails

    assert [m.text for m in fake.messages(USER)] == ["Thông báo"]


async def test_blocked_user_and_rate_limit(bot: Bot) -> None:
    async with FakeTelegram(per_chat_limit=3) as limited:
        async with Bot(limited.token, base_url=limited.base_url) as limited_bot:
            for number in range(3):
                await limited_bot.send_message(USER, f"Tin {number}")
            with pytest.raises(RetryAfter):
                await limited_bot.send_message(USER, "Tin 3")
            limited.block(USER + 1)
            with pytest.raises(Forbidden):
                await limited_bot.send_message(USER + 1, "Chào")
        assert limited.max_per_second(USER) == 3
        assert len(limited.send_times()) == 3


async def test_telegram_validation_errors(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, "<b>chưa đóng thẻ", parse_mode="HTML")
    with pytest.raises(BadRequest, match='unsupported start tag "br"'):
        await bot.send_message(USER, "dòng 1<br>dòng 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="reserved"):
        await bot.send_message(USER, "Phí 1.000 đồng", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, " ")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")
    assert fake.messages(USER) == []

    ok = await bot.send_message(USER, r"Phí 1\.000 đồng, *miễn phí* cho hộ nghèo", parse_mode="MarkdownV2")
    assert ok.text == "Phí 1.000 đồng, miễn phí cho hộ nghèo"
    number = await bot.send_message(USER, "123")  # form-encoded: must stay a string
    assert fake.messages(USER)[-1].text == "123" and number.text == "123"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("123", chat_id=USER, message_id=number.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("mới", chat_id=USER, message_id=777)


async def test_commands_files_and_misc_methods(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("baocao", "Báo cáo")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "baocao"]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("khong-co")
    assert await bot.log_out() is True
    assert await bot.close() is True


async def test_unknown_method_answers_404(fake: FakeTelegram, bot: Bot) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.base_url}{fake.token}/getUnicorns") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        # plain JSON bodies work too, and keep their native types
        async with session.post(
            f"{fake.base_url}{fake.token}/sendMessage", json={"chat_id": USER, "text": "JSON"}
        ) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["text"] == "JSON"
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("getUnicorns")


# ------------------------------------------------------------------ getUpdates semantics


async def test_get_updates_offset_limit_and_long_poll(fake: FakeTelegram, bot: Bot) -> None:
    ids = [await fake.send_text(USER, f"tin {n}") for n in range(3)]

    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], limit=1)] == [ids[1]]
    assert fake.is_confirmed(ids[0]) and not fake.is_confirmed(ids[1])
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == [ids[2]]

    polls = len(fake.calls_of("getUpdates"))
    started = time.monotonic()
    waiting = asyncio.create_task(bot.get_updates(offset=ids[2] + 1, timeout=5))
    await fake.wait_until(lambda: len(fake.calls_of("getUpdates")) > polls)
    new_id = await fake.send_text(USER, "tin mới")
    assert [u.update_id for u in await waiting] == [new_id]
    assert time.monotonic() - started < 2


async def test_second_poller_ends_the_first_with_conflict(fake: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_until(lambda: len(fake.calls_of("getUpdates")) == 1)
    async with Bot(fake.token, base_url=fake.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_next_message_timeout_shows_the_transcript(fake: FakeTelegram) -> None:
    await fake.send_text(USER, "Alo, có ai không?")
    with pytest.raises(AssertionError, match="user: Alo, có ai không"):
        await fake.next_message(USER, timeout=0.05)


# ------------------------------------------------------------------ webhooks


async def test_webhook_posts_updates_with_the_secret_and_retries(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=500 if len(received) == 1 else 200)

    async with receiver(hook) as url:
        assert await bot.set_webhook(url, secret_token="s3cr3t-Token_1")
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cr3t-Token_1"

        update_id = await fake.send_text(USER, "qua webhook")
        await fake.wait_for_confirmed(update_id)

        assert [d.status for d in fake.webhook_deliveries] == [500, 200]
        assert [secret for secret, _ in received] == ["s3cr3t-Token_1"] * 2
        assert received[-1][1]["message"]["text"] == "qua webhook"
        assert (await bot.get_webhook_info()).last_error_message == "Wrong response from the webhook: 500"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook()
        assert fake.webhook is None
        assert await bot.get_updates() == ()


async def test_ptb_webhook_server_receives_updates(fake: FakeTelegram) -> None:
    app = build_app(fake)
    port = free_port()
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="tg",
            webhook_url=f"http://127.0.0.1:{port}/tg",
            secret_token="bi-mat",
        )
        try:
            update_id = await fake.send_text(USER, "Xin chào qua webhook")
            reply = await fake.next_message(USER)
            await fake.wait_for_confirmed(update_id)
        finally:
            await app.updater.stop()
            await app.stop()

    assert reply.text == "Xin chào qua webhook"
    assert [d.status for d in fake.webhook_deliveries] == [200]


# ------------------------------------------------------------------ standalone CLI


async def test_cli_serves_standalone_with_control_api() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram_api",
        "--port",
        "0",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first_line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode().strip()
        assert first_line.startswith("base_url=http://127.0.0.1:")
        base_url = first_line.removeprefix("base_url=")
        root = base_url.removesuffix("/bot")
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{root}/_fake/send_text", json={"user_id": 7, "text": "hi"}) as response:
                update_id = (await response.json())["update_id"]
            async with session.get(f"{base_url}123:ABC/getUpdates") as response:
                updates = (await response.json())["result"]
            assert [u["update_id"] for u in updates] == [update_id]
            async with session.post(f"{base_url}123:ABC/sendMessage", data={"chat_id": "7", "text": "hello"}):
                pass
            async with session.get(f"{root}/_fake/messages/7") as response:
                assert [m["text"] for m in await response.json()] == ["hello"]
    finally:
        process.terminate()
        await process.wait()
