"""The contract between transports, the dialog runtime and the flows.

Transports turn a channel's update into an :class:`Inbound` and render
:class:`Outgoing` messages back. Flows see only an :class:`Inbound`, the value
of a pressed option, and return :class:`Reply` objects. Nothing here knows
Telegram or Zalo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# "file" and "voice" arrive where a channel passes them on (the Zalo OA): kept as case attachments.
InboundKind = Literal["text", "command", "choice", "photo", "file", "voice", "location", "contact", "other"]
ATTACHMENT_KINDS = ("photo", "file", "voice")


@dataclass(frozen=True)
class Inbound:
    channel: str
    update_id: str
    chat_id: str
    user_id: str
    kind: InboundKind
    text: str | None = None
    command: str | None = None  # without the slash, lower case
    args: str = ""
    token: str | None = None  # the opaque id of a pressed button
    attachment: str | None = None  # a channel file id or URL
    location: tuple[float, float] | None = None
    phone: str | None = None
    display_name: str | None = None
    other: str | None = None  # what arrived when kind == "other": sticker, voice, document, ...

    def kept_attachment(self) -> dict[str, str] | None:
        """The case attachment this event carries (photo, file, voice message), if any."""
        if self.kind in ATTACHMENT_KINDS and self.attachment:
            return {"kind": self.kind, "file": self.attachment}
        return None


@dataclass(frozen=True)
class Option:
    label: str
    value: str
    # The answer this option gives to a yes/no question: typing "dạ có", "ok" or "không"
    # picks it (see bot.dialog.smalltalk.answer). None for every other option.
    means: Literal["yes", "no"] | None = None


@dataclass(frozen=True)
class Reply:
    """One message to the person: catalog text (HTML-safe) and optional choices."""

    text: str
    options: tuple[Option, ...] = ()
    columns: int = 1
    photo: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    token: str


@dataclass(frozen=True)
class Outgoing:
    """A rendered message for one chat: what a transport sends."""

    channel: str
    chat_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: str | None = None
    # A local file to send with the text as its caption (reports): a path, sent as a photo or a document.
    file: str | None = None
    file_kind: Literal["photo", "document"] = "document"
    # E-mail only: the subject, and every file of a report attached to one message.
    subject: str = ""
    attachments: tuple[str, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "text": self.text,
            "buttons": [[[b.label, b.token] for b in row] for row in self.buttons],
            "photo": self.photo,
        }
        if self.file is not None:
            payload["file"] = self.file
            payload["file_kind"] = self.file_kind
        if self.subject:
            payload["subject"] = self.subject
        if self.attachments:
            payload["attachments"] = list(self.attachments)
        return payload

    @classmethod
    def from_payload(cls, channel: str, chat_id: str, payload: dict[str, Any]) -> Outgoing:
        rows = tuple(tuple(Button(label, token) for label, token in row) for row in payload.get("buttons", []))
        kind: Literal["photo", "document"] = "photo" if payload.get("file_kind") == "photo" else "document"
        return cls(
            channel,
            chat_id,
            payload["text"],
            rows,
            payload.get("photo"),
            payload.get("file"),
            kind,
            str(payload.get("subject", "")),
            tuple(str(path) for path in payload.get("attachments", [])),
        )

    @property
    def flat_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass
class Next:
    """What a step decides: replies, and where the conversation goes."""

    replies: list[Reply] = field(default_factory=list)
    step: str | None = None  # None ends the flow
    flow: str | None = None  # start another flow at its entry step (after these replies)
    # What a typed command's argument may also say ("/hoso CN-2026-00001"): user input, never trusted.
    arg: str | None = None
    # What one flow hands over to the next (a FAQ log id, a case id): it becomes the new flow's
    # conversation data, stored server-side, so nothing typed can forge it.
    carry: dict[str, Any] = field(default_factory=dict)
