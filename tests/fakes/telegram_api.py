"""A loopback fake of the Telegram Bot API, for tests and benchmarks.

Why it exists: tiepdan reaches Telegram through python-telegram-bot (PTB). Mocking PTB's
``Bot`` methods would only test our assumptions about PTB. This module instead runs a small
aiohttp server on 127.0.0.1 that answers ``/bot<token>/<method>`` the way the Bot API does
(object shapes from https://core.telegram.org/bots/api), so that a real PTB ``Application``
exercises its real HTTP stack: form/multipart encoding, JSON parsing, long polling with
``offset``, webhooks, error mapping (``RetryAfter``, ``Forbidden``, ``BadRequest``...) and
its rate limiter. The test plays the citizen through async methods on :class:`FakeTelegram`
(no HTTP needed on that side, everything runs in one event loop).

Usage in a test::

    async with FakeTelegram() as tg:
        app = (
            ApplicationBuilder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        ...  # add handlers, initialize, start, app.updater.start_polling(poll_interval=0, timeout=1)
        await tg.send_text(42, "/start")
        reply = await tg.next_message(42)
        await tg.press(42, reply, "Gửi phản ánh")

Standalone (benchmarks, manual runs)::

    python -m tests.fakes.telegram_api --port 9000 [--host 127.0.0.1] [--token 123456:TEST] [--echo]

prints ``base_url`` / ``base_file_url`` and serves until Ctrl-C. Another process can then play
the users through a small JSON control API under ``/_fake/``:

* ``POST /_fake/send_text`` ``{"user_id": 42, "text": "hi"}`` -> ``{"update_id": n}``
* ``POST /_fake/press`` ``{"user_id": 42, "message_id": 7, "data": "yes"}`` -> ``{"update_id": n}``
* ``POST /_fake/update`` (a raw Update object) -> ``{"update_id": n}``
* ``GET /_fake/messages/<chat_id>`` -> the bot's messages to that chat
* ``GET /_fake/stats`` -> call counts, sends per chat, the highest sends-per-second seen

Behaviour worth knowing (all as the real Bot API does it):

* Updates wait in one queue. ``getUpdates`` returns them without removing them; a later call with
  ``offset`` confirms (drops) every update with a smaller id; a negative offset keeps the last N.
  A second concurrent ``getUpdates`` ends the first with 409 Conflict; ``getUpdates`` while a
  webhook is set answers 409 too.
* With a webhook set, queued updates are POSTed to it one at a time, in order, with
  ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set; a non-2xx answer or a connection
  error is retried (``webhook_retry_delay``) up to ``webhook_max_attempts`` times, then dropped.
  ``deleteWebhook`` hands undelivered updates back to ``getUpdates``.
* HTML, MarkdownV2 and Markdown texts are checked: malformed markup (``<br>``, an unclosed
  ``<b>``, an unescaped ``.`` in MarkdownV2...) answers 400 "can't parse entities", an empty text
  400 "message text is empty", more than 4096 characters 400 "message is too long", callback data
  longer than 64 bytes 400 "BUTTON_DATA_INVALID".
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard; an edit that changes
  nothing answers 400 "message is not modified"; answering a callback query twice or an unknown
  one answers 400 "query is too old ... or query ID is invalid".
* ``fail()`` injects errors, ``slow()`` delays answers, ``block()`` makes a user block the bot,
  ``per_chat_limit`` / ``global_limit`` answer 429 when the bot sends too fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import html
import itertools
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

__all__ = ["BotEvent", "FakeTelegram", "SentMessage", "StoredFile", "Upload", "WebhookDelivery"]

JSON = dict[str, Any]
T = TypeVar("T")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

# Parameters whose form-encoded value is a plain string. PTB (like every Bot API client) sends
# strings raw and JSON-encodes everything else, so "123" in ``text`` must stay a string while
# "123" in ``chat_id`` is the number 123.
_STRING_PARAMS = _words(
    "text caption parse_mode url secret_token callback_query_id inline_message_id file_id "
    "action language_code ip_address business_connection_id message_effect_id photo document "
    "voice sticker audio video animation video_note thumbnail emoji title description "
    "short_description name phone_number first_name last_name vcard address certificate"
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note"
)

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class BotApiError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, ...}`` with this status."""

    def __init__(self, status: int, description: str | None = None, retry_after: float | None = None) -> None:
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, "Error").format(retry_after=_number(retry_after or 1))
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.status == 429:
            body["parameters"] = {"retry_after": _number(self.retry_after or 1)}
        return body


def _number(value: float) -> int | float:
    """Telegram sends whole seconds as integers."""
    return int(value) if float(value).is_integer() else value


def _bad(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


def _utf16_len(text: str) -> int:
    """Bot API lengths and offsets are in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# Text formatting checks (what makes Telegram answer "can't parse entities")
# --------------------------------------------------------------------------------------------

_HTML_TAGS = _words("b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji tg-time")
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?/?>")
_MD2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def _entities_error(detail: str) -> BotApiError:
    return _bad(f"can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _render_html(text: str) -> str:
    """Check ``text`` as Telegram HTML and return what the user sees."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) >= 0:
        out.append(text[pos:lt])
        match = _HTML_TAG_RE.match(text, lt)
        offset = _byte_offset(text, lt)
        if match is None:
            raise _entities_error(f"Unsupported start tag at byte offset {offset}")
        closing, name = match.group(1), match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _entities_error(f'Unsupported {kind} tag "{name}" at byte offset {offset}')
        if closing:
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {offset}")
            expected = stack.pop()
            if expected != name:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", found "</{name}>"'
                )
        else:
            stack.append(name)
        pos = match.end()
    out.append(text[pos:])
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape("".join(out))


def _find_unescaped(text: str, needle: str, start: int) -> int:
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(needle, i):
            return i
        i += 1
    return -1


def _unescape_md2(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _render_markdown_v2(text: str) -> str:
    """Check ``text`` as MarkdownV2 and return what the user sees."""
    out: list[str] = []
    open_at: dict[str, int] = {}
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 < len(text) and 0 < ord(text[i + 1]) < 127:
                out.append(text[i + 1])
                i += 2
                continue
            raise _entities_error(f"Character '\\' is reserved and must be escaped at byte offset {i}")
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _find_unescaped(text, fence, i + len(fence))
            if end < 0:
                name = "Pre" if fence == "```" else "Code"
                raise _entities_error(f"Can't find end of {name} entity at byte offset {_byte_offset(text, i)}")
            inner = text[i + len(fence) : end]
            if fence == "```" and "\n" in inner:
                inner = inner.split("\n", 1)[1]  # the first line names the language
            out.append(_unescape_md2(inner))
            i = end + len(fence)
            continue
        if c == "[":
            open_at["["] = _byte_offset(text, i)
            i += 1
            continue
        if c == "]" and "[" in open_at:
            del open_at["["]
            if text.startswith("(", i + 1):
                end = _find_unescaped(text, ")", i + 2)
                if end < 0:
                    raise _entities_error(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
                i = end + 1
            else:
                i += 1
            continue
        marker = next((m for m in ("||", "__") if text.startswith(m, i)), c if c in "*_~" else "")
        if marker:
            if marker in open_at:
                del open_at[marker]
            else:
                open_at[marker] = _byte_offset(text, i)
            i += len(marker)
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote
            continue
        if c in _MD2_RESERVED:
            raise _entities_error(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        out.append(c)
        i += 1
    if open_at:
        marker, offset = min(open_at.items(), key=lambda item: item[1])
        name = _MD2_NAMES.get(marker, "TextUrl")
        raise _entities_error(f"Can't find end of {name} entity at byte offset {offset}")
    return "".join(out)


def _render_markdown(text: str) -> str:
    """Check ``text`` as legacy Markdown and return what the user sees."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "*_`[":
            closer = "]" if c == "[" else c
            end = text.find(closer, i + 1)
            if end < 0:
                raise _entities_error(f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}")
            out.append(text[i + 1 : end])
            i = end + 1
            if c == "[" and text.startswith("(", i):
                url_end = text.find(")", i)
                i = url_end + 1 if url_end >= 0 else len(text)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def render(text: str, parse_mode: str | None) -> str:
    """Return what the user sees for ``text`` sent with ``parse_mode``; raise like Telegram."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _render_html(text)
    if mode == "markdownv2":
        return _render_markdown_v2(text)
    if mode == "markdown":
        return _render_markdown(text)
    if mode:
        raise _bad(f"unsupported parse_mode {parse_mode}")
    return text


# --------------------------------------------------------------------------------------------
# Records kept for the tests
# --------------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """A message the bot sent, as the user sees it (the stored one is updated by edits)."""

    chat_id: int
    message_id: int
    text: str | None  # exactly as the bot sent it (markup included)
    parse_mode: str | None
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)  # (label, callback_data or "")
    photo: str | None = None  # file_id of the largest size
    caption: str | None = None
    sent_at: float = 0.0  # time.monotonic() when the fake received the call
    edited: bool = False
    document: str | None = None  # file_id
    file_name: str | None = None
    reply_keyboard: list[list[str]] | None = None  # labels of a ReplyKeyboardMarkup
    keyboard_removed: bool = False  # sent with ReplyKeyboardRemove
    force_reply: bool = False
    reply_to_message_id: int | None = None
    reply_markup: JSON | None = None  # the inline keyboard markup as sent
    method: str = "sendMessage"
    date: int = 0  # unix seconds, as in the Message object
    edited_at: float | None = None  # time.monotonic() of the last edit
    edit_date: int | None = None  # unix seconds of the last edit, as in the Message object
    deleted: bool = False

    def button_labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    def button_data(self, label: str) -> str:
        for row in self.buttons:
            for text, data in row:
                if text == label:
                    return data
        raise KeyError(label)

    @property
    def plain_text(self) -> str | None:
        """The text (or caption) with its markup rendered away."""
        source = self.text if self.text is not None else self.caption
        if source is None:
            return None
        try:
            return render(source, self.parse_mode)
        except BotApiError:
            return source

    def describe(self) -> str:
        body = self.text if self.text is not None else self.caption
        parts = [f"#{self.message_id}"]
        if self.photo:
            parts.append("[photo]")
        if self.document:
            parts.append(f"[document {self.file_name or self.document}]")
        if body is not None:
            parts.append(repr(body))
        if self.buttons:
            parts.append("[" + " | ".join(self.button_labels()) + "]")
        if self.reply_keyboard:
            parts.append("{keyboard: " + " | ".join(label for row in self.reply_keyboard for label in row) + "}")
        return " ".join(parts)


@dataclass
class BotEvent:
    """Something the bot did to a chat: ``kind`` is "sent", "edited" or "deleted"."""

    kind: str
    chat_id: int
    message: SentMessage  # a snapshot taken at that moment
    at: float


@dataclass
class WebhookDelivery:
    update_id: int
    status: int | None  # HTTP status the bot answered, None when the connection failed
    error: str | None
    at: float


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None

    def as_file(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class _Fault:
    method: str
    status: int | None  # None: answer normally, only after ``delay``
    retry_after: float
    remaining: int
    description: str | None
    chat_id: int | str | None
    delay: float


_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00fake-jpeg\xff\xd9"


def _unique_id(file_id: str) -> str:
    return "AQAD" + hashlib.blake2s(file_id.encode(), digest_size=8).hexdigest()


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegram:
    """A fake Bot API server on loopback plus the user-side controls tests drive it with."""

    def __init__(
        self,
        token: str = "123456:TEST",  # noqa: S107 - a fake token
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        per_chat_limit: int | None = None,
        global_limit: int | None = None,
        webhook_retry_delay: float = 0.1,
        webhook_max_attempts: int = 5,
        webhook_timeout: float = 10.0,
        first_update_id: int = 100_000,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.per_chat_limit = per_chat_limit  # messages per rolling second, None = unlimited
        self.global_limit = global_limit
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_timeout = webhook_timeout
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456,
            "is_bot": True,
            "first_name": "Tiếp dân",
            "username": "tiepdan_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

        # what the bot did; ``calls`` has every Bot API call, failed ones included, params decoded
        self.calls: list[tuple[str, JSON]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, status, description) of every non-ok answer
        self.callback_answers: list[JSON] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[str, list[JSON]] = {}  # key: json of (scope, language_code)
        self.tokens: set[str] = set()
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.files: dict[str, StoredFile] = {}
        self.updates: list[JSON] = []  # every update ever queued, in order

        self._chats: dict[int, list[SentMessage]] = defaultdict(list)
        self._by_id: dict[tuple[int, int], SentMessage] = {}
        self._events: dict[int, list[BotEvent]] = defaultdict(list)
        self._sent_cursor: dict[int, int] = defaultdict(int)
        self._edit_cursor: dict[int, int] = defaultdict(int)
        self._transcripts: dict[int, list[str]] = defaultdict(list)
        self._incoming: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._users: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._send_times: dict[int, list[float]] = defaultdict(list)
        self._all_send_times: list[float] = []
        self._faults: list[_Fault] = []
        self._queries: dict[str, JSON] = {}
        self._query_ids = itertools.count(4_382_000_000_000_000_001)
        self._file_counter = itertools.count(1)
        self._update_ids = itertools.count(first_update_id)
        self._last_update_id = first_update_id - 1

        self._pending: list[JSON] = []
        self._confirmed_below = 0
        self._acked: set[int] = set()
        self._poll_generation = 0
        self._webhook: JSON | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._closing = False

        self._methods: dict[str, Callable[[JSON], Any]] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._ok,
                "close": self._ok,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendChatAction": self._send_chat_action,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "getFile": self._get_file,
            }.items()
        }

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_post("/_fake/send_text", self._control_send_text)
        app.router.add_post("/_fake/press", self._control_press)
        app.router.add_post("/_fake/update", self._control_update)
        app.router.add_get("/_fake/messages/{chat_id}", self._control_messages)
        app.router.add_get("/_fake/stats", self._control_stats)
        self._closing = False
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.webhook_timeout))

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- fault injection

    def fail(
        self,
        method: str,
        status: int = 429,
        retry_after: float = 1,
        times: int = 1,
        *,
        description: str | None = None,
        chat_id: int | str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally to one chat) fail like Telegram."""
        self._faults.append(_Fault(method.lower(), status, retry_after, times, description, chat_id, 0.0))

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the answer of the next ``times`` calls of ``method`` (for client timeouts)."""
        self._faults.append(_Fault(method.lower(), None, 0, times, None, None, seconds))

    def clear_faults(self) -> None:
        self._faults.clear()

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sending to them answers 403."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    # ---------------------------------------------------------------- user side

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Dân",
        username: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        payload: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            payload["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        self._user(user_id, first_name, username)
        return await self._user_message(user_id, payload, text, reply_to_message_id=reply_to_message_id)

    async def send_photo(
        self,
        user_id: int,
        *,
        file_id: str | None = None,
        caption: str | None = None,
        content: bytes | None = None,
    ) -> int:
        file_id = file_id or self._new_file_id("AgACAgIAAxkBAAI")
        payload: JSON = {"photo": self._photo_sizes(file_id, content if content is not None else _FAKE_JPEG)}
        if caption is not None:
            payload["caption"] = caption
        return await self._user_message(user_id, payload, f"[photo] {caption or ''}".strip())

    async def send_document(
        self,
        user_id: int,
        *,
        file_id: str | None = None,
        file_name: str = "don.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        content: bytes | None = None,
    ) -> int:
        file_id = file_id or self._new_file_id("BQACAgIAAxkBAAI")
        stored = self._store_file(file_id, content if content is not None else b"%PDF-1.4 fake", "documents", file_name)
        stored.mime_type = mime_type
        document = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(stored.content),
        }
        payload: JSON = {"document": document}
        if caption is not None:
            payload["caption"] = caption
        return await self._user_message(user_id, payload, f"[document {file_name}] {caption or ''}".strip())

    async def send_voice(
        self, user_id: int, *, file_id: str | None = None, duration: int = 3, content: bytes | None = None
    ) -> int:
        file_id = file_id or self._new_file_id("AwACAgIAAxkBAAI")
        stored = self._store_file(file_id, content if content is not None else b"OggS fake", "voice", None)
        voice = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.content),
        }
        return await self._user_message(user_id, {"voice": voice}, f"[voice {duration}s]")

    async def send_sticker(self, user_id: int, *, file_id: str | None = None, emoji: str = "👍") -> int:
        file_id = file_id or self._new_file_id("CAACAgIAAxkBAAI")
        stored = self._store_file(file_id, b"RIFF fake webp", "stickers", None)
        sticker = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.content),
        }
        return await self._user_message(user_id, {"sticker": sticker}, f"[sticker {emoji}]")

    async def send_location(self, user_id: int, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._user_message(user_id, {"location": location}, f"[location {latitude}, {longitude}]")

    async def send_contact(self, user_id: int, phone_number: str, *, own: bool = True) -> int:
        user = self._user(user_id)
        contact: JSON = {"phone_number": phone_number, "first_name": user["first_name"] if own else "Người khác"}
        if own:
            contact["user_id"] = user_id
        return await self._user_message(user_id, {"contact": contact}, f"[contact {phone_number}]")

    async def press(self, user_id: int, message: SentMessage, button_text: str) -> int:
        """Press the inline button labelled ``button_text`` on (the current state of) ``message``."""
        stored = self._by_id.get((message.chat_id, message.message_id))
        if stored is None or stored.deleted:
            raise AssertionError(
                f"message #{message.message_id} is not in chat {message.chat_id}\n{self.transcript(message.chat_id)}"
            )
        for row in stored.buttons:
            for label, data in row:
                if label == button_text:
                    if not data:
                        raise AssertionError(f"button {label!r} on #{stored.message_id} has no callback_data")
                    self._log(stored.chat_id, f"user pressed {label!r} on #{stored.message_id} (data={data!r})")
                    return await self._callback(user_id, stored.chat_id, self._message_dict(stored), data)
        raise AssertionError(
            f"no button {button_text!r} on #{stored.message_id}; it has {stored.button_labels()}\n"
            + self.transcript(stored.chat_id)
        )

    async def press_data(self, user_id: int, message_id: int, data: str) -> int:
        """Send a callback query with arbitrary data, as a forged or stale client would."""
        stored = self._by_id.get((user_id, message_id))
        if stored is not None and not stored.deleted:
            message = self._message_dict(stored)
        else:  # Telegram sends an InaccessibleMessage (date 0) for messages it no longer has
            message = {"chat": self._chat(user_id), "message_id": message_id, "date": 0}
        self._log(user_id, f"user sent callback data {data!r} for #{message_id}")
        return await self._callback(user_id, user_id, message, data)

    async def send_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update as is (``update_id`` is assigned when missing)."""
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:  # so that answerCallbackQuery accepts it
            user_id = int(query.get("from", {}).get("id", 0))
            chat_id = int(query.get("message", {}).get("chat", {}).get("id", user_id))
            self._queries[str(query["id"])] = {"user_id": user_id, "chat_id": chat_id, "data": query.get("data")}
        return await self._enqueue(dict(update))

    # ---------------------------------------------------------------- what the user sees

    def messages(self, chat_id: int) -> list[SentMessage]:
        """All bot messages to ``chat_id`` in order, in their current (possibly edited) state."""
        return list(self._chats.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        return self._by_id[(chat_id, message_id)]

    def events(self, chat_id: int) -> list[BotEvent]:
        return list(self._events.get(chat_id, []))

    def transcript(self, chat_id: int) -> str:
        lines = self._transcripts.get(chat_id) or ["(nothing)"]
        return f"transcript of chat {chat_id}:\n" + "\n".join(f"  {line}" for line in lines)

    async def next_message(self, chat_id: int, *, timeout: float = 5.0) -> SentMessage:
        """The next new bot message to ``chat_id`` (a snapshot as it was sent)."""

        def find() -> SentMessage | None:
            events = self._events.get(chat_id, [])
            for index in range(self._sent_cursor[chat_id], len(events)):
                if events[index].kind == "sent":
                    self._sent_cursor[chat_id] = index + 1
                    return events[index].message
            return None

        found = await self._wait(find, timeout)
        if found is None:
            raise AssertionError(f"no new bot message to chat {chat_id} within {timeout}s\n{self.transcript(chat_id)}")
        return found

    async def next_edit(self, chat_id: int, *, timeout: float = 5.0) -> SentMessage:
        """The next edit of a bot message in ``chat_id`` (a snapshot after the edit)."""

        def find() -> SentMessage | None:
            events = self._events.get(chat_id, [])
            for index in range(self._edit_cursor[chat_id], len(events)):
                if events[index].kind == "edited":
                    self._edit_cursor[chat_id] = index + 1
                    return events[index].message
            return None

        found = await self._wait(find, timeout)
        if found is None:
            raise AssertionError(f"no edit in chat {chat_id} within {timeout}s\n{self.transcript(chat_id)}")
        return found

    async def wait_messages(self, chat_id: int, count: int, *, timeout: float = 5.0) -> list[SentMessage]:
        deadline = time.monotonic() + timeout
        return [await self.next_message(chat_id, timeout=max(0.0, deadline - time.monotonic())) for _ in range(count)]

    async def wait_until(self, predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "") -> None:
        """Wait until ``predicate()`` holds; it is re-checked whenever the fake's state changes."""
        if await self._wait(lambda: True if predicate() else None, timeout) is None:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r}")

    async def wait_for_confirmed(self, update_id: int, timeout: float = 5.0) -> None:
        """Until the bot acknowledged ``update_id`` (getUpdates offset past it, or webhook 2xx)."""
        await self.wait_until(
            lambda: self.is_confirmed(update_id), timeout=timeout, what=f"confirmation of update {update_id}"
        )

    def is_confirmed(self, update_id: int) -> bool:
        return update_id < self._confirmed_below or update_id in self._acked

    @property
    def webhook(self) -> JSON | None:
        return dict(self._webhook) if self._webhook is not None else None

    @property
    def pending_updates(self) -> list[JSON]:
        return list(self._pending)

    def calls_of(self, method: str) -> list[JSON]:
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Monotonic times at which the bot's send* calls (not edits) were accepted."""
        return list(self._all_send_times if chat_id is None else self._send_times.get(chat_id, []))

    def max_per_second(self, chat_id: int | None = None, window: float = 1.0) -> int:
        """The most messages sent (to ``chat_id``, or overall) within any ``window`` seconds."""
        return max_in_window(self.send_times(chat_id), window)

    # ---------------------------------------------------------------- internals: state

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait(self, find: Callable[[], T | None], timeout: float | None) -> T | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            result = find()
            if result is not None:
                return result
            changed = self._changed
            if deadline is None:
                await changed.wait()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _log(self, chat_id: int, line: str) -> None:
        self._transcripts[chat_id].append(line)

    def _user(self, user_id: int, first_name: str | None = None, username: str | None = None) -> JSON:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": first_name or "Dân", "language_code": "vi"}
        )
        if first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        return dict(user)

    def _chat(self, chat_id: int) -> JSON:
        if chat_id > 0:
            user = self._users.get(chat_id, {"first_name": "Dân"})
            chat: JSON = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                chat["username"] = user["username"]
            return chat
        kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": f"Nhóm {-chat_id}"}

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _new_file_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._file_counter):06d}"

    def _store_file(self, file_id: str, content: bytes, folder: str, file_name: str | None) -> StoredFile:
        number = len(self.files) + 1
        suffix = {"photos": ".jpg", "voice": ".oga", "stickers": ".webp"}.get(folder, "")
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(file_id, _unique_id(file_id), f"{folder}/file_{number}{suffix}", content, file_name)
        self.files[file_id] = stored
        return stored

    def _photo_sizes(self, file_id: str, content: bytes) -> list[JSON]:
        sizes = []
        for suffix, width, height in (("-s", 90, 68), ("-m", 320, 240), ("", 1280, 960)):
            size_id = file_id + suffix
            stored = self.files.get(size_id) or self._store_file(size_id, content, "photos", None)
            sizes.append(
                {
                    "file_id": size_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(stored.content),
                }
            )
        return sizes

    async def _user_message(
        self, user_id: int, payload: JSON, summary: str, *, reply_to_message_id: int | None = None
    ) -> int:
        message_id = self._new_message_id(user_id)
        message: JSON = {
            "message_id": message_id,
            "from": self._user(user_id),
            "chat": self._chat(user_id),
            "date": int(time.time()),
            **payload,
        }
        if reply_to_message_id is not None:
            replied = self._reply_target(user_id, reply_to_message_id)
            if replied is not None:
                message["reply_to_message"] = replied
        self._incoming[(user_id, message_id)] = message
        self._log(user_id, f"user: {summary}")
        return await self._enqueue({"message": message})

    def _reply_target(self, chat_id: int, message_id: int) -> JSON | None:
        if (chat_id, message_id) in self._incoming:
            replied = dict(self._incoming[(chat_id, message_id)])
            replied.pop("reply_to_message", None)
            return replied
        stored = self._by_id.get((chat_id, message_id))
        return self._message_dict(stored, nested=True) if stored is not None else None

    async def _callback(self, user_id: int, chat_id: int, message: JSON, data: str) -> int:
        query_id = str(next(self._query_ids))
        query = {
            "id": query_id,
            "from": self._user(user_id),
            "message": message,
            "chat_instance": str(-(abs(chat_id) * 7919 + 1_000_003)),
            "data": data,
        }
        self._queries[query_id] = {"user_id": user_id, "chat_id": chat_id, "data": data, **query}
        return await self._enqueue({"callback_query": query})

    async def _enqueue(self, update: JSON) -> int:
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        update_id = int(update["update_id"])
        if update_id > self._last_update_id:
            self._last_update_id = update_id
            self._update_ids = itertools.count(update_id + 1)
        self._pending.append(update)
        self.updates.append(update)
        self._notify()
        await asyncio.sleep(0)
        return update_id

    # ---------------------------------------------------------------- internals: HTTP

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = {key: _coerce(key, value) for key, value in request.query.items()}
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise _bad("can't parse JSON request body") from exc
            if not isinstance(body, dict):
                raise _bad("request body must be a JSON object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    params[key] = _coerce(key, value if isinstance(value, str) else value.decode())
        return params

    @staticmethod
    def _reply(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, error: BotApiError) -> web.Response:
        self.errors.append((method, error.status, error.description))
        return web.json_response(error.body(), status=error.status)

    async def _handle_method(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        self.tokens.add(token)
        try:
            params = await self._read_params(request)
        except BotApiError as error:
            return self._error(method, error)
        self.calls.append((method, params))
        self._notify()
        handler = self._methods.get(method.lower())
        if handler is None:
            return self._error(method, BotApiError(404, "Not Found: method not found"))
        try:
            await self._apply_faults(method, params)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except BotApiError as error:
            return self._error(method, error)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a malformed parameter
            return self._error(method, _bad(f"wrong parameter in request: {exc}"))
        return self._reply(result)

    async def _apply_faults(self, method: str, params: JSON) -> None:
        for fault in list(self._faults):
            if fault.method != method.lower() or fault.remaining <= 0:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != str(fault.chat_id):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                retry_after = fault.retry_after if fault.status == 429 else None
                raise BotApiError(fault.status, fault.description, retry_after)
            return

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        self.tokens.add(request.match_info["token"])
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    # ---------------------------------------------------------------- Bot API methods

    def _ok(self, params: JSON) -> bool:
        return True

    def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(self, params: JSON) -> list[JSON]:
        webhook_conflict = BotApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
        if self._webhook is not None:
            raise webhook_conflict
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        if offset > 0:
            self._confirm_below(offset)
        elif offset < 0:
            dropped = self._pending[:offset]
            self._pending = self._pending[offset:]
            if dropped:
                self._confirm_below(int(dropped[-1]["update_id"]) + 1)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # ends an older long poll with 409, as Telegram does

        def ready() -> bool | None:
            if self._poll_generation != generation or self._pending or self._closing or self._webhook:
                return True
            return None

        if timeout > 0:
            await self._wait(ready, timeout)
        if self._poll_generation != generation:
            raise BotApiError(409)
        if self._webhook is not None:
            raise webhook_conflict
        return [update for update in self._pending if int(update["update_id"]) >= offset][:limit]

    def _confirm_below(self, offset: int) -> None:
        self._confirmed_below = max(self._confirmed_below, offset)
        self._pending = [update for update in self._pending if int(update["update_id"]) >= offset]
        self._notify()

    def _set_webhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": None if secret is None else str(secret),
            "max_connections": int(params.get("max_connections") or 40),
            "allowed_updates": params.get("allowed_updates"),
            "ip_address": params.get("ip_address"),
        }
        self._webhook_error = None
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="fake-telegram-webhook")
        self._notify()
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._notify()
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self._webhook or {}
        info: JSON = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            if hook.get("allowed_updates"):
                info["allowed_updates"] = hook["allowed_updates"]
            if hook.get("ip_address"):
                info["ip_address"] = hook["ip_address"]
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _deliver_webhooks(self) -> None:
        attempts = 0
        while not self._closing and self._webhook is not None:
            if not self._pending:
                await self._wait(
                    lambda: True if self._pending or self._webhook is None or self._closing else None, None
                )
                continue
            hook, update = self._webhook, self._pending[0]
            headers = {"Content-Type": "application/json"}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            status: int | None = None
            error: str | None = None
            assert self._session is not None
            try:
                async with self._session.post(hook["url"], data=json.dumps(update), headers=headers) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            update_id = int(update["update_id"])
            self.webhook_deliveries.append(WebhookDelivery(update_id, status, error, time.monotonic()))
            if status is not None and 200 <= status < 300:
                attempts = 0
                self._acked.add(update_id)
                self._pending = [queued for queued in self._pending if queued is not update]
            else:
                attempts += 1
                reason = f"Wrong response from the webhook: {status}" if status else (error or "Connection failed")
                self._webhook_error = (int(time.time()), reason)
                if attempts >= self.webhook_max_attempts:  # Telegram gives up on an update eventually
                    attempts = 0
                    self._pending = [queued for queued in self._pending if queued is not update]
                else:
                    self._notify()
                    await asyncio.sleep(self.webhook_retry_delay)
            self._notify()

    # sending

    def _chat_id(self, params: JSON) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError) as exc:
            raise _bad("chat not found") from exc
        if chat_id in self._blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _check_rate(self, chat_id: int) -> None:
        now = time.monotonic()
        if self.per_chat_limit is not None:
            recent = [at for at in self._send_times.get(chat_id, []) if now - at < 1.0]
            if len(recent) >= self.per_chat_limit:
                raise BotApiError(429, retry_after=1)
        if self.global_limit is not None:
            recent = [at for at in self._all_send_times[-self.global_limit :] if now - at < 1.0]
            if len(recent) >= self.global_limit:
                raise BotApiError(429, retry_after=1)

    def _reply_to(self, params: JSON, chat_id: int) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        allow_missing = bool(params.get("allow_sending_without_reply"))
        message_id = params.get("reply_to_message_id")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        message_id = int(message_id)
        if self._reply_target(chat_id, message_id) is None:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return message_id

    def _new_sent(self, method: str, params: JSON, **fields: Any) -> SentMessage:
        chat_id = self._chat_id(params)
        buttons, markup = self._parse_markup(params.get("reply_markup"))
        reply_to = self._reply_to(params, chat_id)
        self._check_rate(chat_id)
        now = time.monotonic()
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            text=fields.pop("text", None),
            parse_mode=params.get("parse_mode"),
            sent_at=now,
            method=method,
            date=int(time.time()),
            reply_to_message_id=reply_to,
            **markup,
            **fields,
        )
        message.buttons = buttons
        self._send_times[chat_id].append(now)
        self._all_send_times.append(now)
        self._chats[chat_id].append(message)
        self._by_id[(chat_id, message.message_id)] = message
        self._record(chat_id, "sent", message)
        return message

    def _record(self, chat_id: int, kind: str, message: SentMessage) -> None:
        snapshot = dataclasses.replace(message)
        self._events[chat_id].append(BotEvent(kind, chat_id, snapshot, time.monotonic()))
        self._log(chat_id, f"bot {kind}: {message.describe()}")
        self._notify()

    def _parse_markup(self, markup: Any) -> tuple[list[list[tuple[str, str]]], JSON]:
        if markup is None:
            return [], {}
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError as exc:
                raise _bad("can't parse reply keyboard markup JSON object") from exc
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows: list[list[tuple[str, str]]] = []
            for row in markup["inline_keyboard"]:
                labels = []
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise _bad("can't parse inline keyboard button: Text must be non-empty")
                    data = button.get("callback_data")
                    if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                        raise _bad("BUTTON_DATA_INVALID")
                    if len(button) == 1:
                        raise _bad(
                            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                        )
                    labels.append((str(button["text"]), "" if data is None else str(data)))
                rows.append(labels)
            return rows, {"reply_markup": markup}
        if "keyboard" in markup:
            keyboard = [
                [button if isinstance(button, str) else str(button.get("text", "")) for button in row]
                for row in markup["keyboard"]
            ]
            return [], {"reply_keyboard": keyboard}
        if markup.get("remove_keyboard"):
            return [], {"keyboard_removed": True}
        if markup.get("force_reply"):
            return [], {"force_reply": True}
        return [], {}

    def _check_text(self, text: Any, parse_mode: str | None) -> str:
        if text is None or str(text).strip() == "":
            raise _bad("message text is empty")
        checked = str(text)
        if _utf16_len(render(checked, parse_mode)) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return checked

    def _check_caption(self, caption: Any, parse_mode: str | None) -> str | None:
        if caption is None:
            return None
        checked = str(caption)
        if _utf16_len(render(checked, parse_mode)) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return checked

    def _message_dict(self, message: SentMessage, *, nested: bool = False) -> JSON:
        result: JSON = {
            "message_id": message.message_id,
            "from": dict(self.bot_user),
            "chat": self._chat(message.chat_id),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.text is not None:
            result["text"] = render(message.text, message.parse_mode)
        if message.photo is not None:
            stored = self.files.get(message.photo)
            result["photo"] = self._photo_sizes(message.photo, stored.content if stored else _FAKE_JPEG)
        if message.document is not None:
            stored = self.files[message.document]
            result["document"] = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content),
                **({"file_name": stored.file_name} if stored.file_name else {}),
                **({"mime_type": stored.mime_type} if stored.mime_type else {}),
            }
        if message.caption is not None:
            result["caption"] = render(message.caption, message.parse_mode)
        if message.reply_markup is not None:
            result["reply_markup"] = message.reply_markup
        if message.reply_to_message_id is not None and not nested:
            replied = self._reply_target(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                result["reply_to_message"] = replied
        return result

    def _send_message(self, params: JSON) -> JSON:
        text = self._check_text(params.get("text"), params.get("parse_mode"))
        return self._message_dict(self._new_sent("sendMessage", params, text=text))

    def _input_file(self, value: Any, folder: str, prefix: str, what: str) -> StoredFile:
        if isinstance(value, Upload):
            file_id = self._new_file_id(prefix)
            return self._store_file(file_id, value.data, folder, value.filename)
        if not value:
            raise _bad(f"there is no {what} in the request")
        value = str(value)
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            return self._store_file(self._new_file_id(prefix), b"", folder, value.rsplit("/", 1)[-1] or None)
        # an unknown file_id: accepted (the bot may use ids from another session)
        return self._store_file(value, _FAKE_JPEG if folder == "photos" else b"", folder, None)

    def _attached(self, params: JSON, name: str) -> Any:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return params.get(value.removeprefix("attach://"))
        return value

    def _send_photo(self, params: JSON) -> JSON:
        caption = self._check_caption(params.get("caption"), params.get("parse_mode"))
        stored = self._input_file(self._attached(params, "photo"), "photos", "AgACAgIAAxkBAAI", "photo")
        self._photo_sizes(stored.file_id, stored.content)
        message = self._new_sent("sendPhoto", params, photo=stored.file_id, caption=caption)
        return self._message_dict(message)

    def _send_document(self, params: JSON) -> JSON:
        caption = self._check_caption(params.get("caption"), params.get("parse_mode"))
        stored = self._input_file(self._attached(params, "document"), "documents", "BQACAgIAAxkBAAI", "document")
        upload = self._attached(params, "document")
        if isinstance(upload, Upload) and upload.content_type:
            stored.mime_type = upload.content_type
        message = self._new_sent(
            "sendDocument", params, document=stored.file_id, file_name=stored.file_name, caption=caption
        )
        return self._message_dict(message)

    def _send_chat_action(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        action = str(params.get("action") or "")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

    # editing

    def _target(self, params: JSON, what: str) -> SentMessage | None:
        """The message to edit, or None for inline messages (which we only acknowledge)."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        try:
            message_id = int(params.get("message_id") or 0)
        except (TypeError, ValueError) as exc:
            raise _bad(f"message to {what} not found") from exc
        message = self._by_id.get((chat_id, message_id))
        if message is None or message.deleted:
            raise _bad(f"message to {what} not found")
        return message

    def _apply_edit(self, message: SentMessage, changes: JSON) -> JSON:
        if all(getattr(message, key) == value for key, value in changes.items()):
            raise _bad(
                "message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            setattr(message, key, value)
        message.edited = True
        message.edited_at = time.monotonic()
        message.edit_date = int(time.time())
        self._record(message.chat_id, "edited", message)
        return self._message_dict(message)

    def _markup_changes(self, params: JSON) -> JSON:
        buttons, markup = self._parse_markup(params.get("reply_markup"))
        return {"buttons": buttons, "reply_markup": markup.get("reply_markup")}

    def _edit_message_text(self, params: JSON) -> JSON | bool:
        parse_mode = params.get("parse_mode")
        text = self._check_text(params.get("text"), parse_mode)
        changes = {"text": text, "parse_mode": parse_mode, **self._markup_changes(params)}
        message = self._target(params, "edit")
        if message is None:
            return True
        if message.text is None:
            raise _bad("there is no text in the message to edit")
        return self._apply_edit(message, changes)

    def _edit_message_caption(self, params: JSON) -> JSON | bool:
        parse_mode = params.get("parse_mode")
        caption = self._check_caption(params.get("caption"), parse_mode)
        changes = {"caption": caption, "parse_mode": parse_mode, **self._markup_changes(params)}
        message = self._target(params, "edit")
        if message is None:
            return True
        if message.text is not None:
            raise _bad("there is no caption in the message to edit")
        return self._apply_edit(message, changes)

    def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        changes = self._markup_changes(params)
        message = self._target(params, "edit")
        if message is None:
            return True
        return self._apply_edit(message, changes)

    def _delete_message(self, params: JSON) -> bool:
        message = self._target(params, "delete")
        if message is not None:
            message.deleted = True
            self._record(message.chat_id, "deleted", message)
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._queries.pop(query_id, None)
        if query is None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        answer = {
            "callback_query_id": query_id,
            "text": params.get("text"),
            "show_alert": bool(params.get("show_alert")),
            "url": params.get("url"),
            "cache_time": params.get("cache_time"),
            "user_id": query["user_id"],
            "chat_id": query["chat_id"],
            "data": query["data"],
        }
        self.callback_answers.append(answer)
        alert = " (alert)" if answer["show_alert"] else ""
        self._log(query["chat_id"], f"bot answered callback{alert}: {answer['text']!r}")
        self._notify()
        return True

    # commands and files

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        return json.dumps([scope, params.get("language_code") or ""], sort_keys=True)

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list):
            raise _bad("commands must be an array")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        return list(self.commands.get(self._commands_key(params), []))

    def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _get_file(self, params: JSON) -> JSON:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return stored.as_file()

    # ---------------------------------------------------------------- control API (standalone mode)

    async def _control_send_text(self, request: web.Request) -> web.Response:
        body = await request.json()
        update_id = await self.send_text(int(body["user_id"]), str(body["text"]))
        return web.json_response({"update_id": update_id})

    async def _control_press(self, request: web.Request) -> web.Response:
        body = await request.json()
        update_id = await self.press_data(int(body["user_id"]), int(body["message_id"]), str(body["data"]))
        return web.json_response({"update_id": update_id})

    async def _control_update(self, request: web.Request) -> web.Response:
        update_id = await self.send_raw_update(await request.json())
        return web.json_response({"update_id": update_id})

    async def _control_messages(self, request: web.Request) -> web.Response:
        chat_id = int(request.match_info["chat_id"])
        rows = [
            {
                "message_id": m.message_id,
                "text": m.text,
                "parse_mode": m.parse_mode,
                "buttons": m.buttons,
                "photo": m.photo,
                "document": m.document,
                "caption": m.caption,
                "edited": m.edited,
                "deleted": m.deleted,
                "sent_at": m.sent_at,
            }
            for m in self.messages(chat_id)
        ]
        return web.json_response(rows)

    async def _control_stats(self, request: web.Request) -> web.Response:
        counts: dict[str, int] = defaultdict(int)
        for method, _ in self.calls:
            counts[method] += 1
        return web.json_response(
            {
                "calls": counts,
                "sent": len(self._all_send_times),
                "sent_per_chat": {str(chat): len(times) for chat, times in self._send_times.items()},
                "max_per_second": self.max_per_second(),
                "pending_updates": len(self._pending),
                "errors": len(self.errors),
            }
        )


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most of ``times`` (sorted) within any ``window`` seconds."""
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _coerce(name: str, value: str) -> Any:
    """Decode one form field the way the Bot API does: JSON unless the parameter is a string."""
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _serve(args: argparse.Namespace) -> None:
    async with FakeTelegram(token=args.token, host=args.host, port=args.port) as fake:
        print(f"base_url={fake.base_url}", flush=True)
        print(f"base_file_url={fake.base_file_url}", flush=True)
        print(f"control={fake.url}/_fake/  (Ctrl-C to stop)", flush=True)
        printed = 0

        def new_calls() -> bool:
            return len(fake.calls) > printed

        while True:
            with contextlib.suppress(AssertionError):
                await fake.wait_until(new_calls, timeout=3600)
            if args.echo:
                for method, params in fake.calls[printed:]:
                    print(f"{method} {params}", flush=True)
            printed = len(fake.calls)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server (tests, benchmarks).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST", help="the bot user's id is taken from it")
    parser.add_argument("--echo", action="store_true", help="print every Bot API call the bot makes")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
