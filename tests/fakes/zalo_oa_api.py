"""A loopback fake of the Zalo Official Account platform: OA API v3, OAuth v4 and the webhook.

Why it exists: there is no OA sandbox (no Zalo document names one), and mocking our own HTTP
calls would only test our assumptions twice. This aiohttp server on 127.0.0.1 answers the way
the research notes (/work/research/zalo.md, from Zalo's docs as quoted by community notes,
Zalo's SDKs and Chatwoot's integration) say the real one does, so the transport's real HTTP code
runs. Every number is an attribute, since several are unconfirmed.

* **OAuth** ``POST /v4/oa/access_token`` (form; header ``secret_key`` = the app secret):
  ``grant_type=authorization_code`` (a code issued by :meth:`FakeZaloOa.issue_code` or
  ``GET /v4/oa/permission``, single use, 10 minutes, PKCE S256 check) and
  ``grant_type=refresh_token`` (single use, 90 days: a new pair invalidates the old refresh
  and access tokens). Success ``{access_token, refresh_token, expires_in: "90000"}``; errors
  HTTP 200 ``{error, error_name, error_description}``. Every refresh token presented is kept in
  :attr:`refresh_presented`, so a test can prove none was sent twice.
* **API** (header ``access_token``; -216 unknown token, -220 expired or superseded):
  ``POST /v3.0/oa/message/cs`` checks the bodies (text <= 2,000, <= 5 buttons, payload <=
  1,000, media with exactly one of url/attachment_id, file with an upload token) and the window:
  no interaction in 7 days gives -230; 48 h to 7 days is accepted and recorded as billed.
  ``POST /v2.0/oa/upload/image|file`` (multipart ``file``; 1 MB / 5 MB). Errors come with
  HTTP 200 and a negative ``error``.
* **ZNS** ``POST /message/template`` (stands in for ``business.openapi.zalo.me``; the same OA
  token, but its own codes: -124 for a bad token, -108 a bad phone, -131 an unknown template,
  -201 template data whose keys are not the template's parameters, -144 the daily quota, with
  ``quota{dailyQuota, remainingQuota}`` as strings on success and ``data.msg_id``). No window.
  What it accepted is in :attr:`zns_sent`; :attr:`zns_fail_next` injects errors.
* **Quota**: :attr:`cs_quota` messages on ``message/cs``, then -211 "Out of quota".
* **Webhook emitter**: events built like Zalo's (string ids, 13-digit ms ``timestamp``, a
  unique ``msg_id``), signed ``mac=`` + sha256(app_id + body + timestamp + OA secret key),
  POSTed to the bot; every ``user_send_*`` and ``follow`` counts as an interaction.

The clock is the test's (a callable returning an aware datetime), so windows and expiries move
with the bot's fake clock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

JSON = dict[str, Any]

MAX_TEXT = 2000
MAX_BUTTONS = 5
MAX_PAYLOAD = 1000
IMAGE_LIMIT = 1024 * 1024
FILE_LIMIT = 5 * 1024 * 1024
FREE_WINDOW = timedelta(hours=48)
WINDOW = timedelta(days=7)
ACCESS_LIFETIME = timedelta(hours=25)
REFRESH_LIFETIME = timedelta(days=90)
CODE_LIFETIME = timedelta(minutes=10)


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message})


@dataclass
class OaMessage:
    """A message the OA sent, as the person sees it."""

    user_id: str
    message_id: str
    text: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (title, payload)
    image: str | None = None  # url or attachment id
    file_token: str | None = None
    billed: bool = False

    @property
    def body(self) -> str:
        return self.text


@dataclass
class _Refresh:
    issued_at: datetime
    used: bool = False


class FakeZaloOa:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        app_id: str = "3106542893472859623",
        app_secret: str = "app-secret-XYZ",  # noqa: S107 - a fake's test value
        oa_secret_key: str = "oa-secret-key-ABC",  # noqa: S107 - a fake's test value
        oa_id: str = "1482746538271536",
    ) -> None:
        self.clock = clock
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.oa_id = oa_id
        self.port = 0
        self.webhook_url = ""  # where events are POSTed (the bot's webhook)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)
        self.access: dict[str, datetime] = {}  # valid access token -> expiry
        self.revoked: set[str] = set()
        self.refresh: dict[str, _Refresh] = {}
        self.codes: dict[str, tuple[str, datetime]] = {}  # code -> (challenge, issued)
        self.refresh_presented: list[str] = []
        self.oauth_delay = 0.0  # seconds before the token endpoint answers (to kill mid-refresh)
        self.last_interaction: dict[str, datetime] = {}
        self.sent: list[OaMessage] = []
        self.uploads: dict[str, str] = {}  # id/token -> file name
        self.api_calls: list[tuple[str, str]] = []  # (path, error code or "ok")
        self.fail_next: list[int] = []  # error codes the next sends answer
        self.cs_quota: int | None = None  # messages message/cs accepts before -211 (None: no limit)
        self.zns_templates: dict[str, set[str]] = {}  # approved template id -> its parameter names
        self.zns_quota = 500  # ZNS messages a day (-144 after)
        self.zns_sent: list[JSON] = []  # accepted ZNS request bodies
        self.zns_fail_next: list[int] = []  # error codes the next ZNS calls answer
        self._changed = asyncio.Event()
        self._last_stamp = 0

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeZaloOa:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/v4/oa/access_token", self._token)
        app.router.add_get("/v4/oa/permission", self._permission)
        app.router.add_post("/v3.0/oa/message/cs", self._send_cs)
        app.router.add_post("/v2.0/oa/upload/image", self._upload_image)
        app.router.add_post("/v2.0/oa/upload/file", self._upload_file)
        app.router.add_post("/message/template", self._send_zns)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---------------------------------------------------------------- tokens

    def issue_tokens(self) -> tuple[str, str]:
        """A fresh (access, refresh) pair, as the API Explorer or an authorization gives."""
        access, refresh = "acc-" + secrets.token_hex(12), "ref-" + secrets.token_hex(12)
        now = self.clock()
        self.access[access] = now + ACCESS_LIFETIME
        self.refresh[refresh] = _Refresh(now)
        return access, refresh

    def issue_code(self, challenge: str) -> str:
        code = "code-" + secrets.token_hex(8)
        self.codes[code] = (challenge, self.clock())
        return code

    def expire_access(self, token: str) -> None:
        self.access[token] = self.clock() - timedelta(seconds=1)

    async def _permission(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("app_id") != self.app_id:
            return web.json_response({"error": -14002, "error_name": "Invalid appId"})
        code = self.issue_code(query.get("code_challenge", ""))
        target = f"{query.get('redirect_uri', '')}?code={code}&oa_id={self.oa_id}&state={query.get('state', '')}"
        raise web.HTTPFound(target)

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if request.headers.get("secret_key") != self.app_secret:
            return web.json_response({"error": -14014, "error_name": "Invalid secret key", "error_description": ""})
        if form.get("app_id") != self.app_id:
            return web.json_response({"error": -14002, "error_name": "Invalid appId", "error_description": ""})
        now = self.clock()
        grant = form.get("grant_type")
        if grant == "refresh_token":
            token = str(form.get("refresh_token", ""))
            self.refresh_presented.append(token)
            if self.oauth_delay:
                await asyncio.sleep(self.oauth_delay)
            entry = self.refresh.get(token)
            if entry is None or entry.used or entry.issued_at + REFRESH_LIFETIME <= now:
                return web.json_response(
                    {"error": -14020, "error_name": "Invalid refresh token", "error_description": "reused or expired"}
                )
            entry.used = True
            self.revoked.update(self.access)  # the previous access tokens stop working
            self.access.clear()
        elif grant == "authorization_code":
            code = str(form.get("code", ""))
            stored = self.codes.pop(code, None)
            verifier = str(form.get("code_verifier", ""))
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if stored is None or stored[1] + CODE_LIFETIME <= now or digest != stored[0] or len(verifier) != 43:
                return web.json_response({"error": -14019, "error_name": "Invalid code", "error_description": ""})
        else:
            return web.json_response({"error": -14001, "error_name": "Invalid grant_type", "error_description": ""})
        access, refresh = self.issue_tokens()
        self._changed.set()
        return web.json_response({"access_token": access, "refresh_token": refresh, "expires_in": "90000"})

    def _auth(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("access_token", "")
        expiry = self.access.get(token)
        if expiry is None and token in self.revoked:
            return _error(-220, "access_token is expired or removed")
        if expiry is None:
            return _error(-216, "Access token is invalid")
        if expiry <= self.clock():
            return _error(-220, "access_token is expired or removed")
        return None

    # ---------------------------------------------------------------- the API

    async def _send_cs(self, request: web.Request) -> web.Response:
        refused = self._auth(request)
        if refused is not None:
            self.api_calls.append(("cs", "auth"))
            return refused
        body = await request.json()
        if self.fail_next:
            code = self.fail_next.pop(0)
            self.api_calls.append(("cs", str(code)))
            return _error(code, "injected")
        if self.cs_quota is not None and self.cs_quota <= 0:
            self.api_calls.append(("cs", "-211"))
            return _error(-211, "Out of quota")
        user = str(body.get("recipient", {}).get("user_id", ""))
        message = body.get("message") or {}
        last = self.last_interaction.get(user)
        now = self.clock()
        if last is None or last + WINDOW <= now:
            self.api_calls.append(("cs", "-230"))
            return _error(-230, "User has not interacted with the OA in the past 7 days")
        record = OaMessage(user, secrets.token_hex(10), billed=last + FREE_WINDOW <= now)
        problem = self._read_message(message, record)
        if problem is not None:
            self.api_calls.append(("cs", "-201"))
            return _error(-201, problem)
        self.sent.append(record)
        if self.cs_quota is not None:
            self.cs_quota -= 1
        self.api_calls.append(("cs", "ok"))
        self._changed.set()
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {
                    "message_id": record.message_id,
                    "user_id": user,
                    "sent_time": str(int(now.timestamp() * 1000)),
                },
            }
        )

    async def _send_zns(self, request: web.Request) -> web.Response:
        """A ZNS template message to a phone number (ZBS by phone since 2026)."""
        if self._auth(request) is not None:
            self.api_calls.append(("zns", "-124"))
            return _error(-124, "Access token invalid")
        body = await request.json()
        if self.zns_fail_next:
            code = self.zns_fail_next.pop(0)
            self.api_calls.append(("zns", str(code)))
            return _error(code, "injected")
        phone = str(body.get("phone", ""))
        template = self.zns_templates.get(str(body.get("template_id", "")))
        data = body.get("template_data")
        tracking = body.get("tracking_id")
        problem: tuple[int, str] | None = None
        if re.fullmatch(r"(\+?84|0)\d{9,10}", phone) is None:
            problem = (-108, "Phone number invalid")
        elif template is None:
            problem = (-131, "Template is not approved")
        elif not isinstance(data, dict) or set(data) != template or not all(isinstance(v, str) for v in data.values()):
            problem = (-201, "template_data is invalid!")
        elif not isinstance(tracking, str) or not tracking or len(tracking) > 48:
            problem = (-201, "tracking_id is invalid!")
        elif self.zns_quota <= 0:
            problem = (-144, "OA has exceeded the daily quota")
        if problem is not None:
            self.api_calls.append(("zns", str(problem[0])))
            return _error(*problem)
        self.zns_quota -= 1
        self.zns_sent.append(body)
        self.api_calls.append(("zns", "ok"))
        self._changed.set()
        data = {
            "msg_id": secrets.token_hex(16),
            "sent_time": str(int(self.clock().timestamp() * 1000)),
            "quota": {"dailyQuota": "500", "remainingQuota": str(self.zns_quota)},
        }
        return web.json_response({"error": 0, "message": "Success", "data": data})

    def _read_message(self, message: JSON, record: OaMessage) -> str | None:
        text = message.get("text")
        attachment = message.get("attachment")
        if isinstance(text, str):
            if not text or len(text) > MAX_TEXT:
                return "text is invalid!"
            record.text = text
        if attachment is None:
            return None if record.text else "message is invalid!"
        kind = attachment.get("type")
        payload = attachment.get("payload") or {}
        if kind == "file":
            token = payload.get("token")
            if token not in self.uploads:
                return "token is invalid!"
            record.file_token = token
            return None
        if kind != "template":
            return "attachment type is invalid!"
        template = payload.get("template_type")
        if template == "media":
            elements = payload.get("elements") or []
            if len(elements) != 1 or ("url" in elements[0]) == ("attachment_id" in elements[0]):
                return "elements is invalid!"
            source = elements[0].get("url") or elements[0].get("attachment_id")
            if "attachment_id" in elements[0] and source not in self.uploads:
                return "attachment_id is invalid!"
            record.image = source
            return None
        if template == "button":
            buttons = payload.get("buttons") or []
            text = payload.get("text")
            if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
                return "text is invalid!"
            if not 1 <= len(buttons) <= MAX_BUTTONS:
                return "buttons is invalid!"
            for button in buttons:
                if button.get("type") not in ("oa.query.show", "oa.query.hide"):
                    return "button type is invalid!"
                if not isinstance(button.get("payload"), str) or len(button["payload"]) > MAX_PAYLOAD:
                    return "payload is invalid!"
            record.text = text
            record.buttons = [(str(b["title"]), str(b["payload"])) for b in buttons]
            return None
        return "template_type is invalid!"

    async def _upload(self, request: web.Request, limit: int, field_name: str) -> web.Response:
        refused = self._auth(request)
        if refused is not None:
            return refused
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _error(-201, "file is invalid!")
        content = upload.file.read()
        if len(content) > limit:
            return _error(-210, "Parameter exceeds allowable limit")
        key = secrets.token_hex(12)
        self.uploads[key] = upload.filename
        return web.json_response({"error": 0, "message": "Success", "data": {field_name: key}})

    async def _upload_image(self, request: web.Request) -> web.Response:
        return await self._upload(request, IMAGE_LIMIT, "attachment_id")

    async def _upload_file(self, request: web.Request) -> web.Response:
        return await self._upload(request, FILE_LIMIT, "token")

    # ---------------------------------------------------------------- the webhook emitter

    def _stamp(self) -> str:
        """Epoch ms, strictly increasing (the test clock may stand still; Zalo's never repeats)."""
        self._last_stamp = max(self._last_stamp + 1, int(self.clock().timestamp() * 1000))
        return str(self._last_stamp)

    def user_event(self, name: str, user_id: str, message: JSON) -> JSON:
        message = {"msg_id": secrets.token_hex(16), **message}
        return {
            "app_id": self.app_id,
            "user_id_by_app": "app" + user_id,
            "event_name": name,
            "timestamp": self._stamp(),
            "sender": {"id": user_id},
            "recipient": {"id": self.oa_id},
            "message": message,
        }

    def follow_event(self, name: str, user_id: str) -> JSON:
        return {
            "app_id": self.app_id,
            "oa_id": self.oa_id,
            "event_name": name,
            "timestamp": self._stamp(),
            "source": "oa_profile",
            "user_id_by_app": "app" + user_id,
            "follower": {"id": user_id},
        }

    def sign(self, raw: bytes, *, secret: str | None = None) -> str:
        event = json.loads(raw)
        basis = self.app_id.encode() + raw + str(event.get("timestamp", "")).encode()
        return "mac=" + hashlib.sha256(basis + (secret or self.oa_secret_key).encode()).hexdigest()

    async def post_raw(self, raw: bytes, headers: dict[str, str]) -> int:
        assert self._session is not None and self.webhook_url
        async with self._session.post(
            self.webhook_url, data=raw, headers={"Content-Type": "application/json", **headers}
        ) as response:
            return response.status

    async def emit(self, event: JSON) -> tuple[int, bytes]:
        """Deliver a signed event; returns the bot's status and the exact bytes (to replay them)."""
        raw = json.dumps(event, ensure_ascii=False).encode()
        if event["event_name"].startswith("user_send_") or event["event_name"] == "follow":
            user = event.get("sender", {}).get("id") or event.get("follower", {}).get("id")
            self.last_interaction[str(user)] = self.clock()
        status = await self.post_raw(raw, {"X-ZEvent-Signature": self.sign(raw)})
        return status, raw

    # ---------------------------------------------------------------- reading what was sent

    def messages(self, user_id: str) -> list[OaMessage]:
        return [message for message in self.sent if message.user_id == user_id]

    async def next_containing(self, user_id: str, fragment: str, after: int, timeout: float = 5.0) -> OaMessage:
        """The first message to ``user_id`` from index ``after`` on containing ``fragment``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for message in self.messages(user_id)[after:]:
                if fragment in message.text:
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = "\n---\n".join(m.text for m in self.messages(user_id)[after:])
                raise AssertionError(f"no message to {user_id} containing {fragment!r}; got:\n{seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.2))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class OaCitizen:
    """A person who follows the OA: sends signed events, taps query buttons, reads the answers."""

    fake: FakeZaloOa
    user_id: str = "8162534917364528193"
    read: int = 0  # messages already looked at

    async def _emit(self, event: JSON) -> None:
        status, _ = await self.fake.emit(event)
        assert status == 200, status

    async def follow(self) -> None:
        await self._emit(self.fake.follow_event("follow", self.user_id))

    async def unfollow(self) -> None:
        await self._emit(self.fake.follow_event("unfollow", self.user_id))

    async def say(self, text: str) -> None:
        await self._emit(self.fake.user_event("user_send_text", self.user_id, {"text": text}))

    async def image(self, url: str, caption: str = "") -> None:
        attachment = {"type": "image", "payload": {"url": url, "thumbnail": url}}
        await self._emit(
            self.fake.user_event("user_send_image", self.user_id, {"text": caption, "attachments": [attachment]})
        )

    async def location(self, lat: float, lon: float) -> None:
        payload = {"coordinates": {"latitude": str(lat), "longitude": str(lon)}}
        message = {"text": "Vị trí", "attachments": [{"type": "location", "payload": payload}]}
        await self._emit(self.fake.user_event("user_send_location", self.user_id, message))

    async def audio(self, url: str) -> None:
        message = {"attachments": [{"type": "audio", "payload": {"url": url}}]}
        await self._emit(self.fake.user_event("user_send_audio", self.user_id, message))

    async def sticker(self) -> None:
        message = {"attachments": [{"type": "sticker", "payload": {"id": "a1b2", "url": "https://zalo.me/s.png"}}]}
        await self._emit(self.fake.user_event("user_send_sticker", self.user_id, message))

    async def expect(self, fragment: str, timeout: float = 5.0) -> OaMessage:
        """The next message containing ``fragment``; the messages before it count as read."""
        message = await self.fake.next_containing(self.user_id, fragment, self.read, timeout)
        self.read = self.fake.messages(self.user_id).index(message) + 1
        return message

    async def press(self, title: str, message: OaMessage | None = None) -> None:
        """Tap the query button whose title contains ``title`` (on ``message``, else the newest with buttons)."""
        candidates = [message] if message else [m for m in reversed(self.fake.messages(self.user_id)) if m.buttons]
        for candidate in candidates:
            for label, payload in candidate.buttons:
                if title.lower() in label.lower():
                    await self.say(payload)
                    return
        raise AssertionError(f"no button {title!r}; buttons: {[b for m in candidates for b in m.buttons]}")
