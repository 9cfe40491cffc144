"""Read-only status queries for ``python -m bot health``: outbox backlog, inbound traffic, units.

Every function reads; none writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OAuthTokens, OutboxMessage, ProcessedUpdate, Unit


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    oldest_pending_at: datetime | None  # when the oldest message still pending was queued
    failed_since: int  # messages given up whose last attempt was due after ``since``


async def outbox_backlog(session: AsyncSession, since: datetime) -> OutboxBacklog:
    """Pending messages and their oldest, and failures whose last attempt was due after ``since``.

    A failed message keeps the ``next_attempt_at`` of its last attempt (the worker does not
    move it when giving up), so that is when it failed, to within the worker's delay.
    """
    pending = await session.exec(
        select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending")
    )
    count, oldest = pending.one()
    failed = await session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == "failed", col(OutboxMessage.next_attempt_at) >= since)
    )
    return OutboxBacklog(pending=int(count), oldest_pending_at=oldest, failed_since=int(failed.one()))


async def last_updates(session: AsyncSession) -> dict[str, datetime]:
    """When the newest inbound update of each channel was processed."""
    result = await session.exec(
        select(ProcessedUpdate.channel, func.max(ProcessedUpdate.at))
        .group_by(col(ProcessedUpdate.channel))
        .order_by(col(ProcessedUpdate.channel))
    )
    return {channel: at for channel, at in result.all() if at is not None}


async def unit_count(session: AsyncSession, profile: str) -> int:
    """How many units the map ``profile`` has."""
    result = await session.exec(select(func.count()).select_from(Unit).where(Unit.profile == profile))
    return int(result.one())


async def oauth_tokens(session: AsyncSession, name: str) -> OAuthTokens | None:
    """A channel account's stored tokens (expiry, interrupted refresh, problem), if any."""
    result = await session.exec(select(OAuthTokens).where(OAuthTokens.name == name))
    return result.first()
