"""The outbox worker: delivers queued messages, in order per chat, paced, until they arrive.

Messages are rows written in the same transaction as their cause (a notice to a citizen, a new
case for officers, a digest). The worker takes the oldest pending message of each chat whose
time has come, hands it to the transport of its channel, and records the outcome:

* sent: one UPDATE right after the channel accepted it (messages accepted meanwhile join it),
  so that the window in which a crash repeats a message (accepted by Telegram, not yet
  recorded here) is one short transaction long;
* retried later: a rate limit's ``retry_after`` is honoured for the message and pauses its
  channel; server and network errors back off exponentially with jitter;
* held (status ``held``), on a channel that declares a reply window (``reply_window`` on its
  sender: the Zalo OA), when the person's last message is older than the window, they
  unfollowed, or the channel says the window is closed: the dialog engine releases held messages
  in the transaction of the person's next message. Before holding a citizen's notice about their
  own case, a channel offering ``send_template_notice`` (the OA with a ZNS template) may carry
  it as a template with only the case's code, status and unit, to the phone number the person
  gave for the case: the row is then sent (``sent_as`` in its payload);
* an exhausted quota (``DeliveryError.quota``) also tells the administrators, once a channel a
  day, on their other channels;
* failed for good (the person blocked the bot, the chat is gone, or too many attempts): the
  row keeps the error, and when the message was a citizen's notice about a case, the officers
  of the case's unit are told that the citizen did not get it.

Pacing: at most ``outbox.messages_per_second`` messages in any second over all channels
together, and at least ``outbox.chat_interval_seconds`` between two messages to one chat. Both
are counted the way the receiving side counts them: a send may start only a second after the
send ``rate`` places before it *completed* (the receiver saw that one no later than that), so
jitter on the way can never bunch them into one second there. A token bucket timed on our side
cannot promise that; the price is one round trip per second of sending. A message cut into
several pieces counts once per piece. Up to ``concurrency`` messages are in flight at once,
never two to the same chat, so order per chat holds.

A message is marked sent only after the channel accepted it, so a crash can at worst repeat a
message, never lose one (docs/reliability.md measures how rarely that happens).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from bot import crashpoints
from bot.config import OutboxConfig
from bot.dialog.types import Outgoing
from bot.services.container import Services
from bot.text import international_phone, plain_text
from bot.transports.base import DeliveryError, Sender, TemplateNotice
from storage.models import OutboxMessage
from storage.private import delete_with_empty_folders
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")

EMAIL_CHANNEL = "email"  # bot/transports/email.py: where a staff member's undeliverable notices go
BASE_BACKOFF = 2.0
MAX_BACKOFF = 600.0
MAX_ATTEMPTS = 12
BATCH = 100
CONCURRENCY = 8
STOP_GRACE = 5.0  # seconds in-flight deliveries get to finish when the worker stops


def backoff(attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: exponential with full jitter."""
    ceiling = min(MAX_BACKOFF, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


@dataclass
class _Send:
    done: asyncio.Event = field(default_factory=asyncio.Event)
    done_at: float = 0.0


class SendWindow:
    """At most ``rate`` sends a second, however the receiver slices its seconds.

    ``limit = floor(rate)`` sends (at least one) per ``limit / rate`` seconds: a send waits until
    the one ``limit`` places before it has completed and that long has passed since.
    """

    def __init__(
        self,
        rate: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = max(1, math.floor(rate))
        self.window = self.limit / rate
        self.monotonic = monotonic
        self.sleep = sleep
        self._sends: deque[_Send] = deque(maxlen=self.limit)
        self._lock = asyncio.Lock()

    async def acquire(self, cost: int = 1) -> list[_Send]:
        """Wait for room for ``cost`` sends; hand the result to :meth:`release` once they are done."""
        taken: list[_Send] = []
        try:
            async with self._lock:
                for _ in range(max(1, cost)):
                    oldest = self._sends[0] if len(self._sends) == self.limit else None
                    # A message of more pieces than the limit cannot wait for its own pieces.
                    if oldest is not None and not any(oldest is send for send in taken):
                        await oldest.done.wait()
                        wait = oldest.done_at + self.window - self.monotonic()
                        if wait > 0:
                            await self.sleep(wait)
                    send = _Send()
                    self._sends.append(send)
                    taken.append(send)
        except BaseException:
            self.release(taken)  # cancelled while waiting: do not hold up the senders behind
            raise
        return taken

    def release(self, sends: list[_Send]) -> None:
        now = self.monotonic()
        for send in sends:
            send.done_at = now
            send.done.set()


@dataclass
class DeliveryStats:
    """What the worker measured: deliveries and the window in which a crash would repeat one."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    held: int = 0  # kept back until the person writes again (reply window closed)
    sent_by_template: int = 0  # outside the window, sent as a template notice (Zalo ZNS) instead
    window_total: float = 0.0  # seconds between "the channel answered" and "the row says sent"
    window_max: float = 0.0
    exposed_total: float = 0.0  # seconds between "the request left" and "the row says sent" (an upper bound)
    busy_total: float = 0.0  # seconds from reading a row to recording its outcome


class OutboxWorker:
    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
        *,
        idle_interval: float = 0.5,
        services: Services | None = None,
        messages_per_second: float | None = None,
        chat_interval: float | None = None,
        concurrency: int = CONCURRENCY,
        only_chat: tuple[str, str] | None = None,
    ) -> None:
        """``services`` lets the worker tell officers about undelivered notices; pacing defaults to ``[outbox]``.

        ``only_chat`` (channel, chat id) makes a worker deliver to one person only: each console
        process is one person, and another console's messages are not its to show.
        """
        self.db = db
        self.only_chat = only_chat
        self.senders = dict(senders)
        self.clock = clock
        self.idle_interval = idle_interval
        self.services = services
        pacing = services.config.outbox if services is not None else OutboxConfig()
        rate = messages_per_second if messages_per_second is not None else pacing.messages_per_second
        self.chat_interval = chat_interval if chat_interval is not None else pacing.chat_interval_seconds
        self.pacer = SendWindow(rate)
        self.concurrency = concurrency
        self.stats = DeliveryStats()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._busy: set[tuple[str, str]] = set()  # chats with a message in flight
        self._in_flight: set[int] = set()  # ids of those messages
        self._to_mark: dict[int, asyncio.Future[None]] = {}  # delivered, waiting to be recorded
        self._marker: asyncio.Task[None] | None = None
        self._chat_ready: dict[tuple[str, str], float] = {}  # monotonic time the next send to a chat may start
        self._paused: dict[str, datetime] = {}  # channel -> service-clock time a rate limit ends
        self._tasks: set[asyncio.Task[None]] = set()
        # On SQLite the worker's own transactions queue here rather than in SQLite, whose busy
        # handler sleeps for tens of milliseconds when a writer finds the lock taken: that sleep
        # would sit between "Telegram accepted" and "recorded", the window in which a kill
        # repeats. PostgreSQL locks rows, so there they run side by side.
        self._db_turn: asyncio.Lock | None = asyncio.Lock() if db.dialect == "sqlite" else None

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self._db_turn or contextlib.nullcontext(), self.db.unit_of_work() as uow:
            yield uow

    def wake(self) -> None:
        """Look at the outbox now (called after a commit that queued messages)."""
        self._wake.set()

    # ---------------------------------------------------------------- the loop

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    dispatched, wait = await self.dispatch()
                except Exception:
                    log.exception("outbox pass failed")
                    dispatched, wait = 0, self.idle_interval
                if dispatched:
                    continue
                self._wake.clear()
                # asyncio.timeout, not wait_for: on Python 3.11, wait_for swallows a cancellation
                # that arrives as the event is set (a stop while a send completes), and the
                # worker then never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
        finally:
            await self._drain()

    async def run_once(self) -> int:
        """Deliver what is due now, one after the other, without pacing (console, tools); return the count."""
        due = [m for m in await self._due() if m.channel in self.senders]
        for message in due:
            await self._deliver(message)
        return len(due)

    async def dispatch(self) -> tuple[int, float]:
        """Start deliveries for what is due and allowed now; return (started, seconds to wait if none).

        The deliveries run in the background; :meth:`settle` waits for them.
        """
        # A row in flight when the query runs may be recorded while this pass waits for a slot;
        # the row read here would still say pending: it must not be sent again.
        in_flight = set(self._in_flight)
        due = await self._due()
        wait = self.idle_interval
        started = 0
        for message in due:
            key = (message.channel, message.chat_id)
            if message.channel not in self.senders or message.id in in_flight:
                continue
            await self._slots.acquire()
            ready_in = self._chat_ready.get(key, 0.0) - time.monotonic()
            paused_until = self._paused.get(message.channel)
            if key in self._busy or ready_in > 0 or (paused_until is not None and paused_until > self.clock()):
                self._slots.release()
                if ready_in > 0:
                    wait = min(wait, ready_in)
                continue
            self._busy.add(key)
            self._in_flight.add(message.id or 0)
            task = asyncio.create_task(self._deliver_in_slot(message, key), name=f"outbox-{message.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        self._forget_idle_chats()
        return started, wait

    def _cost(self, message: Outgoing) -> int:
        pieces = getattr(self.senders[message.channel], "pieces", None)
        return max(1, int(pieces(message))) if callable(pieces) else 1

    def _forget_idle_chats(self) -> None:
        if len(self._chat_ready) > 10_000:
            now = time.monotonic()
            self._chat_ready = {key: at for key, at in self._chat_ready.items() if at > now}

    async def _deliver_in_slot(self, message: OutboxMessage, key: tuple[str, str]) -> None:
        try:
            await self._deliver(message)
        except Exception:
            log.exception("outbox delivery of message %s failed", message.id)
        finally:
            # Counted from the end of the send: the chat saw the message no later than that.
            self._chat_ready[key] = time.monotonic() + self.chat_interval
            self._in_flight.discard(message.id or 0)
            self._busy.discard(key)
            self._slots.release()
            self._wake.set()

    async def settle(self) -> None:
        """Wait until the deliveries started so far are recorded."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _drain(self) -> None:
        """On stop: let in-flight deliveries finish (briefly), so that they are recorded."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---------------------------------------------------------------- one message

    async def _deliver(self, message: OutboxMessage) -> None:
        """Send one pending row (as read by this worker, the only one) and record the outcome.

        No transaction is open during the send, so a slow channel never holds SQLite's write lock;
        the success is recorded by one UPDATE that only a pending row matches.
        """
        started = time.monotonic()
        message_id = message.id or 0
        outgoing = Outgoing.from_payload(message.channel, message.chat_id, message.payload)
        window: timedelta | None = getattr(self.senders[outgoing.channel], "reply_window", None)
        if window is not None and await _uncancelled(self._outside_window(message, outgoing, window)):
            return
        sends = await self.pacer.acquire(self._cost(outgoing))
        crashpoints.reached("outbox.sending", message_id)
        crashpoints.window_opened(message_id)  # from here a kill may repeat the message
        leaving = time.monotonic()
        failure: DeliveryError | None = None
        try:
            await self.senders[outgoing.channel].deliver(outgoing)
        except DeliveryError as exc:
            failure = exc
        except Exception as exc:  # a bug in a sender: kept pending and retried, like a network error
            log.exception("unexpected error delivering outbox message %s", message_id)
            failure = DeliveryError(f"unexpected: {type(exc).__name__}")
        finally:
            self.pacer.release(sends)
        if failure is None:
            accepted = time.monotonic()
            crashpoints.reached("outbox.sent", message_id)
            await _uncancelled(self._mark_sent(message_id))
            recorded = time.monotonic()
            self.stats.sent += 1
            self.stats.window_total += recorded - accepted
            self.stats.window_max = max(self.stats.window_max, recorded - accepted)
            self.stats.exposed_total += recorded - leaving
        else:
            await _uncancelled(self._record(message_id, failure, outgoing.channel))
            recorded = time.monotonic()
        crashpoints.window_closed(message_id)
        self.stats.busy_total += recorded - started
        crashpoints.reached("outbox.recorded", message_id)
        if failure is None or failure.permanent:
            for file in [*outgoing.attachments, *([outgoing.file] if outgoing.file else [])]:
                await _uncancelled(self._release_file(file))

    async def _release_file(self, file: str) -> None:
        """Delete a delivered report file once no pending message needs it, and its folder once empty.

        Report files name people (case lists) and would otherwise stay on disk for ever. A file
        sent to several chats stays until the last of them; one whose message is retried later
        stays too (its row is still pending). A kill before this leaves the file behind.
        """
        async with self._transaction() as uow:
            needed = file in await uow.outbox.pending_files()
        if not needed:
            delete_with_empty_folders(Path(file))

    async def _outside_window(self, message: OutboxMessage, outgoing: Outgoing, window: timedelta) -> bool:
        """Whether the message was dealt with because its person's reply window is closed.

        A citizen's notice about their own case goes as the channel's template message (Zalo
        ZNS) when the channel offers one and the person gave a phone number for the case: the
        row is then sent. Otherwise, or when the template fails, the message is held.
        """
        message_id = message.id or 0
        send_template = getattr(self.senders[outgoing.channel], "send_template_notice", None)
        if not callable(send_template) or message.case_id is None:
            return await self._held_back(message_id, outgoing, window)
        async with self._transaction() as uow:
            if not await self._window_closed(uow, outgoing, window):
                return False
            notice = await self._template_notice(uow, message)
            if notice is None:
                await self._hold(uow, message_id)
                return True
        try:
            reference = await send_template(notice)
        except DeliveryError as failure:
            log.warning("outbox message %s: the template notice failed (%s); held", message_id, failure.reason)
            if failure.quota:
                await self._alert_quota(outgoing.channel, failure)
            return await self._held_back(message_id, outgoing, window, note=failure.reason)
        async with self._transaction() as uow:
            await uow.outbox.mark_sent_by_template(message_id, self.clock(), str(reference))
        self.stats.sent_by_template += 1
        log.info("outbox message %s sent as a template notice to the case's phone number", message_id)
        return True

    async def _held_back(self, message_id: int, outgoing: Outgoing, window: timedelta, *, note: str = "") -> bool:
        """Hold the message when its person's reply window is closed or they unfollowed.

        The presence row is read locked (PostgreSQL) or inside SQLite's write transaction, so a
        message the person's new message releases cannot be held after that release.
        """
        async with self._transaction() as uow:
            closed = await self._window_closed(uow, outgoing, window)
            if closed:
                await self._hold(uow, message_id, note)
            return closed

    async def _window_closed(self, uow: UnitOfWork, outgoing: Outgoing, window: timedelta) -> bool:
        presence = await uow.presence.get(outgoing.channel, outgoing.chat_id, lock=True)
        if presence is None:
            return False  # never seen writing here (older than the table): the channel decides
        return presence.unfollowed_at is not None or presence.last_inbound_at + window <= self.clock()

    async def _hold(self, uow: UnitOfWork, message_id: int, note: str = "") -> None:
        await uow.outbox.hold(message_id, note[:500] or None)
        self.stats.held += 1
        log.info("outbox message %s held: the person's reply window is closed", message_id)

    async def _template_notice(self, uow: UnitOfWork, message: OutboxMessage) -> TemplateNotice | None:
        """The template notice for a message, if it may and can go as one.

        Only a notice to the case's own citizen (never an officer's copy, which may carry a
        denunciation), only to the phone number the person gave for that case, and only the
        case's code, its status and its unit: never its content. For a denunciation not even the
        unit (the inspectorate's name would tell whoever sees the phone what the case is).
        """
        if self.services is None or message.case_id is None:
            return None
        case = await uow.cases.get(message.case_id)
        if case is None or (case.channel, case.chat_id) != (message.channel, message.chat_id):
            return None
        contact = await uow.cases.contact(case.id or 0)
        phone = international_phone(contact.phone) if contact is not None and contact.erased_at is None else None
        if phone is None:
            return None
        t = self.services.catalog.bind(self.services.config.deployment.language)
        if case.type == "to_cao":
            unit = t("outbox.template_unit_withheld")
        else:
            found = await uow.units.get(case.unit_id)
            unit = found.name if found is not None else ""
        return TemplateNotice(
            phone=phone,
            tracking_id=str(message.id),
            case_code=case.code,
            status=t(f"case_status.{case.status}"),
            unit=unit,
        )

    async def _alert_quota(self, channel: str, failure: DeliveryError) -> None:
        """The channel's quota is used up: tell the administrators (once a day), on other channels."""
        log.error("outbox: the %s quota is exhausted (%s); sending there is paused", channel, failure.reason)
        if self.services is None:
            return
        from bot.services.cases import alert_quota_exhausted

        try:
            async with self._transaction() as uow:
                await alert_quota_exhausted(uow, self.services, channel)
        except IntegrityError:
            pass  # another delivery recorded today's alert at the same moment
        self._wake.set()

    async def _due(self) -> list[OutboxMessage]:
        async def read() -> list[OutboxMessage]:
            async with self._transaction() as uow:
                return list(await uow.outbox.due(self.clock(), BATCH, chat=self.only_chat))

        return await _uncancelled(read())

    async def _mark_sent(self, message_id: int) -> None:
        """Record a delivery; deliveries that complete while a recording runs go in the next one.

        Group commit: under load one transaction records several messages, so none waits long
        behind the others' transactions, and that wait is inside the duplicate window.
        """
        done = asyncio.get_running_loop().create_future()
        self._to_mark[message_id] = done
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._record_sent(), name="outbox-record")
        await done

    async def _record_sent(self) -> None:
        while self._to_mark:
            batch, self._to_mark = self._to_mark, {}
            try:
                async with self._transaction() as uow:
                    await uow.outbox.mark_sent(list(batch), self.clock())
            except Exception as exc:
                for done in batch.values():
                    done.set_exception(exc)
                continue
            for done in batch.values():
                done.set_result(None)

    async def _record(self, message_id: int, failure: DeliveryError, channel: str) -> None:
        async with self._transaction() as uow:
            await self._record_failure(uow, message_id, failure)
        if failure.quota:
            await self._alert_quota(channel, failure)

    async def _record_failure(self, uow: UnitOfWork, message_id: int, failure: DeliveryError) -> None:
        message = await uow.outbox.get(message_id)
        if message is None or message.status != "pending":
            return
        message.attempts += 1
        message.last_error = failure.reason[:500]
        if failure.hold:
            # Refused until the person writes again (the engine releases it then).
            message.status = "held"
            self.stats.held += 1
            await uow.outbox.save(message)
            return
        if failure.permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            self.stats.failed += 1
            log.warning("outbox message %s failed for good: %s", message.id, failure.reason)
            await uow.outbox.save(message)
            await self._tell_officers(uow, message, failure)
            await self._email_instead(uow, message)
            return
        self.stats.retried += 1
        if failure.retry_after is not None:
            delay = failure.retry_after
            # A rate limit is the channel's, not the chat's: nothing goes out on it until it ends.
            until = self.clock() + timedelta(seconds=delay)
            self._paused[message.channel] = max(until, self._paused.get(message.channel, until))
        else:
            delay = backoff(message.attempts)
        message.next_attempt_at = self.clock() + timedelta(seconds=delay)
        await uow.outbox.save(message)

    async def _email_instead(self, uow: UnitOfWork, message: OutboxMessage) -> None:
        """A staff member's chat failed for good: their e-mail address (/email) gets the message.

        Queued in the transaction that records the failure, so it is sent exactly when the chat
        is given up on, and once.
        """
        if self.services is None or not self.services.config.email.enabled or message.channel == EMAIL_CHANNEL:
            return
        staff = await uow.staff.active_by_chat(message.channel, message.chat_id)
        if staff is None or not staff.email:
            return
        outgoing = Outgoing.from_payload(message.channel, message.chat_id, message.payload)
        language = self.services.config.deployment.language
        mail = Outgoing(
            EMAIL_CHANNEL,
            staff.email,
            outgoing.text,
            subject=plain_text(
                self.services.catalog.text(language, "staff_email.undelivered_subject", channel=message.channel)
            ),
            attachments=outgoing.attachments + ((outgoing.file,) if outgoing.file else ()),
        )
        now = self.clock()
        await uow.outbox.add(
            OutboxMessage(
                channel=EMAIL_CHANNEL,
                chat_id=staff.email,
                payload=mail.to_payload(),
                next_attempt_at=now,
                created_at=now,
                case_id=message.case_id,
            )
        )
        log.info("outbox message %s e-mailed to its staff member instead", message.id)

    async def _tell_officers(self, uow: UnitOfWork, message: OutboxMessage, failure: DeliveryError) -> None:
        """A citizen's notice about a case could not be delivered: the case's officers must know."""
        if self.services is None or message.case_id is None:
            return
        case = await uow.cases.get(message.case_id)
        if case is None or (case.channel, case.chat_id) != (message.channel, message.chat_id):
            return  # a message to an officer: telling officers about it would go in circles
        from bot.services.casework import tell_unit

        await tell_unit(uow, self.services, case, "outbox.undelivered", reason=_reason(self.services, failure))


async def _uncancelled(operation: Coroutine[Any, Any, T]) -> T:
    """Run a transaction to its end even if the caller is cancelled meanwhile (a stop).

    Cancelled halfway, an aiosqlite connection can go back to the pool inside a transaction
    that holds SQLite's write lock; the caller still sees the cancellation.
    """
    return await asyncio.shield(asyncio.ensure_future(operation))


def _reason(services: Services, failure: DeliveryError) -> str:
    """The failure in the officers' words (the technical reason stays in outbox.last_error)."""
    text = failure.reason.lower()
    if "blocked" in text or "forbidden" in text or "403" in text:
        key = "outbox.reason_blocked"
    elif "not found" in text or "deactivated" in text:
        key = "outbox.reason_gone"
    else:
        key = "outbox.reason_other"
    return services.catalog.text(services.config.deployment.language, key)
