"""Test helpers: a controllable clock and a chat that talks to the dialog engine directly."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.app import App
from bot.dialog.types import Inbound, Outgoing
from bot.text import plain_text

_updates = itertools.count(1)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Chat:
    """A person in a chat, speaking to the engine the way a transport would."""

    app: App
    user_id: str = "1001"
    channel: str = "console"
    name: str = "Nguyễn Văn Dân"
    last: list[Outgoing] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    async def _send(self, **fields: object) -> list[Outgoing]:
        inbound = Inbound(
            channel=self.channel,
            update_id=f"u{next(_updates)}",
            chat_id=self.user_id,
            user_id=self.user_id,
            display_name=self.name,
            **fields,  # type: ignore[arg-type]
        )
        result = await self.app.engine.handle(inbound)
        self.last = result.messages
        self.transcript.extend(self.texts)
        return self.last

    async def say(self, text: str) -> list[Outgoing]:
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return await self._send(kind="command", text=text, command=command.lower(), args=args)
        return await self._send(kind="text", text=text)

    async def press(self, label: str) -> list[Outgoing]:
        """Press the button whose label contains ``label`` in the latest messages."""
        for message in reversed(self.last):
            for button in message.flat_buttons:
                if label.lower() in plain_text(button.label).lower():
                    return await self._send(kind="choice", token=button.token)
        raise AssertionError(f"no button {label!r} in {self.labels}")

    async def press_token(self, token: str) -> list[Outgoing]:
        return await self._send(kind="choice", token=token)

    async def photo(self, file_id: str = "photo-1", caption: str | None = None) -> list[Outgoing]:
        return await self._send(kind="photo", attachment=file_id, text=caption)

    async def location(self, lat: float, lon: float) -> list[Outgoing]:
        return await self._send(kind="location", location=(lat, lon))

    async def other(self, what: str) -> list[Outgoing]:
        return await self._send(kind="other", other=what)

    @property
    def texts(self) -> list[str]:
        return [plain_text(m.text) for m in self.last]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def labels(self) -> list[str]:
        return [plain_text(b.label) for m in self.last for b in m.flat_buttons]
