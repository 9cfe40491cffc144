"""The outbox worker: delivers queued messages, in order per chat, until they arrive.

Messages are rows written in the same transaction as their cause. The worker
takes the oldest pending message of each chat whose time has come, hands it
to the transport of its channel, and records the outcome: sent; retried later
(honouring a rate limit's retry-after, else with exponential backoff and
jitter); or failed for good (the person blocked the bot, the chat is gone).
A message is marked sent only after the channel accepted it, so a crash can
at worst repeat a message, never lose one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.dialog.types import Outgoing
from bot.transports.base import DeliveryError, Sender
from storage.uow import Database

log = logging.getLogger(__name__)

BASE_BACKOFF = 2.0
MAX_BACKOFF = 600.0
MAX_ATTEMPTS = 12
BATCH = 50


def backoff(attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: exponential with full jitter."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
        *,
        idle_interval: float = 0.5,
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.clock = clock
        self.idle_interval = idle_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now (called after a commit that queued messages)."""
        self._wake.set()

    async def run_once(self) -> int:
        """Deliver what is due; return how many messages were handled."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            due = [m for m in await uow.outbox.due(now, BATCH) if m.channel in self.senders]
        for message in due:
            await self._deliver(message.id or 0)
        return len(due)

    async def _deliver(self, message_id: int) -> None:
        # Short transactions around the send: the write lock is never held while the network is slow.
        async with self.db.unit_of_work() as uow:
            message = await uow.outbox.get(message_id)
            if message is None or message.status != "pending":
                return
            outgoing = Outgoing.from_payload(message.channel, message.chat_id, message.payload)
        failure: DeliveryError | None = None
        try:
            await self.senders[outgoing.channel].deliver(outgoing)
        except DeliveryError as exc:
            failure = exc
        async with self.db.unit_of_work() as uow:
            message = await uow.outbox.get(message_id)
            if message is None:
                return
            message.attempts += 1
            if failure is None:
                message.status = "sent"
                message.sent_at = self.clock()
            else:
                message.last_error = failure.reason[:500]
                if failure.permanent or message.attempts >= MAX_ATTEMPTS:
                    message.status = "failed"
                    log.warning("outbox message %s failed for good: %s", message.id, failure.reason)
                else:
                    delay = failure.retry_after if failure.retry_after is not None else backoff(message.attempts)
                    message.next_attempt_at = self.clock() + timedelta(seconds=delay)
            await uow.outbox.save(message)

    async def run_forever(self) -> None:
        while True:
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_interval)
