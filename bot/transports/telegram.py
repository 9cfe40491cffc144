"""The Telegram transport: our own polling loop and webhook server, python-telegram-bot's Bot for sending.

Why not PTB's ``Updater``: it confirms updates to Telegram (the next ``getUpdates`` offset, or
the webhook's 200) as soon as it has fetched them, before our transaction commits, so a kill
at the wrong moment loses updates that were already acknowledged. Here an update is
acknowledged only after the dialog engine committed its effects and its replies were sent:

* polling: every update fetched starts at once in its chat's queue: chats run concurrently
  (at most ``concurrency`` engine transactions at once) and one chat's updates one after the
  other, so every chat sees its replies in order and one chat's burst does not hold up the
  others (the next ``getUpdates`` does not wait for a whole batch). The offset given to
  ``getUpdates`` is the lowest update not yet handled, so Telegram keeps everything from there
  on; what comes back again while in hand or already handled is skipped, and an update whose
  handling failed is taken again when it comes back (``MAX_ATTEMPTS`` tries);
* webhook: a small aiohttp server checks ``X-Telegram-Bot-Api-Secret-Token`` in constant
  time (401 without it, 403 when wrong, nothing processed), handles the update, and answers
  200 only then; a failure answers 500 so that Telegram delivers the update again.

A kill after the commit and before the acknowledgement makes Telegram deliver the update
again; the engine's ``processed_updates`` claim turns it into a no-op. PTB's ``ExtBot`` (with
``AIORateLimiter`` and ``Defaults``) sends: HTML with inline keyboards whose callback data are
opaque tokens. Telegram's errors are mapped onto the outbox's retry policy.

These choices come from the load benchmark (docs/benchmarks.md, "Load"):

* PTB talks HTTP through :class:`AiohttpRequest` rather than its default ``HTTPXRequest``:
  the same Bot API calls for about a third of the CPU (httpx and httpcore cost 3.5 ms of CPU a
  call here, part of it a failed ``import sniffio`` on every call; aiohttp about 1 ms), and a
  reply is two or three calls; calls without files go as JSON bodies, not urlencoded forms;
* replies (``sendMessage``) and the removal of a pressed keyboard (``editMessageReplyMarkup``)
  go through ``Bot.do_api_request``, which returns Telegram's answer as it came, instead of
  ``send_message`` and friends, which turn every answer into a ``Message`` that nobody reads:
  that parsing was a tenth of the bot's CPU. PTB still encodes the call, rate-limits it and
  maps Telegram's errors; photos and documents use PTB's methods;
* ``AIORateLimiter`` keeps no bucket for all chats together: the outbox paces what it sends
  (``[outbox]``: 30 a second, one a second per chat), and an answer to the person who just
  wrote goes out at once. A shared 30-a-second bucket capped the bot at about 16 updates a
  second (a reply is about two messages) and queued every reply behind a fan-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Defaults, ExtBot
from telegram.request import BaseRequest, RequestData
from telegram.warnings import PTBUserWarning

from bot import crashpoints
from bot.app import App
from bot.config import ConfigError, TelegramConfig
from bot.dialog.types import Inbound, Outgoing
from bot.transports.base import BodyRefused, DeliveryError, parse_json_body, split_html

log = logging.getLogger(__name__)
JSON_HEADERS = {"Content-Type": "application/json"}

# PTB suggests its own methods when do_api_request names one; we call it on purpose (see above).
warnings.filterwarnings(
    "ignore", message=r"Please use 'Bot\.(sendMessage|editMessageReplyMarkup)'", category=PTBUserWarning
)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds a getUpdates long poll waits for something new
CONCURRENCY = 16  # engine transactions running at once (different chats)
MAX_ATTEMPTS = 3  # polling: times an update whose handling failed is tried before it is dropped
STOP_GRACE = 10.0  # seconds a stop waits for the updates in hand
BUSY_REPOLL = 0.5  # seconds between getUpdates while only updates in hand come back
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram"
WEBHOOK_MAX_BODY = 1024 * 1024
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def file_url_for(base_url: str) -> str:
    """PTB's base_file_url that goes with a custom base_url ("…/bot" -> "…/file/bot")."""
    return base_url[: -len("bot")] + "file/bot" if base_url.endswith("/bot") else base_url


def to_inbound(update: Update) -> Inbound | None:
    """The channel-neutral event for a Telegram update, or None for what we ignore."""
    update_id = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        if chat is None or chat.type != ChatType.PRIVATE:
            return None
        return Inbound(
            channel=CHANNEL,
            update_id=update_id,
            chat_id=str(chat.id),
            user_id=str(query.from_user.id),
            kind="choice",
            token=query.data or "",
            display_name=query.from_user.full_name,
        )
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "update_id": update_id,
        "chat_id": str(message.chat.id),
        "user_id": str(message.from_user.id),
        "display_name": message.from_user.full_name,
    }
    return Inbound(**base, **_content(message))


def _content(message: Message) -> dict[str, Any]:
    if message.text is not None:
        text = message.text
        entity = message.entities[0] if message.entities else None
        if entity is not None and entity.type == "bot_command" and entity.offset == 0:
            command = text[1 : entity.length].split("@", 1)[0].lower()
            return {"kind": "command", "text": text, "command": command, "args": text[entity.length :].strip()}
        return {"kind": "text", "text": text}
    if message.photo:
        return {"kind": "photo", "attachment": message.photo[-1].file_id, "text": message.caption}
    if message.location is not None:
        return {"kind": "location", "location": (message.location.latitude, message.location.longitude)}
    if message.contact is not None:
        own = message.from_user is not None and message.contact.user_id == message.from_user.id
        if own:
            return {"kind": "contact", "phone": message.contact.phone_number}
        return {"kind": "other", "other": "contact"}
    for kind in ("sticker", "voice", "audio", "video", "video_note", "document", "animation", "poll"):
        if getattr(message, kind, None):
            return {"kind": "other", "other": kind}
    return {"kind": "other", "other": "unknown"}


def text_pieces(text: str) -> list[str]:
    """The messages a long HTML text is sent as: valid markup each, within Telegram's length."""
    return split_html(text, MessageLimit.MAX_TEXT_LENGTH)


def caption_pieces(text: str) -> tuple[str | None, list[str]]:
    """A photo's or file's caption (None for none), and the messages for what does not fit in it."""
    pieces = split_html(text, MessageLimit.CAPTION_LENGTH)
    return (pieces[0], pieces[1:]) if pieces else (None, [])


def keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.token) for button in row] for row in message.buttons]
    )


def keyboard_json(message: Outgoing) -> dict[str, Any] | None:
    """The message's inline keyboard as the Bot API's JSON object."""
    if not message.buttons:
        return None
    rows = [[{"text": button.label, "callback_data": button.token} for button in row] for row in message.buttons]
    return {"inline_keyboard": rows}


class AiohttpRequest(BaseRequest):
    """PTB's HTTP layer on an aiohttp client session (see the module docstring for why).

    Timeouts mean what they mean for PTB's ``HTTPXRequest``: ``connect`` covers waiting for a free
    connection (``pool``) and connecting, ``read`` is the longest silence while the answer comes,
    and the whole call is bounded by their sum with ``write`` (``media_write`` when uploading).
    Network failures and timeouts become PTB's ``NetworkError`` and ``TimedOut``; HTTP statuses
    are left to PTB, which maps them onto its errors.
    """

    def __init__(
        self,
        connections: int,
        *,
        read_timeout: float = 5.0,
        write_timeout: float = 5.0,
        connect_timeout: float = 5.0,
        pool_timeout: float = 1.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self.connections = connections
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        uploading = request_data is not None and request_data.contains_files
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if uploading else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(part for part in parts if part is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        data: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] | None = None
        if request_data is not None and uploading:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime_type) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            data = form
        elif request_data is not None:
            # A JSON body, which the Bot API takes for every method but uploads: cheaper to
            # build than a form (urlencoding a Vietnamese text byte by byte in Python).
            data = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = JSON_HEADERS
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # Without the URL: it holds the bot's token.
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {str(exc).replace(url, '<Bot API URL>')}") from exc


def _given(value: object, default: float) -> float | None:
    """A timeout passed by PTB (seconds, or None for no limit), else ours."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return default  # BaseRequest.DEFAULT_NONE: not given


class TelegramTransport:
    channel = CHANNEL

    def __init__(
        self,
        app: App,
        on_queued: Callable[[], None] = lambda: None,
        *,
        poll_timeout: int = POLL_TIMEOUT,
        concurrency: int = CONCURRENCY,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        self.app = app
        self.on_queued = on_queued
        self.config = app.config.telegram
        _check_config(self.config)
        self.poll_timeout = poll_timeout
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        base_url = self.config.base_url or "https://api.telegram.org/bot"
        self.bot: ExtBot[int] = ExtBot(
            self.config.token,
            base_url=base_url,
            base_file_url=file_url_for(base_url),
            request=AiohttpRequest(max(16, concurrency * 2)),
            get_updates_request=AiohttpRequest(1),
            defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=app.config.deployment.tz),
            # No bucket over all chats (overall_max_rate=0): see the module docstring.
            rate_limiter=AIORateLimiter(overall_max_rate=0, max_retries=0),
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._chat_users: dict[str, int] = {}  # updates waiting for or holding a chat's lock
        self._failures: dict[int, int] = {}  # update_id -> failed attempts (bounded)
        # Polling (see _dispatch): the updates fetched and not yet handled, those being handled,
        # those handled above the offset, and when a failed one may be tried again.
        self._unfinished: set[int] = set()
        self._handling: set[int] = set()
        self._finished: set[int] = set()
        self._retry_at: dict[int, float] = {}
        self._seen_up_to: int | None = None
        self._offset_floor: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._progress = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._poll_call: asyncio.Task[tuple[Update, ...]] | None = None
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self.offset: int | None = None  # the next getUpdates offset: everything below it is handled

    # ---------------------------------------------------------------- handling one update

    async def process(self, update: Update) -> None:
        """Handle one update in its chat's turn.

        Returns once its effects are committed and its replies sent (or found unsendable);
        raises when the engine failed, after telling the person once.
        """
        inbound = to_inbound(update)
        if inbound is None:
            return
        crashpoints.reached("telegram.received", update.update_id)
        chat = inbound.chat_id
        lock = self._chat_locks.setdefault(chat, asyncio.Lock())
        self._chat_users[chat] = self._chat_users.get(chat, 0) + 1
        try:
            async with lock:
                try:
                    async with self._slots:
                        result = await self.app.engine.handle(inbound)
                except Exception:
                    log.exception("error while handling a telegram update")
                    await self._tell_error_once(update.update_id, chat)
                    raise
                crashpoints.reached("telegram.committed", update.update_id)
                if result.queued:
                    self.on_queued()
                await self._reply(update, result.messages, result.notice, duplicate=result.duplicate)
        finally:
            self._chat_users[chat] -= 1
            if not self._chat_users[chat]:
                del self._chat_users[chat]
                self._chat_locks.pop(chat, None)
        crashpoints.reached("telegram.replied", update.update_id)

    async def _reply(self, update: Update, messages: list[Outgoing], notice: str | None, *, duplicate: bool) -> None:
        query = update.callback_query
        if query is not None:
            await _quietly(query.answer(notice))
            if messages and query.message is not None and not duplicate:
                removal = {"chat_id": query.message.chat.id, "message_id": query.message.message_id}
                await _quietly(self.bot.do_api_request("editMessageReplyMarkup", api_kwargs=removal))
        for index, message in enumerate(messages):
            try:
                await self.send(message)
            except TelegramError as exc:
                # The reply is lost but the step's effects are committed: the person can see the
                # state with /hoso. Logged without the text (it may hold personal data).
                log.warning("could not send a reply on telegram: %s", exc)
                return
            crashpoints.reached("telegram.sent", index)

    async def _tell_error_once(self, update_id: int, chat_id: str) -> None:
        """The engine failed: say so the first time (the update may be handled again later)."""
        count = self._failures.get(update_id, 0) + 1
        self._failures[update_id] = count
        if len(self._failures) > 1000:
            for old in sorted(self._failures)[:500]:
                del self._failures[old]
        if count == 1:
            text = self.app.services.catalog.text(self.app.config.deployment.language, "dialog.error")
            await _quietly(self.bot.send_message(int(chat_id), text))

    # ---------------------------------------------------------------- polling

    async def _poll(self) -> None:
        delay = self.retry_delay
        while not self._stopping:
            self._poll_call = asyncio.create_task(
                self.bot.get_updates(offset=self.offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
            )
            try:
                updates = await self._poll_call
            except asyncio.CancelledError:
                if self._stopping:
                    break
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except InvalidToken:
                log.error("telegram refused the token while polling")
                await asyncio.sleep(self.max_retry_delay)
                continue
            except (TelegramError, OSError) as exc:
                # Network trouble, Telegram's 5xx, or 409 while another instance polls.
                log.warning("telegram getUpdates failed: %s", exc)
                await asyncio.sleep(delay)
                delay = min(self.max_retry_delay, delay * 2)
                continue
            finally:
                self._poll_call = None
            delay = self.retry_delay
            if not self._dispatch(list(updates)) and self._unfinished:
                # Telegram gave back only what is in hand (it keeps every update from the lowest
                # unfinished one): ask again once something finishes, or a little later for new chats.
                await self._wait_for_progress()

    def _dispatch(self, updates: list[Update]) -> int:
        """Start handling the updates not yet in hand (each chat in order); how many were started."""
        started = 0
        now = asyncio.get_running_loop().time()
        for update in updates:
            update_id = update.update_id
            if update_id in self._handling or update_id in self._finished:
                continue
            if self._offset_floor is not None and update_id < self._offset_floor:
                continue  # acknowledged already (a stale answer)
            if self._retry_at.get(update_id, now) > now:
                continue
            self._retry_at.pop(update_id, None)
            self._unfinished.add(update_id)
            self._handling.add(update_id)
            self._seen_up_to = max(self._seen_up_to or update_id, update_id)
            task = asyncio.create_task(self._handle_one(update), name=f"telegram-update-{update_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _handle_one(self, update: Update) -> None:
        """Handle one update; on the way out, record the outcome and move the offset."""
        update_id = update.update_id
        try:
            await self.process(update)
        except asyncio.CancelledError:
            self._handling.discard(update_id)  # unfinished: fetched again after a restart
            raise
        except Exception:
            if self._failures.get(update_id, 0) < MAX_ATTEMPTS:
                # Fetched again later (the offset stays below it) and tried again.
                self._retry_at[update_id] = asyncio.get_running_loop().time() + self.retry_delay
                self._handling.discard(update_id)
                self._progress.set()
                return
            log.error("giving up on telegram update %s after %d attempts", update_id, MAX_ATTEMPTS)
        self._handling.discard(update_id)
        self._unfinished.discard(update_id)
        self._finished.add(update_id)
        self._advance_offset()
        self._progress.set()

    def _advance_offset(self) -> None:
        """The offset: the lowest unfinished update, or past everything fetched when all is done."""
        if self._unfinished:
            self.offset = min(self._unfinished)
        elif self._seen_up_to is not None:
            self.offset = self._seen_up_to + 1
        floor = self.offset
        if floor is not None:
            self._offset_floor = floor
            self._finished = {update_id for update_id in self._finished if update_id >= floor}

    async def _wait_for_progress(self) -> None:
        self._progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout=BUSY_REPOLL)

    async def _finish_in_hand(self) -> None:
        """At a stop: let the updates in hand finish (they commit and are acknowledged), then cancel."""
        if not self._tasks:
            return
        _done, late = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
        if late:
            log.warning("telegram updates still running at the stop: %d cancelled", len(late))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _confirm(self) -> None:
        """Tell Telegram what is handled (a getUpdates with the offset), at a clean stop."""
        if self.offset is None:
            return
        with contextlib.suppress(TelegramError, OSError):
            await self.bot.get_updates(offset=self.offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)

    # ---------------------------------------------------------------- webhook

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            log.warning("telegram webhook call without a secret header refused")
            return web.Response(status=401, text="missing secret")
        if not hmac.compare_digest(given.encode(), self.config.webhook_secret.encode()):
            log.warning("telegram webhook call with a wrong secret refused")
            return web.Response(status=403, text="wrong secret")
        try:
            data = parse_json_body(await request.read())
        except BodyRefused as refused:
            log.warning("telegram webhook body refused: %s", refused)
            return web.Response(status=400, text=str(refused))
        try:
            update = Update.de_json(data, self.bot) if isinstance(data, dict) else None
        except (TypeError, ValueError, KeyError, AttributeError):  # a field of the wrong type: PTB fails either way
            update = None
        if update is None:
            log.warning("telegram webhook body is not an update; ignored")
            return web.Response(status=200, text="ignored")
        try:
            await self.process(update)
        except Exception:
            return web.Response(status=500, text="error")
        return web.Response(status=200, text="ok")

    async def _start_webhook(self) -> None:
        application = web.Application(client_max_size=WEBHOOK_MAX_BODY)
        application.router.add_post(WEBHOOK_PATH, self._on_webhook)
        self._runner = web.AppRunner(application, access_log=None, shutdown_timeout=10.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.webhook_listen, self.config.webhook_port)
        await site.start()
        await self.bot.set_webhook(
            url=self.config.webhook_url,
            secret_token=self.config.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    # ---------------------------------------------------------------- sending

    async def send(self, message: Outgoing) -> None:
        chat_id = int(message.chat_id)
        if message.file or message.photo:
            caption, rest = caption_pieces(message.text)
            await self._send_media(message, caption, with_buttons=not rest)
        else:
            rest = text_pieces(message.text)
        for index, piece in enumerate(rest):
            call: dict[str, Any] = {"chat_id": chat_id, "text": piece, "parse_mode": ParseMode.HTML}
            if index == len(rest) - 1 and message.buttons:
                call["reply_markup"] = keyboard_json(message)
            await self.bot.do_api_request("sendMessage", api_kwargs=call)

    async def _send_media(self, message: Outgoing, caption: str | None, *, with_buttons: bool) -> None:
        """A file from disk (reports) or a photo Telegram already has, under ``caption``."""
        bot = self.bot
        chat_id = int(message.chat_id)
        markup = keyboard(message) if with_buttons else None
        if message.file:
            path = Path(message.file)
            if message.file_kind == "photo":
                await bot.send_photo(chat_id, path, caption=caption, reply_markup=markup)
            else:
                await bot.send_document(chat_id, path, caption=caption, filename=path.name, reply_markup=markup)
        elif message.photo:
            await bot.send_photo(chat_id, message.photo, caption=caption, reply_markup=markup)

    def pieces(self, message: Outgoing) -> int:
        """How many Bot API calls ``send`` makes for the message (the outbox paces by it)."""
        if message.file or message.photo:
            return 1 + len(caption_pieces(message.text)[1])
        return len(text_pieces(message.text))

    async def deliver(self, message: Outgoing) -> None:
        """Outbox delivery: Telegram's errors as retryable or permanent."""
        try:
            await self.send(message)
        except RetryAfter as exc:
            raise DeliveryError("rate limited", retry_after=_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise DeliveryError(f"forbidden: {exc.message}", permanent=True) from exc
        except BadRequest as exc:
            raise DeliveryError(f"bad request: {exc.message}", permanent=True) from exc
        except (TimedOut, NetworkError) as exc:
            raise DeliveryError(f"network: {exc}") from exc
        except FileNotFoundError as exc:
            raise DeliveryError(f"file missing: {exc.filename}", permanent=True) from exc

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            await self.bot.initialize()
        except InvalidToken:
            raise ConfigError("telegram.token: the Bot API refused it") from None
        except NetworkError as exc:
            raise ConfigError(f"telegram.base_url: cannot reach the Bot API ({exc})") from None
        self._stopping = False
        if self.config.mode == "webhook":
            await self._start_webhook()
            log.info("telegram bot @%s receiving on a webhook", self.bot.username)
        else:
            await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name="telegram-poll")
            log.info("telegram bot @%s polling", self.bot.username)

    async def stop(self) -> None:
        """Finish the updates in hand (they commit and are acknowledged), then stop receiving."""
        self._stopping = True
        if self._poller is not None:
            if self._poll_call is not None:
                self._poll_call.cancel()
            try:
                await asyncio.wait_for(self._poller, timeout=STOP_GRACE)
            except (TimeoutError, asyncio.CancelledError):
                log.warning("telegram polling did not stop in time")
            self._poller = None
            await self._finish_in_hand()
            await self._confirm()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.bot.shutdown()


def _check_config(config: TelegramConfig) -> None:
    if config.mode == "webhook":
        if not config.webhook_url.startswith(("https://", "http://")):
            raise ConfigError("telegram.webhook_url: webhook mode needs the public HTTPS URL Telegram posts to")
        if not _SECRET.fullmatch(config.webhook_secret):
            raise ConfigError(
                "telegram.webhook_secret: webhook mode needs a secret of 1-256 characters A-Z, a-z, 0-9, _ and -"
            )


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except TelegramError as exc:
        log.info("telegram call failed: %s", exc)
