"""Messages to people other than the one who wrote: written to the outbox.

A notification is an outbox row created in the same transaction as its cause
(a new case, an officer's reply), so it is sent exactly when that cause is
committed, and survives a restart until the outbox worker delivers it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.dialog import choices
from bot.dialog.types import Reply
from storage.models import OutboxMessage
from storage.uow import UnitOfWork

NOTIFICATION_BUTTON_TTL = timedelta(days=30)


async def enqueue(
    uow: UnitOfWork,
    channel: str,
    chat_id: str,
    reply: Reply,
    *,
    now: datetime,
    case_id: int | None = None,
) -> OutboxMessage:
    """Queue one message; its options become global, chat-bound button tokens."""
    message, _ = await choices.render(
        uow, channel, chat_id, reply, flow=None, step=None, now=now, ttl=NOTIFICATION_BUTTON_TTL
    )
    row = OutboxMessage(
        channel=channel,
        chat_id=chat_id,
        payload=message.to_payload(),
        next_attempt_at=now,
        created_at=now,
        case_id=case_id,
    )
    await uow.outbox.add(row)
    return row
