"""The console: a terminal chat with the same flows, for trying the bot with no token.

It reads standard input line by line, so it can be scripted
(``printf '/start\\n1\\n' | python -m bot console``). Options are numbered;
typing the number or the option's label chooses it. ``/anh`` sends a
stand-in photo and ``/vitri LAT LON`` a location, so every step can be tried.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable
from typing import Any, TextIO

from bot.app import App
from bot.dialog.types import Inbound, Outgoing
from bot.outbox import OutboxWorker
from bot.transports.base import numbered

CHANNEL = "console"
CHAT_ID = "console"


class ConsoleSender:
    channel = CHANNEL

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    async def deliver(self, message: Outgoing) -> None:
        self.write(numbered(message))


def parse_line(line: str, update_id: str, user_id: str = "local") -> Inbound | None:
    text = line.strip()
    if not text:
        return None
    base: dict[str, Any] = {"channel": CHANNEL, "update_id": update_id, "chat_id": CHAT_ID, "user_id": user_id}
    if text.startswith("/"):
        command, _, args = text[1:].partition(" ")
        command = command.split("@", 1)[0].lower()
        if command == "anh":
            return Inbound(**base, kind="photo", attachment=f"console-photo-{update_id}", text=args or None)
        if command == "vitri":
            try:
                lat, lon = (float(part) for part in args.replace(",", " ").split()[:2])
            except ValueError:
                return Inbound(**base, kind="text", text=text)
            return Inbound(**base, kind="location", location=(lat, lon))
        return Inbound(**base, kind="command", text=text, command=command, args=args)
    return Inbound(**base, kind="text", text=text, display_name="Console")


async def run_console(app: App, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    def write(text: str) -> None:
        stdout.write(text + "\n\n")
        stdout.flush()

    worker = OutboxWorker(app.db, {CHANNEL: ConsoleSender(write)}, app.services.clock)
    write(f"Tiếp dân, {app.config.deployment.name} (console). Gõ /start để bắt đầu, /huy để hủy, Ctrl-D để thoát.")
    session = itertools.count(1)
    prefix = f"console-{app.services.clock().timestamp():.0f}"
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        inbound = parse_line(line, f"{prefix}-{next(session)}")
        if inbound is None:
            continue
        result = await app.engine.handle(inbound)
        for message in result.messages:
            write(numbered(message))
        await worker.run_once()
