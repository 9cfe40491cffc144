"""What every transport offers the outbox worker, and how delivery fails."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from bot.dialog.types import Outgoing
from bot.text import plain_text


class DeliveryError(Exception):
    """A message could not be delivered now (retry later) or ever (permanent)."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        hold: bool = False,
        quota: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        # The channel refuses it until the person writes again (outside its reply window).
        self.hold = hold
        # The platform's quota is used up (not a burst limit): the administrators are told.
        self.quota = quota


@dataclass(frozen=True)
class TemplateNotice:
    """What a paid template message (Zalo ZNS/ZBS) may say about a case: never its content.

    Built by the outbox for a notice to a case's own citizen outside the reply window, with the
    phone number the person gave for that case; ``tracking_id`` is the outbox row's id.
    """

    phone: str  # 84xxxxxxxxx
    tracking_id: str
    case_code: str
    status: str
    unit: str


# The deepest JSON a channel's webhook body may nest: Telegram and Zalo updates nest under ten
# levels (update, message, reply_markup, rows, buttons...); anything deeper is not an update.
MAX_JSON_DEPTH = 32


class BodyRefused(ValueError):
    """A webhook body that is not JSON, or nests too deep to be an update: answered with a 400."""


def parse_json_body(raw: bytes) -> Any:
    """The JSON document of a webhook body, or :class:`BodyRefused`.

    ``json.loads`` raises RecursionError (not ValueError) on a body nested thousands deep, and
    a body nested hundreds deep parses but then breaks whatever walks it recursively (the
    channel library's parsing, a deep copy): every webhook reads its body here, once.
    """
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BodyRefused("not JSON") from None
    if _depth_exceeds(document, MAX_JSON_DEPTH):
        raise BodyRefused("nested too deep")
    return document


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Whether containers nest deeper than ``limit``; walked with a stack, not recursion."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class Sender(Protocol):
    channel: str

    async def deliver(self, message: Outgoing) -> None:
        """Send one message; raise DeliveryError on failure."""


def numbered(message: Outgoing) -> str:
    """The message with its options as numbered lines ("1. ..."), for channels without buttons."""
    text = plain_text(message.text)
    buttons = message.flat_buttons
    if not buttons:
        return text
    lines = [f"  {index}. {plain_text(button.label)}" for index, button in enumerate(buttons, start=1)]
    return text + "\n" + "\n".join(lines)


_HTML_ATOM = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*>|&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});")
_SEPARATORS = ("\n\n", "\n", ". ", " ")


def _units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_html(text: str, limit: int) -> list[str]:
    """Cut Telegram HTML into messages of at most ``limit`` visible UTF-16 units each.

    Telegram measures a text after parsing its markup, in UTF-16 units (an emoji counts two).
    Cuts are preferred at blank lines, lines, sentences, then spaces, as in :func:`split_text`,
    but never fall inside a tag or an entity (``&amp;``); a tag still open at a cut is closed
    at the end of its piece and opened again at the start of the next one.
    """
    if _units(text) <= limit and text.strip() and not text[-1].isspace():
        return [text]  # the common case: fits as it is (markup only makes the shown text shorter)
    # Atoms: (raw text, what it shows, tag name or "", True for a closing tag).
    atoms: list[tuple[str, str, str, bool]] = []
    position = 0
    for match in _HTML_ATOM.finditer(text):
        atoms.extend((char, char, "", False) for char in text[position : match.start()])
        raw = match.group(0)
        if raw.startswith("<"):
            atoms.append((raw, "", match.group(2).lower(), bool(match.group(1))))
        else:
            atoms.append((raw, html.unescape(raw), "", False))
        position = match.end()
    atoms.extend((char, char, "", False) for char in text[position:])

    pieces: list[str] = []
    opened: list[tuple[str, str]] = []  # (tag name, raw opening tag) open where the piece starts
    start = 0
    while start < len(atoms):
        end, units = start, 0
        while end < len(atoms) and units + _units(atoms[end][1]) <= limit:
            units += _units(atoms[end][1])
            end += 1
        cut = end if end == len(atoms) else _best_cut(atoms, start, end)
        body = atoms[start:cut]
        while body and not body[-1][2] and body[-1][1].isspace():
            body.pop()
        if "".join(atom[1] for atom in body).strip():
            still_open = list(opened)
            for _, _, name, closing in body:
                if name and closing and still_open and still_open[-1][0] == name:
                    still_open.pop()
                elif name and not closing:
                    still_open.append((name, ""))
            raw = "".join(tag for _, tag in opened) + "".join(atom[0] for atom in body)
            pieces.append(raw + "".join(f"</{name}>" for name, _ in reversed(still_open)))
        for raw_atom, _, name, closing in atoms[start:cut]:
            if name and closing and opened and opened[-1][0] == name:
                opened.pop()
            elif name and not closing:
                opened.append((name, raw_atom))
        start = cut
        while start < len(atoms) and not atoms[start][2] and atoms[start][1].isspace():
            start += 1
    return pieces


def _best_cut(atoms: list[tuple[str, str, str, bool]], start: int, end: int) -> int:
    """Where to end a piece made of ``atoms[start:end]``: after the last good separator."""
    shown = ""
    boundary: list[int] = []  # boundary[k]: the atom index just after shown character k
    for index in range(start, end):
        shown += atoms[index][1]
        boundary.extend([index + 1] * len(atoms[index][1]))
    for separator in _SEPARATORS:
        found = shown.rfind(separator)
        if found > len(shown) // 3:
            return boundary[found + len(separator) - 1]
    return max(end, start + 1)


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
