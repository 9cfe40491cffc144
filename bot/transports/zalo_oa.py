"""The Zalo Official Account transport: the channel Vietnamese state units talk to citizens on.

A commune's verified OA (OA API v3, OAuth v4) differs from the Zalo Bot Platform
(``zalo.py``) in everything but the flows, and this module bridges only that:

* inbound: Zalo POSTs events to our webhook. The ``X-ZEvent-Signature`` header is
  ``mac=`` + hex SHA-256 of app_id + the raw body + the body's ``timestamp`` + the OA secret
  key (a plain hash, not an HMAC); it is checked in constant time before the body is parsed
  or anything stored (401 without it, 403 when wrong). Each event becomes an :class:`Inbound`
  whose update id is the message id, so a redelivered or replayed event is a no-op; the answer
  is 200 only after the engine committed (500 on failure, so that Zalo delivers it again).
  Text, image, file, location and audio (kept as case attachments; a voice message is flagged
  on the officer's case card), sticker/gif (a polite answer), follow (the greeting), unfollow
  (nothing is sent to the person until they come back: the outbox holds it);
* outbound: ``POST {api_base}/v3.0/oa/message/cs``: text cut at 2,000 characters, images and
  files (uploaded first), and up to five options as query buttons whose payload is ``#`` and
  the option's opaque token (a tap comes back as a text event carrying the payload); more
  options become numbered lines, as on the Zalo Bot Platform. Errors come with HTTP 200 and a
  non-zero ``error``;
* tokens: :mod:`bot.transports.zalo_oa_tokens` (refreshed ahead of expiry and once on -216 or
  -220, then the call is retried once);
* the reply window: the OA may answer a person only within 7 days of their last message
  (free for 48 hours, billed after; error -230 beyond). The transport declares
  :attr:`ZaloOaTransport.reply_window`; the engine records each person's last message and the
  outbox holds what falls outside it, released when the person writes again; with
  ``zns_template_id`` set, a citizen's notice about their case goes instead as a ZNS template
  (``POST {zns_base}/message/template``) to the phone number they gave for the case;
* an exhausted quota (-211; ZNS -144, -115) is reported as such, and the outbox tells the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import mimetypes
import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot import crashpoints
from bot.app import App
from bot.config import ConfigError, ZaloOaConfig
from bot.dialog.types import Inbound, Outgoing
from bot.text import plain_text
from bot.transports.base import DeliveryError, TemplateNotice, numbered, split_text
from bot.transports.zalo_oa_tokens import OAuthClient, TokenBusy, TokenKeeper, TokenUnavailable

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_TEXT_LENGTH = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100  # one community type definition; the official appendix was not readable
CHOICE_PREFIX = "#"  # a query button's payload: "#" + the option token (the webhook's "#" syntax filter works)
WEBHOOK_MAX_BODY = 1024 * 1024
MAX_UPDATE_KEY = 64
REFRESH_CHECK_SECONDS = 600.0
TOKEN_PAUSE = 1800.0  # seconds the channel waits when no token is usable (an administrator must act)

INVALID_TOKEN, EXPIRED_TOKEN = -216, -220
TOKEN_ERRORS = frozenset({INVALID_TOKEN, EXPIRED_TOKEN})
# Outside the window (-230, -232), or not following the OA (-213): only the person can reopen it.
WINDOW_CLOSED = frozenset({-230, -232, -213})
RATE_LIMITED = -32
OUT_OF_QUOTA = -211  # the OA's quota for the feature is used up: a long pause, the admins are told
QUOTA_BACKOFF = 3600.0
# ZNS (business.openapi.zalo.me) has its own codes: -124 is its invalid token, -115 an empty
# balance or quota, -144 the OA's daily limit.
ZNS_TOKEN_ERRORS = frozenset({-124, *TOKEN_ERRORS})
ZNS_QUOTA = frozenset({-115, -144})
RETRYABLE = frozenset({-200, -100})  # generic send failure; an uploaded asset expired (uploaded again)

_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')
# A tap's payload: "#" and an option token (bot.dialog.choices.new_token: URL-safe, at most 24
# characters), so that a hashtag typed by a person ("#khẩn") stays text.
_TAP = re.compile(r"#([A-Za-z0-9_-]{8,24})")

JSON = dict[str, Any]


class OaApiError(Exception):
    """The OA API answered an error: a negative ``error`` (HTTP 200) or an HTTP error status."""

    def __init__(self, path: str, code: int, message: str) -> None:
        super().__init__(f"{path}: {code} {message}")
        self.path = path
        self.code = code
        self.message = message


# ------------------------------------------------------------------ the signature


def signed_timestamp(raw: bytes, header: str | None, app_id: str, secret: str) -> str | None:
    """The body's timestamp when ``header`` is its valid signature, else None.

    The timestamp is read from the raw bytes without parsing the body; the comparison takes
    the same time whatever the header says. ``mac=`` may be absent (some clients strip it).
    """
    if not header or not secret:
        return None
    found = _TIMESTAMP.search(raw)
    stamp = found.group(1).decode() if found else ""
    expected = hashlib.sha256(app_id.encode() + raw + stamp.encode() + secret.encode()).hexdigest()
    given = header.strip()
    given = given[4:] if given.lower().startswith("mac=") else given
    if hmac.compare_digest(given.lower().encode(), expected.encode()) and found:
        return stamp
    return None


def signature(raw: bytes, app_id: str, secret: str) -> str:
    """The header value Zalo sends for ``raw`` (used by the tests' fake)."""
    found = _TIMESTAMP.search(raw)
    stamp = found.group(1) if found else b""
    return "mac=" + hashlib.sha256(app_id.encode() + raw + stamp + secret.encode()).hexdigest()


# ------------------------------------------------------------------ inbound


def _table(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def update_key(event: JSON, user_id: str) -> str:
    """The engine's dedup key: the message id, or for follow/unfollow the event itself."""
    message_id = _table(event.get("message")).get("msg_id")
    if isinstance(message_id, (str, int)) and str(message_id):
        key = f"m:{message_id}"
        if len(key) <= MAX_UPDATE_KEY:
            return key
        return "h:" + hashlib.sha256(str(message_id).encode()).hexdigest()[: MAX_UPDATE_KEY - 2]
    basis = f"{event.get('event_name')}|{user_id}|{event.get('timestamp')}"
    return "e:" + hashlib.sha256(basis.encode()).hexdigest()[: MAX_UPDATE_KEY - 2]


def _first_attachment(message: JSON) -> tuple[str, JSON]:
    attachments = message.get("attachments")
    if isinstance(attachments, list) and attachments and isinstance(attachments[0], dict):
        return str(attachments[0].get("type") or ""), _table(attachments[0].get("payload"))
    return "", {}


def _coordinate(value: Any) -> float | None:
    try:
        return float(value)  # Zalo sends them as strings
    except (TypeError, ValueError):
        return None


def to_inbound(event: JSON) -> Inbound | None:
    """The channel-neutral event for an OA webhook event; None for what needs no answer."""
    name = str(event.get("event_name") or "")
    if name in ("follow", "unfollow"):
        user_id = str(_table(event.get("follower")).get("id") or "")
    elif name.startswith("user_send_"):
        user_id = str(_table(event.get("sender")).get("id") or "")
    else:
        return None  # oa_send_* echoes, user_received_message, user_seen_message, unknown events
    if not user_id:
        return None
    base: JSON = {"channel": CHANNEL, "update_id": update_key(event, user_id), "chat_id": user_id, "user_id": user_id}
    if name == "follow":
        return Inbound(**base, kind="command", text="/start", command="start")
    if name == "unfollow":
        return Inbound(**base, kind="other", other="unfollow")
    message = _table(event.get("message"))
    text = _text(message.get("text"))
    kind, payload = _first_attachment(message)
    url = _text(payload.get("url"))
    if name == "user_send_text":
        if text is None:
            return Inbound(**base, kind="other", other="empty")
        stripped = text.strip()
        tap = _TAP.fullmatch(stripped)
        if tap is not None:
            return Inbound(**base, kind="choice", token=tap.group(1))
        if stripped.startswith("/") and len(stripped) > 1 and not stripped[1].isspace():
            command, _, args = stripped[1:].partition(" ")
            return Inbound(**base, kind="command", text=stripped, command=command.lower(), args=args.strip())
        return Inbound(**base, kind="text", text=text)
    if name == "user_send_image" and (url or _text(payload.get("thumbnail"))):
        return Inbound(**base, kind="photo", attachment=url or payload["thumbnail"], text=text)
    if name == "user_send_file" and url:
        return Inbound(**base, kind="file", attachment=url, text=_text(payload.get("name")))
    if name == "user_send_audio" and url:
        return Inbound(**base, kind="voice", attachment=url)
    if name == "user_send_location":
        coordinates = _table(payload.get("coordinates"))
        lat, lon = _coordinate(coordinates.get("latitude")), _coordinate(coordinates.get("longitude"))
        if lat is not None and lon is not None:
            return Inbound(**base, kind="location", location=(lat, lon), text=text)
    if name in ("user_send_sticker", "user_send_gif"):
        return Inbound(**base, kind="other", other="sticker")
    return Inbound(**base, kind="other", other=kind or name.removeprefix("user_send_") or "unsupported")


# ------------------------------------------------------------------ outbound


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _recipient(chat_id: str) -> JSON:
    return {"user_id": chat_id}


def _button(label: str, token: str) -> JSON:
    title = plain_text(label).strip()[:MAX_BUTTON_TITLE] or "•"
    return {"title": title, "type": "oa.query.hide", "payload": CHOICE_PREFIX + token}


def render(message: Outgoing, hint: str, media: JSON | None = None) -> list[JSON]:
    """The ``message/cs`` bodies that show ``message``, in order.

    ``media`` is the attachment of an uploaded image or file. Up to five options are buttons
    on the last piece of text; more are numbered lines with the hint to type the number.
    """
    buttons = message.flat_buttons
    as_buttons = 0 < len(buttons) <= MAX_BUTTONS
    text = plain_text(message.text) if as_buttons or not buttons else numbered(message)
    if buttons and not as_buttons and hint:
        text = f"{text}\n{hint}"
    # Counted in code points: Vietnamese typed decomposed (NFD) is up to a quarter longer.
    pieces = split_text(unicodedata.normalize("NFC", text.strip()), MAX_TEXT_LENGTH) if text.strip() else []
    bodies: list[JSON] = []
    if media is None and message.photo and is_url(message.photo):
        media = {"type": "template", "payload": {"template_type": "media", "elements": [_image(url=message.photo)]}}
    if media is not None:
        bodies.append({"recipient": _recipient(message.chat_id), "message": {"attachment": media}})
    if as_buttons and not pieces:
        pieces = ["👇"]
    for index, piece in enumerate(pieces):
        if as_buttons and index == len(pieces) - 1:
            payload: JSON = {
                "template_type": "button",
                "text": piece,
                "buttons": [_button(b.label, b.token) for b in buttons],
            }
            body: JSON = {"attachment": {"type": "template", "payload": payload}}
        else:
            body = {"text": piece}
        bodies.append({"recipient": _recipient(message.chat_id), "message": body})
    return bodies


def _image(**source: str) -> JSON:
    return {"media_type": "image", **source}


# ------------------------------------------------------------------ the API client


class OaApi:
    """Calls to the OA API with the current access token; one refresh and retry on -216/-220."""

    def __init__(
        self,
        base: str,
        keeper: TokenKeeper,
        session: Callable[[], aiohttp.ClientSession],
        token_errors: frozenset[int] = TOKEN_ERRORS,
    ):
        self.base = base.rstrip("/")
        self.keeper = keeper
        self.session = session
        self.token_errors = token_errors

    async def post_json(self, path: str, body: JSON) -> JSON:
        return await self._call(path, lambda: {"json": body})

    async def upload(self, path: str, file: Path) -> JSON:
        content = await asyncio.to_thread(file.read_bytes)
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"

        def form() -> dict[str, Any]:
            data = aiohttp.FormData()
            data.add_field("file", content, filename=file.name, content_type=kind)
            return {"data": data}

        return await self._call(path, form)

    async def _call(self, path: str, arguments: Callable[[], dict[str, Any]]) -> JSON:
        token = await self.keeper.access_token()
        body = await self._request(path, token, arguments())
        if body.get("error") in self.token_errors:
            token = await self.keeper.refresh(stale=token)
            body = await self._request(path, token, arguments())
        code = body.get("error", 0)
        if code != 0:
            raise OaApiError(path, int(code) if isinstance(code, int) else -1, str(body.get("message", ""))[:300])
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    async def _request(self, path: str, token: str, arguments: dict[str, Any]) -> JSON:
        timeout = aiohttp.ClientTimeout(total=30)
        async with self.session().post(
            self.base + path, headers={"access_token": token}, timeout=timeout, **arguments
        ) as response:
            status = response.status
            raw = await response.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if isinstance(body, dict) and "error" in body:
            return body
        # No usable envelope: the status is the error (positive, so it never reads as Zalo's).
        return {"error": status if status >= 400 else 502, "message": f"HTTP {status}"}


# ------------------------------------------------------------------ the transport


def _check_config(config: ZaloOaConfig) -> None:
    for key in ("app_id", "app_secret", "oa_secret_key"):
        if not getattr(config, key):
            raise ConfigError(f"zalo_oa.{key}: empty (see docs/zalo-oa.md)")


class ZaloOaTransport:
    channel = CHANNEL

    def __init__(
        self,
        app: App,
        on_queued: Callable[[], None] = lambda: None,
        *,
        refresh_check_seconds: float = REFRESH_CHECK_SECONDS,
    ) -> None:
        self.app = app
        self.on_queued = on_queued
        self.config = app.config.zalo_oa
        _check_config(self.config)
        # The channel declares its reply window: the engine then records each person's last
        # message here, and the outbox holds what would fall outside it.
        self.reply_window = timedelta(hours=self.config.reply_window_hours)
        app.services.reply_windows[CHANNEL] = self.reply_window
        self._session: aiohttp.ClientSession | None = None
        self.tokens = TokenKeeper(app.db, self.config, app.services.clock, OAuthClient(self.config, self.session))
        self.api = OaApi(self.config.api_base, self.tokens, self.session)
        # Outside the window, a notice about a case may go as a ZNS template to the phone number
        # the person gave (the outbox decides; see send_template_notice). Same OA token.
        self.zns = OaApi(self.config.zns_base, self.tokens, self.session, ZNS_TOKEN_ERRORS)
        self.send_template_notice: Callable[[TemplateNotice], Awaitable[str]] | None = None
        if self.config.zns_template_id:
            self.send_template_notice = self._send_zns
            app.services.template_notices.add(CHANNEL)
        self.refresh_check_seconds = refresh_check_seconds
        language = app.config.deployment.language
        self.hint = plain_text(app.services.catalog.text(language, "zalo.choose_hint"))
        self.error_text = plain_text(app.services.catalog.text(language, "dialog.error"))
        self._runner: web.AppRunner | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._queued: dict[str, int] = {}
        self._senders: set[asyncio.Task[None]] = set()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    # ---------------------------------------------------------------- receiving

    async def _on_webhook(self, request: web.Request) -> web.Response:
        header = request.headers.get(SIGNATURE_HEADER)
        if header is None:
            log.warning("zalo oa webhook call without a signature refused")
            return web.Response(status=401, text="missing signature")
        raw = await request.read()
        stamp = signed_timestamp(raw, header, self.config.app_id, self.config.oa_secret_key)
        if stamp is None:
            log.warning("zalo oa webhook call with a wrong signature refused")
            return web.Response(status=403, text="wrong signature")
        try:
            event = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(event, dict) or str(event.get("timestamp")) != stamp:
            # Signed, but the timestamp we hashed is not the event's (a duplicated key): refused.
            return web.Response(status=403, text="inconsistent timestamp")
        inbound = to_inbound(event)
        if inbound is None:
            return web.Response(status=200, text="ignored")
        try:
            await self.process(inbound)
        except Exception:
            return web.Response(status=500, text="error")
        return web.Response(status=200, text="ok")

    async def process(self, inbound: Inbound) -> None:
        """Run one event through the engine (or record an unfollow), then send the replies."""
        crashpoints.reached("zalo_oa.received", inbound.update_id)
        if inbound.kind == "other" and inbound.other == "unfollow":
            await self._unfollowed(inbound)
            return
        try:
            result = await self.app.engine.handle(inbound)
        except Exception:
            log.exception("error while handling a zalo oa event")
            self._spawn_send(inbound.chat_id, [], error=True)
            raise
        crashpoints.reached("zalo_oa.committed", inbound.update_id)
        if result.queued:
            self.on_queued()
        if not result.duplicate:
            self._spawn_send(inbound.chat_id, result.messages)

    async def _unfollowed(self, inbound: Inbound) -> None:
        """Stop sending to the person (the outbox holds their notices) until they follow or write."""
        async with self.app.db.unit_of_work() as uow:
            if await uow.updates.claim(CHANNEL, inbound.update_id):
                await uow.presence.unfollowed(CHANNEL, inbound.chat_id, self.app.services.clock())

    def _spawn_send(self, chat_id: str, messages: list[Outgoing], *, error: bool = False) -> None:
        """Send in the background, in order per chat: the webhook answers as soon as the engine committed
        (Zalo wants its answer within 2 seconds)."""
        task = asyncio.create_task(self._send_replies(chat_id, messages, error), name=f"zalo-oa-send-{chat_id}")
        self._senders.add(task)
        task.add_done_callback(self._senders.discard)

    async def _send_replies(self, chat_id: str, messages: list[Outgoing], error: bool) -> None:
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._queued[chat_id] = self._queued.get(chat_id, 0) + 1
        try:
            async with lock:
                if error:
                    await self.send(Outgoing(CHANNEL, chat_id, self.error_text))
                for message in messages:
                    await self.send(message)
        except (OaApiError, TokenUnavailable, TokenBusy, aiohttp.ClientError, TimeoutError, OSError) as exc:
            # The step's effects are committed: the person can see the state in "my cases".
            log.warning("could not send a reply on the zalo oa: %s", exc)
        finally:
            self._queued[chat_id] -= 1
            if not self._queued[chat_id]:
                del self._queued[chat_id]
                self._chat_locks.pop(chat_id, None)

    # ---------------------------------------------------------------- sending

    async def send(self, message: Outgoing) -> None:
        media = await self._upload(message) if message.file else None
        for body in render(message, self.hint, media):
            await self.api.post_json("/v3.0/oa/message/cs", body)

    async def _upload(self, message: Outgoing) -> JSON:
        """A local file (reports for staff on the OA): uploaded, then sent by its id or token."""
        assert message.file is not None
        path = Path(message.file)
        if message.file_kind == "photo":
            data = await self.api.upload("/v2.0/oa/upload/image", path)
            element = _image(attachment_id=str(data.get("attachment_id", "")))
            return {"type": "template", "payload": {"template_type": "media", "elements": [element]}}
        data = await self.api.upload("/v2.0/oa/upload/file", path)
        return {"type": "file", "payload": {"token": str(data.get("token", ""))}}

    def pieces(self, message: Outgoing) -> int:
        """How many API messages ``message`` becomes (the outbox paces by it)."""
        media = {"type": "file"} if message.file else None
        return max(1, len(render(message, self.hint, media)))

    async def deliver(self, message: Outgoing) -> None:
        """Outbox delivery: the OA's errors as retryable, permanent, or held for the window."""
        try:
            await self.send(message)
        except OaApiError as exc:
            raise _delivery_error(exc) from exc
        except TokenUnavailable as exc:
            raise DeliveryError(f"no usable token: {exc}", retry_after=TOKEN_PAUSE) from exc
        except TokenBusy as exc:
            raise DeliveryError(f"token refresh under way: {exc}", retry_after=5.0) from exc
        except FileNotFoundError as exc:
            raise DeliveryError(f"file missing: {exc.filename}", permanent=True) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"network: {type(exc).__name__}") from exc

    async def _send_zns(self, notice: TemplateNotice) -> str:
        """``POST {zns_base}/message/template``: the case's code, status and unit, to the phone.

        Returns Zalo's ``msg_id``; raises :class:`DeliveryError` (``quota`` when the daily
        limit or the balance is used up), and the outbox holds the message then.
        """
        facts = {"case_code": notice.case_code, "status": notice.status, "unit": notice.unit}
        data = {name: facts[fact] for fact, name in self.config.zns_params.items() if name}
        body = {
            "phone": notice.phone,
            "template_id": self.config.zns_template_id,
            "template_data": data,
            "tracking_id": notice.tracking_id,
        }
        try:
            answer = await self.zns.post_json("/message/template", body)
        except OaApiError as exc:
            reason = f"zns {exc.code} {exc.message}"
            raise DeliveryError(reason, quota=exc.code in ZNS_QUOTA) from exc
        except TokenUnavailable as exc:
            raise DeliveryError(f"zns: no usable token: {exc}") from exc
        except TokenBusy as exc:
            raise DeliveryError(f"zns: token refresh under way: {exc}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"zns network: {type(exc).__name__}") from exc
        return str(answer.get("msg_id", ""))

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if await self.tokens.seed():
            log.info("zalo oa: the configured first tokens are stored in the database")
        await self.tokens.refresh_if_due()
        application = web.Application(client_max_size=WEBHOOK_MAX_BODY)
        application.router.add_post(self.config.webhook_path, self._on_webhook)
        self._runner = web.AppRunner(application, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.webhook_listen, self.config.webhook_port)
        await site.start()
        self._refresher = asyncio.create_task(self._refresh_loop(), name="zalo-oa-refresh")
        log.info("zalo oa receiving on %s", self.config.webhook_path)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_check_seconds)
            await self.tokens.refresh_if_due()

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._senders:
            await asyncio.wait(set(self._senders), timeout=10)
        if self._session is not None:
            await self._session.close()
            self._session = None


def _delivery_error(exc: OaApiError) -> DeliveryError:
    reason = f"{exc.path}: {exc.code} {exc.message}"
    if exc.code in WINDOW_CLOSED:
        return DeliveryError(f"reply window closed: {reason}", hold=True)
    if exc.code == RATE_LIMITED:
        return DeliveryError(f"rate limited: {reason}", retry_after=60.0)
    if exc.code == OUT_OF_QUOTA:
        log.error("zalo oa quota exhausted (%s): sending paused", reason)
        return DeliveryError(f"quota exceeded: {reason}", retry_after=QUOTA_BACKOFF, quota=True)
    if exc.code in RETRYABLE or exc.code in TOKEN_ERRORS or exc.code >= 500 or exc.code in (408, 429):
        return DeliveryError(reason)
    return DeliveryError(reason, permanent=True)
