"""What every transport offers the outbox worker, and how delivery fails."""

from __future__ import annotations

import html
import re
from typing import Protocol

from bot.dialog.types import Outgoing


class DeliveryError(Exception):
    """A message could not be delivered now (retry later) or ever (permanent)."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class Sender(Protocol):
    channel: str

    async def deliver(self, message: Outgoing) -> None:
        """Send one message; raise DeliveryError on failure."""


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def plain_text(text: str) -> str:
    """Catalog HTML as plain text, for channels without markup (console, Zalo)."""
    return html.unescape(_TAG.sub("", text))


def numbered(message: Outgoing) -> str:
    """The message with its options as numbered lines ("1. ..."), for channels without buttons."""
    text = plain_text(message.text)
    buttons = message.flat_buttons
    if not buttons:
        return text
    lines = [f"  {index}. {plain_text(button.label)}" for index, button in enumerate(buttons, start=1)]
    return text + "\n" + "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long text into pieces under ``limit``: at blank lines, lines, sentences, then anywhere."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(separator)
            if cut > limit // 3:
                cut += len(separator)
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces
