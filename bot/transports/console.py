"""The console: a terminal chat with the same flows, for trying the bot with no token.

It reads standard input line by line, so it can be scripted
(``printf '/start\\n1\\n' | python -m bot console``). Options are numbered;
typing the number or the option's label chooses it. ``/anh`` sends a
stand-in photo and ``/vitri LAT LON`` a location, so every step can be tried.

Each console process is one person (``--as NAME``: the chat and user id of the console channel),
so two terminals on the same database are two people: a citizen and an officer, say. Notices
for that person (a new case, an officer's reply, a rating request) are outbox rows like on any
channel; the console delivers only its own person's rows, looking every ``poll_interval``
seconds, so the other terminal's notices stay for the other terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

from bot.app import App
from bot.dialog.types import Inbound, Outgoing
from bot.outbox import OutboxWorker
from bot.transports.base import numbered

log = logging.getLogger(__name__)

CHANNEL = "console"
CHAT_ID = "console"
DEFAULT_PERSON = "local"  # who the console is without --as
POLL_INTERVAL = 1.0  # seconds between two looks at the outbox for this person's notices


class ConsoleSender:
    channel = CHANNEL

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    async def deliver(self, message: Outgoing) -> None:
        self.write(numbered(message))


def parse_line(
    line: str, update_id: str, user_id: str = DEFAULT_PERSON, chat_id: str = CHAT_ID, name: str = "Console"
) -> Inbound | None:
    text = line.strip()
    if not text:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "update_id": update_id,
        "chat_id": chat_id,
        "user_id": user_id,
        "display_name": name,
    }
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
    return Inbound(**base, kind="text", text=text)


async def run_console(
    app: App,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    *,
    person: str | None = None,
    poll_interval: float = POLL_INTERVAL,
) -> None:
    """Chat as ``person`` (None: the anonymous local user) until the input ends."""
    lock = asyncio.Lock()  # one message printed at a time: a notice never cuts into a reply

    def write(text: str) -> None:
        stdout.write(text + "\n\n")
        stdout.flush()

    user_id = person or DEFAULT_PERSON
    chat_id = person or CHAT_ID
    name = person or "Console"
    worker = OutboxWorker(app.db, {CHANNEL: ConsoleSender(write)}, app.services.clock, only_chat=(CHANNEL, chat_id))
    who = f" Bạn là: {person}." if person else ""
    write(f"Tiếp dân, {app.config.deployment.name} (console).{who} Gõ /start để bắt đầu, /huy để hủy, Ctrl-D để thoát.")
    session = itertools.count(1)
    prefix = f"console-{user_id}-{app.services.clock().timestamp():.0f}"
    poller = asyncio.create_task(_poll(worker, lock, poll_interval), name="console-notices")
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            inbound = parse_line(line, f"{prefix}-{next(session)}", user_id=user_id, chat_id=chat_id, name=name)
            if inbound is None:
                continue
            async with lock:
                result = await app.engine.handle(inbound)
                for message in result.messages:
                    write(numbered(message))
                await worker.run_once()
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller


async def _poll(worker: OutboxWorker, lock: asyncio.Lock, interval: float) -> None:
    """Show this person's notices as they arrive (another terminal's officer replied, say)."""
    while True:
        await asyncio.sleep(interval)
        try:
            async with lock:
                await worker.run_once()
        except Exception:
            # A busy database (the other terminal writing) is retried on the next look.
            log.warning("could not read the outbox; trying again", exc_info=True)
