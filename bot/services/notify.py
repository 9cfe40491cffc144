"""Messages to people other than the one who wrote: written to the outbox.

A notification is an outbox row created in the same transaction as its cause
(a new case, an officer's reply), so it is sent exactly when that cause is
committed, and survives a restart until the outbox worker delivers it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bot.dialog import choices
from bot.dialog.types import Reply
from storage.models import OutboxMessage, Staff
from storage.private import delete_with_empty_folders
from storage.uow import Database, UnitOfWork

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


async def enqueue_gathered(
    uow: UnitOfWork,
    channel: str,
    chat_id: str,
    *,
    case_id: int,
    kind: str,
    now: datetime,
    window: timedelta,
    single: Reply,
    gathered: Callable[[int, int], Reply],
    photos: int,
) -> None:
    """A notice about one more part of a case, at most one per ``window`` for this chat and case.

    The first goes at once (``single``). One arriving within ``window`` of the last notice of
    this kind waits in a row due when the window ends; later ones update that row while it
    waits (``gathered(parts, photos)``: "N phần mới"), instead of adding rows. The waiting row
    is never tried before it is due, so updating it races with no delivery, and it does not hold
    up the chat's other messages (OutboxRepo.due).
    """
    recent = [
        row
        for row in await uow.outbox.about_case(channel, chat_id, case_id, due_since=now - window)
        if row.payload.get("kind") == kind
    ]
    waiting = next(
        (row for row in recent if row.status == "pending" and row.attempts == 0 and row.next_attempt_at > now), None
    )
    if waiting is not None:
        parts = int(waiting.payload.get("parts", 1)) + 1
        total = int(waiting.payload.get("photos", 0)) + photos
        text = gathered(parts, total).text  # the buttons (and their tokens) stay
        waiting.payload = {**waiting.payload, "text": text, "parts": parts, "photos": total}
        await uow.outbox.save(waiting)
        return
    row = await enqueue(uow, channel, chat_id, single, now=now, case_id=case_id)
    row.payload = {**row.payload, "kind": kind, "parts": 1, "photos": photos}
    if recent:
        row.next_attempt_at = max(max(r.next_attempt_at for r in recent) + window, now)
    await uow.outbox.save(row)


async def withdraw_staff_notices(uow: UnitOfWork, staff: Staff) -> list[str]:
    """Cancel what waits in the outbox for someone who has just stopped being staff.

    Notices are queued when their cause commits and delivered later: without this, an officer
    or inspector removed in between would still receive a denunciation, a case list, a
    reminder queued for them. What is about their own petitions still reaches them, and
    nothing is cancelled for a chat another active staff member still uses. Returns the report
    files of the cancelled messages, for :func:`release_files` after the commit.
    """
    others = [
        other
        for other in await uow.staff.all_active()
        if (other.channel, other.chat_id) == (staff.channel, staff.chat_id) and other.id != staff.id
    ]
    if others:
        return []
    return await uow.outbox.cancel_pending_for_staff_chat(staff.channel, staff.chat_id)


async def release_files(db: Database, files: Sequence[str]) -> None:
    """Delete report files no pending message needs any more (after the cancelling commit)."""
    if not files:
        return
    async with db.unit_of_work() as uow:
        needed = await uow.outbox.pending_files()
    for file in set(files) - needed:
        delete_with_empty_folders(Path(file))
