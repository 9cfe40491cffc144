"""A loopback fake of the Zalo Bot Platform API, for tests and benchmarks.

Why it exists: no Zalo Bot SDK with a test double can be installed here, and mocking our own
HTTP calls would only test our assumptions twice. This module runs a small aiohttp server on
127.0.0.1 that answers ``/bot<token>/<method>`` the way the Zalo Bot API is documented to
(https://bot.zaloplatforms.com/docs, as transcribed in ../shared/domain/anchors.md §4), so the
transport's real HTTP code runs: JSON bodies, long polling that returns ONE update or error 408,
webhooks with the ``X-Bot-Api-Secret-Token`` header, the 2,000-character limit, error mapping.
The test plays the citizen through async methods on :class:`FakeZalo`.

Usage in a test::

    async with FakeZalo() as zalo:
        config = {"enabled": True, "token": zalo.token, "base_url": zalo.url}
        ...  # start the transport
        await zalo.send_text("u1", "/start")
        reply = await zalo.next_message("u1")

Standalone (benchmarks, manual runs)::

    python -m tests.fakes.zalo_api --port 9100 [--token 1234567890:TEST] [--echo]

prints the base_url and serves until Ctrl-C; another process plays the users through
``POST /_fake/send_text`` ``{"user_id": "u1", "text": "hi"}``, ``POST /_fake/send_image``
``{"user_id": "u1", "url": "https://...", "caption": "..."}`` and reads the bot's messages
with ``GET /_fake/messages/<chat_id>``.

Behaviour worth knowing:

* Updates wait in one queue. ``getUpdates`` (long poll, ``timeout`` in seconds, a string by
  the docs, default 30) returns the oldest update as its ``result`` and forgets it: Zalo has no
  offset, so an update is consumed when served. With nothing new it answers error 408
  "Request timeout". While a webhook is set ``getUpdates`` is refused (the two are exclusive).
* With a webhook set, queued updates are POSTed to it one at a time, in order, with the
  secret in ``X-Bot-Api-Secret-Token``; ``wrap_webhook=True`` sends them wrapped as
  ``{"ok": true, "result": {...}}`` (some SDKs read that shape). A non-2xx answer or a
  connection error is retried ``webhook_max_attempts`` times, then the update is dropped.
* ``setWebhook`` wants an HTTPS URL (plain http is accepted for loopback hosts, so tests can
  receive) and a ``secret_token`` of 8 to 256 characters.
* ``sendMessage`` answers 400 for an empty text or one over 2,000 characters, for a chat that
  never wrote to the bot, and 400 for a user who blocked it (``block()``; 403 is documented as
  an internal server error).
* ``fail()`` injects errors (any status, optional ``Retry-After``), ``slow()`` delays answers,
  ``drop()`` closes the connection without an answer.
* Errors come with the HTTP status equal to ``error_code``; ``errors_in_body=True`` answers them
  with HTTP 200 instead. Which of the two the real platform does is not documented, so the
  transport is tested against both.

Details not in the public documentation are marked [guess] below: the exact error texts and
codes for a long text, an unknown chat, a blocked user, a bad token and a rate limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = ["MAX_TEXT_LENGTH", "SECRET_HEADER", "FakeZalo", "WebhookDelivery", "ZaloSentMessage"]

JSON = dict[str, Any]
T = TypeVar("T")

MAX_TEXT_LENGTH = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CHAT_ACTIONS = frozenset({"typing", "upload_photo"})

_DEFAULT_DESCRIPTIONS = {  # [guess] wording; only 408 "Request timeout" is seen in public client code
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request timeout",
    409: "Conflict: webhook is active, use deleteWebhook before getUpdates",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ZaloApiError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, ...}``."""

    def __init__(self, code: int, description: str | None = None, retry_after: float | None = None) -> None:
        description = description or _DEFAULT_DESCRIPTIONS.get(code, "Error")
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        return {"ok": False, "error_code": self.code, "description": self.description}


def _bad(detail: str) -> ZaloApiError:
    return ZaloApiError(400, f"Bad Request: {detail}")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _zalo_id() -> str:
    """Zalo ids are opaque hex strings ("e4ea2cd5189df1c3a88c")."""
    return secrets.token_hex(10)


# --------------------------------------------------------------------------------------------
# Records kept for the tests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZaloSentMessage:
    """A message the bot sent, as the user sees it."""

    chat_id: str
    message_id: str
    method: str  # sendMessage | sendPhoto | sendSticker
    text: str | None = None
    photo: str | None = None
    caption: str | None = None
    sticker: str | None = None
    date: int = 0  # milliseconds, as the API answers
    sent_at: float = 0.0  # time.monotonic() when the fake accepted it

    @property
    def body(self) -> str:
        """What the user reads: the text, or the photo's caption."""
        return self.text if self.text is not None else (self.caption or "")

    def describe(self) -> str:
        parts = [self.message_id[:6]]
        if self.photo:
            parts.append(f"[photo {self.photo}]")
        if self.sticker:
            parts.append(f"[sticker {self.sticker}]")
        if self.body:
            parts.append(repr(self.body))
        return " ".join(parts)


@dataclass(frozen=True)
class WebhookDelivery:
    message_id: str
    status: int | None  # HTTP status the bot answered, None when the connection failed
    error: str | None
    at: float


@dataclass
class _Fault:
    method: str
    status: int | None  # None: answer normally after ``delay`` (or drop the connection)
    remaining: int
    description: str | None
    chat_id: str | None
    retry_after: float | None
    delay: float = 0.0
    drop: bool = False


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeZalo:
    """A fake Zalo Bot API server on loopback plus the user-side controls tests drive it with."""

    def __init__(
        self,
        token: str = "1459232241454765289:fake-zalo-access-token",  # noqa: S107 - a fake token
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        errors_in_body: bool = False,
        wrap_webhook: bool = False,
        webhook_retry_delay: float = 0.05,
        webhook_max_attempts: int = 3,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.errors_in_body = errors_in_body
        self.wrap_webhook = wrap_webhook
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_timeout = webhook_timeout
        self.bot_info: JSON = {
            "id": token.split(":", 1)[0],
            "account_name": "bot.TiepDan",
            "account_type": "BASIC",
            "can_join_groups": False,
        }

        # what the bot did: every call with its decoded body, failed ones included
        self.calls: list[tuple[str, JSON]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, error_code, description) of every non-ok answer
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.updates: list[JSON] = []  # every update ever queued, in order
        self.served: list[JSON] = []  # updates handed out by getUpdates or acknowledged by the webhook

        self._pending: list[JSON] = []
        self._users: dict[str, JSON] = {}
        self._blocked: set[str] = set()
        self._chats: dict[str, list[ZaloSentMessage]] = defaultdict(list)
        self._cursor: dict[str, int] = defaultdict(int)
        self._transcripts: dict[str, list[str]] = defaultdict(list)
        self._faults: list[_Fault] = []
        self._webhook: JSON | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._closing = False
        self._counter = itertools.count(1)

        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendsticker": self._send_sticker,
            "sendchataction": self._send_chat_action,
        }

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """The ``base_url`` for the transport: methods live at ``{url}/bot{token}/{method}``."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_post("/_fake/send_text", self._control_send_text)
        app.router.add_post("/_fake/send_image", self._control_send_image)
        app.router.add_get("/_fake/messages/{chat_id}", self._control_messages)
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

    async def __aenter__(self) -> FakeZalo:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- fault injection

    def fail(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        *,
        description: str | None = None,
        chat_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally to one chat) answer an error."""
        self._faults.append(_Fault(method.lower(), status, times, description, chat_id, retry_after))

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the answer of the next ``times`` calls of ``method``."""
        self._faults.append(_Fault(method.lower(), None, times, None, None, None, delay=seconds))

    def drop(self, method: str, times: int = 1) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without answering."""
        self._faults.append(_Fault(method.lower(), None, times, None, None, None, drop=True))

    def clear_faults(self) -> None:
        self._faults.clear()

    def block(self, user_id: str) -> None:
        """The user blocks the bot: sending to them fails with 400 [guess]."""
        self._blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        self._blocked.discard(user_id)

    # ---------------------------------------------------------------- user side

    async def send_text(self, user_id: str, text: str, *, display_name: str = "Dân Zalo") -> str:
        """The user types ``text``; returns the message_id."""
        return await self._user_message(user_id, "message.text.received", {"text": text}, text, display_name)

    async def send_image(
        self, user_id: str, url: str, caption: str | None = None, *, display_name: str = "Dân Zalo"
    ) -> str:
        payload: JSON = {"photo_url": url}
        if caption is not None:
            payload["caption"] = caption
        summary = f"[image {url}] {caption or ''}".strip()
        return await self._user_message(user_id, "message.image.received", payload, summary, display_name)

    async def send_sticker(self, user_id: str, sticker: str = "0e078a2fb66a5f34067b") -> str:
        payload: JSON = {"sticker": sticker, "url": f"https://zalo-api.zadn.vn/api/emoticon/sticker/{sticker}"}
        return await self._user_message(user_id, "message.sticker.received", payload, f"[sticker {sticker}]")

    async def send_unsupported(self, user_id: str) -> str:
        """Something the Bot API does not pass on (a voice note, a file, a location...)."""
        return await self._user_message(user_id, "message.unsupported.received", {}, "[unsupported]")

    async def send_group_text(self, group_id: str, user_id: str, text: str) -> str:
        """A message in a group chat (bots are documented as private-chat only)."""
        message_id = _zalo_id()
        message: JSON = {
            "message_id": message_id,
            "from": self._user(user_id),
            "chat": {"id": group_id, "chat_type": "GROUP"},
            "date": _now_ms(),
            "text": text,
        }
        self._log(group_id, f"user {user_id} in group: {text!r}")
        await self.send_raw_update({"event_name": "message.text.received", "message": message})
        return message_id

    async def send_raw_update(self, update: JSON) -> None:
        """Queue any update as is (for shapes the helpers do not produce); its sender becomes known."""
        message = update.get("message")
        sender = message.get("from") if isinstance(message, dict) else None
        if isinstance(sender, dict) and isinstance(sender.get("id"), str) and not sender.get("is_bot"):
            self._users.setdefault(sender["id"], {"id": sender["id"], "display_name": "Dân Zalo"})
        self._pending.append(update)
        self.updates.append(update)
        self._notify()
        await asyncio.sleep(0)

    # ---------------------------------------------------------------- what the user sees

    def messages(self, chat_id: str) -> list[ZaloSentMessage]:
        """All bot messages to ``chat_id``, in order."""
        return list(self._chats.get(chat_id, []))

    def transcript(self, chat_id: str) -> str:
        lines = self._transcripts.get(chat_id) or ["(nothing)"]
        return f"transcript of zalo chat {chat_id}:\n" + "\n".join(f"  {line}" for line in lines)

    async def next_message(self, chat_id: str, timeout: float = 5.0) -> ZaloSentMessage:
        """The next bot message to ``chat_id`` that this method has not returned yet."""

        def find() -> ZaloSentMessage | None:
            sent = self._chats.get(chat_id, [])
            if self._cursor[chat_id] < len(sent):
                self._cursor[chat_id] += 1
                return sent[self._cursor[chat_id] - 1]
            return None

        found = await self._wait(find, timeout)
        if found is None:
            raise AssertionError(f"no new bot message to {chat_id} within {timeout}s\n{self.transcript(chat_id)}")
        return found

    async def next_containing(self, chat_id: str, fragment: str, timeout: float = 5.0) -> ZaloSentMessage:
        """Skip bot messages until one whose text contains ``fragment``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = await self.next_message(chat_id, timeout=max(0.0, remaining))
            except AssertionError:
                raise AssertionError(
                    f"no bot message to {chat_id} containing {fragment!r} within {timeout}s\n"
                    + self.transcript(chat_id)
                ) from None
            if fragment in message.body:
                return message

    async def wait_until(self, predicate: Callable[[], bool], *, timeout: float = 5.0, what: str = "") -> None:
        """Wait until ``predicate()`` holds; it is re-checked whenever the fake's state changes."""
        if await self._wait(lambda: True if predicate() else None, timeout) is None:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r}")

    @property
    def webhook(self) -> JSON | None:
        return dict(self._webhook) if self._webhook is not None else None

    @property
    def pending_updates(self) -> list[JSON]:
        return list(self._pending)

    def calls_of(self, method: str) -> list[JSON]:
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def errors_of(self, method: str) -> list[tuple[int, str]]:
        return [(code, text) for name, code, text in self.errors if name.lower() == method.lower()]

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

    def _log(self, chat_id: str, line: str) -> None:
        self._transcripts[chat_id].append(line)

    def _user(self, user_id: str, display_name: str | None = None) -> JSON:
        user = self._users.setdefault(user_id, {"id": user_id, "display_name": display_name or "Dân Zalo"})
        if display_name is not None:
            user["display_name"] = display_name
        return {**user, "is_bot": False}

    async def _user_message(
        self, user_id: str, event_name: str, payload: JSON, summary: str, display_name: str | None = None
    ) -> str:
        message_id = _zalo_id()
        message: JSON = {
            "message_id": message_id,
            "from": self._user(user_id, display_name),
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            "date": _now_ms(),
            **payload,
        }
        self._log(user_id, f"user: {summary}")
        await self.send_raw_update({"event_name": event_name, "message": message})
        return message_id

    # ---------------------------------------------------------------- internals: HTTP

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"]
        params: JSON = {}
        if request.body_exists:
            try:
                body = await request.json()
            except ValueError:
                return self._error(method, _bad("request body is not valid JSON"))
            if not isinstance(body, dict):
                return self._error(method, _bad("request body must be a JSON object"))
            params = body
        self.calls.append((method, params))
        self._notify()
        if token != self.token:
            return self._error(method, ZaloApiError(401))  # [guess] code and text
        handler = self._methods.get(method.lower())
        if handler is None:
            return self._error(method, ZaloApiError(404, "Not Found: method not found"))
        try:
            if await self._apply_faults(request, method, params):
                return web.Response(status=500)  # the connection is already closed
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ZaloApiError as error:
            return self._error(method, error)
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, error: ZaloApiError) -> web.Response:
        self.errors.append((method, error.code, error.description))
        self._notify()
        headers = {"Retry-After": f"{error.retry_after:g}"} if error.retry_after is not None else None
        status = 200 if self.errors_in_body else error.code
        return web.json_response(error.body(), status=status, headers=headers)

    async def _apply_faults(self, request: web.Request, method: str, params: JSON) -> bool:
        """Apply the first matching fault; True when the connection was dropped."""
        for fault in list(self._faults):
            if fault.method != method.lower() or fault.remaining <= 0:
                continue
            if fault.chat_id is not None and str(params.get("chat_id")) != fault.chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            if fault.drop:
                if request.transport is not None:
                    request.transport.abort()
                return True
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                raise ZaloApiError(fault.status, fault.description, fault.retry_after)
            return False
        return False

    # ---------------------------------------------------------------- Bot API methods

    def _get_me(self, params: JSON) -> JSON:
        return dict(self.bot_info)

    async def _get_updates(self, params: JSON) -> JSON:
        if self._webhook is not None:
            raise ZaloApiError(409)  # [guess] code and text; exclusivity itself is documented
        try:
            timeout = float(params.get("timeout", 30))
        except (TypeError, ValueError) as exc:
            raise _bad("timeout must be a number of seconds") from exc
        if await self._wait(lambda: True if self._pending or self._closing else None, timeout) and self._pending:
            update = self._pending.pop(0)
            self.served.append(update)
            self._notify()
            return update
        raise ZaloApiError(408)

    @staticmethod
    def _check_webhook_url(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
            return  # the fake lets tests receive on loopback; the real platform wants HTTPS
        raise _bad("url must be an HTTPS URL")

    def _set_webhook(self, params: JSON) -> JSON:
        url = str(params.get("url") or "")
        self._check_webhook_url(url)
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _bad("secret_token must be 8 to 256 characters")
        self._webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="fake-zalo-webhook")
        self._notify()
        return {"url": url, "updated_at": self._webhook["updated_at"]}

    def _delete_webhook(self, params: JSON) -> JSON:
        self._webhook = None
        self._notify()
        return {"url": "", "updated_at": _now_ms()}

    def _get_webhook_info(self, params: JSON) -> JSON:
        hook = self._webhook or {}
        return {"url": hook.get("url", ""), "updated_at": hook.get("updated_at", 0)}

    async def _deliver_webhooks(self) -> None:
        attempts = 0
        while not self._closing and self._webhook is not None:
            if not self._pending:
                await self._wait(
                    lambda: True if self._pending or self._webhook is None or self._closing else None, None
                )
                continue
            hook, update = self._webhook, self._pending[0]
            body = {"ok": True, "result": update} if self.wrap_webhook else update
            headers = {"Content-Type": "application/json", SECRET_HEADER: hook["secret_token"]}
            status: int | None = None
            error: str | None = None
            assert self._session is not None
            try:
                async with self._session.post(hook["url"], data=json.dumps(body), headers=headers) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            message_id = str((update.get("message") or {}).get("message_id", ""))
            self.webhook_deliveries.append(WebhookDelivery(message_id, status, error, time.monotonic()))
            if status is not None and 200 <= status < 300:
                attempts = 0
                self.served.append(update)
                self._pending = [queued for queued in self._pending if queued is not update]
            else:
                attempts += 1
                if attempts >= self.webhook_max_attempts:
                    attempts = 0
                    self._pending = [queued for queued in self._pending if queued is not update]
                else:
                    self._notify()
                    await asyncio.sleep(self.webhook_retry_delay)
            self._notify()

    # sending

    def _chat_id(self, params: JSON) -> str:
        raw = params.get("chat_id")
        if not isinstance(raw, str) or not raw:
            raise _bad("chat_id must be a non-empty string")
        if raw not in self._users:
            raise _bad("chat not found")  # [guess] text; Zalo only lets a bot write to people who wrote to it
        if raw in self._blocked:
            # [guess] code and text: the docs list 403 as an internal server error, so not 403.
            raise ZaloApiError(400, "Bad Request: the user has blocked the bot")
        return raw

    @staticmethod
    def _check_text(value: Any, what: str, *, required: bool) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT_LENGTH:
            raise _bad(f"{what} must be between 1 and {MAX_TEXT_LENGTH} characters")  # [guess] text
        return value

    def _record(self, message: ZaloSentMessage) -> JSON:
        self._chats[message.chat_id].append(message)
        self._log(message.chat_id, f"bot: {message.describe()}")
        self._notify()
        return {"message_id": message.message_id, "date": message.date}

    def _sent(self, method: str, chat_id: str, **fields: Any) -> ZaloSentMessage:
        return ZaloSentMessage(
            chat_id=chat_id,
            message_id=_zalo_id(),
            method=method,
            date=_now_ms(),
            sent_at=time.monotonic(),
            **fields,
        )

    def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        text = self._check_text(params.get("text"), "text", required=True)
        return self._record(self._sent("sendMessage", chat_id, text=text))

    def _send_photo(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or urlsplit(photo).scheme not in ("http", "https"):
            raise _bad("photo must be a URL")
        caption = self._check_text(params.get("caption"), "caption", required=False)
        return self._record(self._sent("sendPhoto", chat_id, photo=photo, caption=caption))

    def _send_sticker(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _bad("sticker is required")
        return self._record(self._sent("sendSticker", chat_id, sticker=sticker))

    def _send_chat_action(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("action must be typing or upload_photo")
        self.chat_actions.append((chat_id, str(action)))
        self._notify()
        return True

    # ---------------------------------------------------------------- control API (standalone mode)

    async def _control_send_text(self, request: web.Request) -> web.Response:
        body = await request.json()
        message_id = await self.send_text(str(body["user_id"]), str(body["text"]))
        return web.json_response({"message_id": message_id})

    async def _control_send_image(self, request: web.Request) -> web.Response:
        body = await request.json()
        caption = body.get("caption")
        message_id = await self.send_image(
            str(body["user_id"]), str(body["url"]), None if caption is None else str(caption)
        )
        return web.json_response({"message_id": message_id})

    async def _control_messages(self, request: web.Request) -> web.Response:
        rows = [dataclasses.asdict(message) for message in self.messages(request.match_info["chat_id"])]
        return web.json_response(rows)


async def _serve(args: argparse.Namespace) -> None:
    async with FakeZalo(token=args.token, host=args.host, port=args.port) as fake:
        print(f"base_url={fake.url}", flush=True)
        print(f"token={fake.token}", flush=True)
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
    parser = argparse.ArgumentParser(description="Fake Zalo Bot API server (tests, benchmarks).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    parser.add_argument("--token", default="1459232241454765289:fake-zalo-access-token")
    parser.add_argument("--echo", action="store_true", help="print every Bot API call the bot makes")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
