"""E-mail as an outbox channel: reports with their files, and staff notices a chat could not take.

Nội vụ reads its reports in a mailbox, and Telegram may be blocked: the channel "email" is one
more sender of the outbox worker, so a message to an address is written in the transaction of
its cause, retried with backoff, delivered at most once in the normal case (the same short
window between "the server accepted it" and "recorded" as for chat, docs/reliability.md), and
recorded. The chat id of an e-mail row is the address.

A message is plain UTF-8 text (the catalog's markup made plain), its subject the first line
unless the row says otherwise, and each local file in ``attachments`` (or ``file``) attached.
A 5xx answer (unknown mailbox, refused sender) is permanent; a 4xx answer, a timeout or a lost
connection is retried.
"""

from __future__ import annotations

import email.policy
import mimetypes
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import aiosmtplib

from bot.config import EmailConfig
from bot.dialog.types import Outgoing
from bot.text import plain_text
from bot.transports.base import DeliveryError

CHANNEL = "email"
# Headers are not folded: Python's folder drops the space between two encoded words, and a
# Vietnamese subject is all encoded words ("hạn: Đường" arrived as "hạn:Đường").
_POLICY = email.policy.default.clone(max_line_length=998)
SUBJECT_MAX = 120
# What the first line of a chat text starts with that a subject does without.
_DECORATION = "📊📈📄📎🔔📌✅⚠️🆕 "


class EmailSender:
    """Sends one outbox row as one e-mail through the configured SMTP server."""

    channel = CHANNEL

    def __init__(self, config: EmailConfig, office: str) -> None:
        self.config = config
        self.office = office

    def compose(self, message: Outgoing) -> EmailMessage:
        """The e-mail for an outbox row: subject, UTF-8 text, files attached."""
        text = plain_text(message.text).strip()
        mail = EmailMessage(policy=_POLICY)
        mail["From"] = self.config.from_address
        mail["To"] = message.chat_id
        mail["Subject"] = message.subject or subject_of(text, self.office)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.config.from_address.rpartition("@")[2] or None)
        mail.set_content(text + "\n", charset="utf-8")
        for path in [*message.attachments, *([message.file] if message.file else [])]:
            _attach(mail, Path(path))
        return mail

    async def deliver(self, message: Outgoing) -> None:
        mail = self.compose(message)
        try:
            await aiosmtplib.send(
                # Flattened here, with our policy: aiosmtplib's own would fold the subject.
                mail.as_bytes(policy=_POLICY.clone(linesep="\r\n")),
                sender=self.config.from_address,
                recipients=[message.chat_id],
                hostname=self.config.host,
                port=self.config.port,
                username=self.config.username or None,
                password=self.config.password or None,
                use_tls=self.config.ssl,
                start_tls=False if self.config.ssl else self.config.starttls,
                timeout=self.config.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {_codes(exc)}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600 and exc.code != 530  # 530: our login, fixable
            raise DeliveryError(f"smtp {exc.code}: {exc.message[:200]}", permanent=permanent) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"network: {type(exc).__name__}") from exc


def subject_of(text: str, office: str) -> str:
    """The first line of the text, without its emoji, cut to a subject's length."""
    first = text.splitlines()[0].strip(_DECORATION).strip() if text else ""
    subject = f"{first} ({office})" if first else office
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def _attach(mail: EmailMessage, path: Path) -> None:
    kind, _ = mimetypes.guess_type(path.name)
    maintype, _, subtype = (kind or "application/octet-stream").partition("/")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        # Deleted after an earlier delivery of the same file, or by hand: nothing will bring it back.
        raise DeliveryError(f"attachment missing: {path.name}", permanent=True) from exc
    mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    return ", ".join(str(error.code) for error in exc.recipients)
