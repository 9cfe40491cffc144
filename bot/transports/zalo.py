"""The Zalo transport: the same flows for people who use Zalo rather than Telegram.

In rural Trà Vinh far more citizens use Zalo than Telegram, so everything a
citizen can do on Telegram must work here. The Zalo Bot Platform
(https://bot.zaloplatforms.com) has a Telegram-like HTTP API but no buttons,
string ids, millisecond dates, updates without an ``update_id``, one update per
``getUpdates`` call, and texts of at most 2,000 characters. This module only
bridges those differences:

* inbound: a Zalo update (polled with ``getUpdates`` or pushed to our webhook,
  whose secret header is compared in constant time) becomes an :class:`Inbound`;
  the dedup key the engine needs is built from the message id;
* outbound: an :class:`Outgoing` becomes plain text with its options as numbered
  lines and a hint to type the number, cut into pieces under the length limit,
  or a photo sent by URL;
* delivery for the outbox: Zalo's errors become retryable or permanent
  :class:`DeliveryError`.

The flows never see a Zalo type, and picking an option by number, number word
or label is done by the dialog engine for every channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.app import App
from bot.config import ConfigError, ZaloConfig
from bot.dialog.types import Inbound, Outgoing
from bot.text import plain_text
from bot.transports.base import BodyRefused, DeliveryError, numbered, parse_json_body, split_text

log = logging.getLogger(__name__)

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT_LENGTH = 2000
# Pieces are cut a little below the limit: the documentation says "characters" without
# saying how they are counted, and an emoji is two units where UTF-16 is the measure.
SPLIT_AT = 1900
NOTHING_NEW = 408  # getUpdates: no update within the long-poll timeout
DEFAULT_POLL_TIMEOUT = 30
MAX_UPDATE_KEY = 64  # processed_updates.update_id
WEBHOOK_MAX_BODY = 1024 * 1024

JSON = dict[str, Any]


class ZaloApiError(Exception):
    """The Bot API answered ``ok: false`` (or no usable JSON) for a method."""

    def __init__(self, method: str, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{method}: {code} {description}")
        self.method = method
        self.code = code
        self.description = description
        self.retry_after = retry_after


# ------------------------------------------------------------------ inbound


def unwrap(body: Any) -> JSON | None:
    """The update in a webhook or getUpdates body: bare, or wrapped as ``{ok, result}``."""
    if not isinstance(body, dict):
        return None
    if "message" not in body and isinstance(body.get("result"), dict):
        body = body["result"]
    return body if isinstance(body.get("message"), dict) else None


def update_key(message: JSON) -> str:
    """A stable id for the engine's dedup: Zalo updates have no update_id, messages have ids."""
    message_id = message.get("message_id")
    if isinstance(message_id, (str, int)) and str(message_id):
        key = f"m:{message_id}"
        if len(key) <= MAX_UPDATE_KEY:
            return key
        return "h:" + hashlib.sha256(str(message_id).encode()).hexdigest()[: MAX_UPDATE_KEY - 2]
    # No id at all (not seen in any documented sample): the same body redelivered gives the same key.
    canonical = json.dumps(message, sort_keys=True, ensure_ascii=False)
    return "h:" + hashlib.sha256(canonical.encode()).hexdigest()[: MAX_UPDATE_KEY - 2]


def _table(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _event_of(update: JSON, message: JSON) -> str:
    """The event name; some documented samples omit it, so it is inferred from the content."""
    name = update.get("event_name")
    if isinstance(name, str) and name:
        return name
    if message.get("photo_url") or message.get("photo"):
        return "message.image.received"
    if message.get("voice_url"):
        return "message.voice.received"
    if message.get("sticker"):
        return "message.sticker.received"
    if isinstance(message.get("text"), str):
        return "message.text.received"
    return "message.unsupported.received"


def _name_of(sender: JSON) -> str | None:
    for key in ("display_name", "name", "first_name"):
        value = sender.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def to_inbound(update: JSON) -> Inbound | None:
    """The channel-neutral event for a Zalo update, or None for what we ignore (groups, bots, junk)."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender = _table(message.get("from"))
    chat = _table(message.get("chat"))
    user_id = str(sender.get("id") or "")
    chat_id = str(chat.get("id") or user_id)
    chat_type = str(chat.get("chat_type") or "PRIVATE").upper()
    if not user_id or chat_type != "PRIVATE" or sender.get("is_bot") is True:
        return None
    base: JSON = {
        "channel": CHANNEL,
        "update_id": update_key(message),
        "chat_id": chat_id,
        "user_id": user_id,
        "display_name": _name_of(sender),
    }
    event = _event_of(update, message)
    if event == "message.text.received":
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            return Inbound(**base, kind="other", other="empty")
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
            command, _, args = stripped[1:].partition(" ")
            return Inbound(**base, kind="command", text=stripped, command=command.lower(), args=args.strip())
        return Inbound(**base, kind="text", text=text)
    if event == "message.image.received":
        url = photo_url(message)
        caption = message.get("caption")
        caption = caption if isinstance(caption, str) and caption.strip() else None
        if url:
            return Inbound(**base, kind="photo", attachment=url, text=caption)
        return Inbound(**base, kind="other", other="image")
    if event == "message.voice.received":
        voice = message.get("voice_url")
        if isinstance(voice, str) and voice:
            # Kept on the case like a photo; the officer's card says a voice message needs listening to.
            return Inbound(**base, kind="voice", attachment=voice)
        return Inbound(**base, kind="other", other="voice")
    if event == "message.sticker.received":
        return Inbound(**base, kind="other", other="sticker")
    if event == "message.unsupported.received":
        # Documented as Zalo withholding the content of a protected sender, not as a kind we
        # cannot read: the person is told that, not "I only read text and photos".
        return Inbound(**base, kind="other", other="withheld")
    return Inbound(**base, kind="other", other="unsupported")


def photo_url(message: JSON) -> str | None:
    """The photo's URL: ``photo_url`` (seen in real payloads) or ``photo`` (the documentation), as a
    string, an object with a URL, or a list of those (the largest is last, as on Telegram)."""
    for key in ("photo_url", "photo"):
        value = message.get(key)
        if isinstance(value, list):
            value = next((item for item in reversed(value) if item), None)
        if isinstance(value, dict):
            value = value.get("url") or value.get("photo_url") or value.get("file_url")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# ------------------------------------------------------------------ outbound


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, str]


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def render(message: Outgoing, hint: str, file_note: Callable[[str], str] | None = None) -> list[ApiCall]:
    """The Bot API calls that show ``message``: options as numbered lines, long texts cut.

    A local file (``message.file``, officers' reports) cannot be uploaded: Zalo's sendPhoto
    takes a URL. Its text is still sent, with ``file_note(path)`` saying where the file is.
    """
    text = numbered(message)
    if message.buttons and hint:
        text = f"{text}\n{hint}"
    if message.file and file_note is not None:
        text = f"{text}\n{file_note(message.file)}"
    text = text.strip()
    pieces = split_text(text, SPLIT_AT) if text else []
    calls: list[ApiCall] = []
    if message.photo and is_url(message.photo):
        params = {"chat_id": message.chat_id, "photo": message.photo}
        if pieces:
            params["caption"] = pieces.pop(0)
        calls.append(ApiCall("sendPhoto", params))
    calls.extend(ApiCall("sendMessage", {"chat_id": message.chat_id, "text": piece}) for piece in pieces)
    return calls


# ------------------------------------------------------------------ the HTTP client


class ZaloClient:
    """POST JSON to ``{base_url}/bot{token}/{method}``; the token never reaches a log line."""

    def __init__(self, base_url: str, token: str, *, request_timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    async def call(self, method: str, params: JSON | None = None, *, wait: float | None = None) -> Any:
        """The method's result; ``wait`` overrides the request timeout (long polls)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        url = f"{self.base_url}/bot{self.token}/{method}"
        limit = aiohttp.ClientTimeout(total=wait or self.request_timeout)
        async with self._session.post(url, json=params or {}, timeout=limit) as response:
            raw = await response.read()
            status = response.status
            retry_header = response.headers.get("Retry-After")
        try:
            body = parse_json_body(raw) if raw else None
        except BodyRefused:
            body = None
        if isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        code, description = status, f"HTTP {status}"
        if isinstance(body, dict):
            if isinstance(body.get("error_code"), int):
                code = body["error_code"]
            description = str(body.get("description") or description)[:300]
        elif 200 <= status < 300:
            code = 502  # a 2xx without a usable body: treat as the platform's fault
        raise ZaloApiError(method, code, description, _retry_after(body, retry_header))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retry_after(body: Any, header: str | None) -> float | None:
    if isinstance(body, dict) and isinstance(body.get("parameters"), dict):
        value = body["parameters"].get("retry_after")
        if isinstance(value, (int, float)):
            return float(value)
    if header:
        with contextlib.suppress(ValueError):
            return max(0.0, float(header))
    return None


def _check_config(config: ZaloConfig) -> None:
    if not config.token:
        raise ConfigError("zalo.token: empty (set it in [zalo] or TIEPDAN_ZALO_TOKEN)")
    if config.mode == "webhook":
        if not is_url(config.webhook_url):
            raise ConfigError("zalo.webhook_url: webhook mode needs the public HTTPS URL Zalo posts to")
        if not 8 <= len(config.webhook_secret) <= 256:
            raise ConfigError("zalo.webhook_secret: webhook mode needs a secret of 8 to 256 characters")


# ------------------------------------------------------------------ the transport


class ZaloTransport:
    channel = CHANNEL

    def __init__(
        self,
        app: App,
        on_queued: Callable[[], None] = lambda: None,
        *,
        poll_timeout: int = DEFAULT_POLL_TIMEOUT,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
    ) -> None:
        self.app = app
        self.on_queued = on_queued
        self.config = app.config.zalo
        _check_config(self.config)
        self.client = ZaloClient(self.config.base_url, self.config.token)
        self.poll_timeout = poll_timeout
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        language = app.config.deployment.language
        self.hint = plain_text(app.services.catalog.text(language, "zalo.choose_hint"))
        self.error_text = plain_text(app.services.catalog.text(language, "dialog.error"))
        self._poller: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}  # sends waiting or running per chat, to drop idle locks
        self._senders: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- receiving

    async def process(self, update: JSON) -> None:
        """Run one update through the engine, then send the replies (raises if the engine fails)."""
        inbound = to_inbound(update)
        if inbound is None:
            log.info("ignored a zalo update (%s)", update.get("event_name", "no event name"))
            return
        typing = asyncio.create_task(self._typing(inbound.chat_id), name=f"zalo-typing-{inbound.chat_id}")
        self._senders.add(typing)
        typing.add_done_callback(self._senders.discard)
        try:
            result = await self.app.engine.handle(inbound)
        except Exception:
            log.exception("error while handling a zalo update")
            self._spawn_send(inbound.chat_id, [], error=True)
            raise
        if result.queued:
            self.on_queued()
        if not result.duplicate:
            self._spawn_send(inbound.chat_id, result.messages)

    async def _typing(self, chat_id: str) -> None:
        """Show "typing..." while the turn runs (a courtesy: a failure changes nothing)."""
        with contextlib.suppress(ZaloApiError, aiohttp.ClientError, TimeoutError):
            await self.client.call("sendChatAction", {"chat_id": chat_id, "action": "typing"})

    def _spawn_send(self, chat_id: str, messages: list[Outgoing], *, error: bool = False) -> None:
        """Send in the background, in order per chat: the webhook answers as soon as the engine committed."""
        task = asyncio.create_task(self._send_replies(chat_id, messages, error), name=f"zalo-send-{chat_id}")
        self._senders.add(task)
        task.add_done_callback(self._senders.discard)

    async def _send_replies(self, chat_id: str, messages: list[Outgoing], error: bool) -> None:
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._queued[chat_id] = self._queued.get(chat_id, 0) + 1
        try:
            async with lock:
                if error:
                    await self.client.call("sendMessage", {"chat_id": chat_id, "text": self.error_text})
                for message in messages:
                    await self.send(message)
        except (ZaloApiError, aiohttp.ClientError, TimeoutError) as exc:
            # The step's effects are committed: the person can see the state with /hoso.
            # Logged without the text, which may hold personal data.
            log.warning("could not send a reply on zalo: %s", _describe(exc))
        finally:
            self._queued[chat_id] -= 1
            if not self._queued[chat_id]:
                del self._queued[chat_id]
                self._chat_locks.pop(chat_id, None)

    async def _poll(self) -> None:
        delay = self.retry_delay
        while True:
            try:
                update = await self.client.call(
                    "getUpdates", {"timeout": str(self.poll_timeout)}, wait=self.poll_timeout + 15
                )
            except ZaloApiError as exc:
                if exc.code == NOTHING_NEW:
                    delay = self.retry_delay
                    continue
                log.warning("zalo getUpdates failed: %s %s", exc.code, exc.description)
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else delay)
                delay = min(self.max_retry_delay, delay * 2)
                continue
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("zalo getUpdates failed: %s", _describe(exc))
                await asyncio.sleep(delay)
                delay = min(self.max_retry_delay, delay * 2)
                continue
            delay = self.retry_delay
            found = unwrap(update) if isinstance(update, dict) else None
            if found is None:
                continue
            with contextlib.suppress(Exception):  # logged in process(); the poll loop goes on
                await self.process(found)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            log.warning("zalo webhook call without a secret header refused")
            return web.Response(status=401, text="missing secret")
        if not hmac.compare_digest(given.encode(), self.config.webhook_secret.encode()):
            log.warning("zalo webhook call with a wrong secret refused")
            return web.Response(status=403, text="wrong secret")
        try:
            update = unwrap(parse_json_body(await request.read()))
        except BodyRefused as refused:
            log.warning("zalo webhook body refused: %s", refused)
            return web.Response(status=400, text=str(refused))
        if update is None:
            return web.Response(status=200, text="ignored")
        try:
            await self.process(update)
        except Exception:
            return web.Response(status=500, text="error")
        return web.Response(status=200, text="ok")

    # ---------------------------------------------------------------- sending

    async def send(self, message: Outgoing) -> None:
        for call in render(message, self.hint, self._file_note):
            await self.client.call(call.method, call.params)

    def pieces(self, message: Outgoing) -> int:
        """How many Bot API messages ``message`` becomes (for the outbox's pacing)."""
        return max(1, len(render(message, self.hint, self._file_note)))

    def _file_note(self, path: str) -> str:
        """Where a report file that Zalo cannot carry can be found."""
        language = self.app.config.deployment.language
        return plain_text(
            self.app.services.catalog.text(language, "zalo.file_elsewhere", name=PurePath(path).name, path=path)
        )

    async def deliver(self, message: Outgoing) -> None:
        """Outbox delivery: Zalo's errors as retryable or permanent."""
        try:
            await self.send(message)
        except ZaloApiError as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"network: {_describe(exc)}") from exc

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        try:
            me = await self.client.call("getMe")
        except ZaloApiError as exc:
            await self.client.close()
            raise ConfigError(f"zalo.token: the Bot API refused it ({exc.code} {exc.description})") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            await self.client.close()
            raise ConfigError(f"zalo.base_url: cannot reach the Bot API ({_describe(exc)})") from None
        name = me.get("account_name") if isinstance(me, dict) else None
        if self.config.mode == "webhook":
            await self._start_webhook()
            log.info("zalo bot %s receiving on a webhook", name)
        else:
            await self.client.call("deleteWebhook")  # getUpdates is refused while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name="zalo-poll")
            log.info("zalo bot %s polling", name)

    async def _start_webhook(self) -> None:
        path = urlsplit(self.config.webhook_url).path or "/"
        application = web.Application(client_max_size=WEBHOOK_MAX_BODY)
        application.router.add_post(path, self._on_webhook)
        self._runner = web.AppRunner(application, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.webhook_listen, self.config.webhook_port)
        await site.start()
        try:
            await self.client.call(
                "setWebhook", {"url": self.config.webhook_url, "secret_token": self.config.webhook_secret}
            )
        except ZaloApiError as exc:
            await self.stop()
            raise ConfigError(f"zalo.webhook_url: setWebhook refused ({exc.code} {exc.description})") from None

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._senders:
            await asyncio.wait(set(self._senders), timeout=10)
        await self.client.close()


QUOTA_BACKOFF = 3600.0  # seconds: 429 is documented as an exhausted quota, not a burst limit


def delivery_error(exc: ZaloApiError) -> DeliveryError:
    """Zalo's answer as retryable or permanent, by the Bot Platform's documented codes."""
    reason = f"{exc.method}: {exc.code} {exc.description}"
    if exc.code == 429:
        # "Quota exceeded": asking again soon cannot help. The whole channel waits (the outbox
        # pauses it) and tells the administrators on their other channels, once a day.
        log.error("zalo bot quota exhausted (%s): sending paused; raise the quota or wait", reason)
        wait = exc.retry_after if exc.retry_after is not None else QUOTA_BACKOFF
        return DeliveryError(f"quota exceeded: {reason}", retry_after=wait, quota=True)
    # 401: our token, not the recipient; 403 is documented as an internal server error.
    permanent = 400 <= exc.code < 500 and exc.code not in (401, 403, 408)
    return DeliveryError(reason, permanent=permanent)


async def webhook_info(config: ZaloConfig, *, request_timeout: float = 10.0) -> JSON:
    """``getWebhookInfo``: the URL Zalo posts to (``health`` compares it with the configured one)."""
    client = ZaloClient(config.base_url, config.token, request_timeout=request_timeout)
    try:
        info = await client.call("getWebhookInfo")
    finally:
        await client.close()
    return info if isinstance(info, dict) else {}


def _describe(exc: BaseException) -> str:
    """An error without URLs (they hold the token)."""
    if isinstance(exc, ZaloApiError):
        return f"{exc.method}: {exc.code} {exc.description}"
    return type(exc).__name__
