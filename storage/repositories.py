"""Repositories: the only place that writes SQL for the rest of the project.

Each repository wraps the session of one unit of work; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, not_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEntry,
    Case,
    CaseContact,
    CaseEvent,
    ChatPresence,
    ChoiceToken,
    Citizen,
    Conversation,
    Counter,
    FaqFeedback,
    FaqRecord,
    Invite,
    OAuthTokens,
    OutboxMessage,
    ProcessedUpdate,
    PublishedAnswer,
    Rating,
    ReceptionSlot,
    ReportRun,
    Staff,
    Unit,
)
from storage.types import utcnow


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model (for statements that need no ORM objects)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


# Statements every inbound update runs, built once: SQLAlchemy then reuses their compiled form
# without building and hashing a new statement each time (bound values go in ``params``).
_CITIZEN_BY_USER = select(Citizen).where(
    Citizen.channel == bindparam("channel"), Citizen.channel_user_id == bindparam("user")
)
_ACTIVE_STAFF_BY_USER = select(Staff).where(
    Staff.channel == bindparam("channel"), Staff.channel_user_id == bindparam("user"), col(Staff.active).is_(True)
)
_CONVERSATION = select(Conversation).where(
    Conversation.channel == bindparam("channel"), Conversation.chat_id == bindparam("chat")
)
_CONVERSATION_FOR_UPDATE = _CONVERSATION.with_for_update()
_CLAIM = {
    "sqlite": sqlite_insert(table_of(ProcessedUpdate)).on_conflict_do_nothing(),
    "postgresql": postgresql_insert(table_of(ProcessedUpdate)).on_conflict_do_nothing(),
}
_ADD_TOKENS = insert(table_of(ChoiceToken))

OPEN_STATUSES = ("received", "accepted", "need_info")


# What a delivered message's payload becomes when its text is no longer kept.
BLANK_PAYLOAD: dict[str, Any] = {"text": "", "buttons": [], "photo": None}
CANCELLED = "cancelled"  # outbox status of a message withdrawn before it was sent


class _Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else ""


class UnitRepo(_Repo):
    async def in_profile(self, profile: str) -> Sequence[Unit]:
        result = await self.session.exec(select(Unit).where(Unit.profile == profile).order_by(col(Unit.id)))
        return result.all()

    async def all(self) -> Sequence[Unit]:
        return (await self.session.exec(select(Unit).order_by(col(Unit.id)))).all()

    async def get(self, unit_id: int) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def by_code(self, profile: str, code: str) -> Unit | None:
        result = await self.session.exec(select(Unit).where(Unit.profile == profile, Unit.code == code))
        return result.first()

    async def upsert(self, unit: Unit) -> Unit:
        existing = await self.by_code(unit.profile, unit.code)
        if existing is None:
            self.session.add(unit)
            await self.session.flush()
            return unit
        for field in Unit.model_fields:
            if field != "id":
                setattr(existing, field, getattr(unit, field))
        self.session.add(existing)
        await self.session.flush()
        return existing

    async def replace_reception(self, unit_id: int, slots: Sequence[ReceptionSlot]) -> None:
        await self.session.exec(delete(ReceptionSlot).where(col(ReceptionSlot.unit_id) == unit_id))
        for slot in slots:
            slot.unit_id = unit_id
            self.session.add(slot)
        await self.session.flush()

    async def reception(self, unit_id: int) -> Sequence[ReceptionSlot]:
        result = await self.session.exec(
            select(ReceptionSlot)
            .where(ReceptionSlot.unit_id == unit_id)
            .order_by(col(ReceptionSlot.weekday), col(ReceptionSlot.start))
        )
        return result.all()


class CitizenRepo(_Repo):
    async def get(self, citizen_id: int) -> Citizen | None:
        return await self.session.get(Citizen, citizen_id)

    async def find(self, channel: str, channel_user_id: str) -> Citizen | None:
        result = await self.session.exec(_CITIZEN_BY_USER, params={"channel": channel, "user": channel_user_id})
        return result.first()

    async def get_or_create(
        self, channel: str, channel_user_id: str, chat_id: str, display_name: str | None
    ) -> Citizen:
        citizen = await self.find(channel, channel_user_id)
        if citizen is None:
            citizen = Citizen(
                channel=channel, channel_user_id=channel_user_id, chat_id=chat_id, display_name=display_name
            )
            self.session.add(citizen)
            await self.session.flush()
        return citizen

    async def save(self, citizen: Citizen) -> None:
        self.session.add(citizen)
        await self.session.flush()


class CaseRepo(_Repo):
    async def next_seq(self, year: int) -> int:
        """The next case number of the year, allocated inside the current transaction."""
        name = f"case-{year}"
        result = await self.session.exec(
            update(Counter).where(col(Counter.name) == name).values(value=Counter.value + 1).returning(Counter.value)  # type: ignore[call-overload]
        )
        value = result.scalar_one_or_none()
        if value is not None:
            return int(value)
        self.session.add(Counter(name=name, value=1))
        await self.session.flush()
        return 1

    async def add(self, case: Case, contact: CaseContact | None) -> Case:
        self.session.add(case)
        await self.session.flush()
        if contact is not None:
            assert case.id is not None
            contact.case_id = case.id
            self.session.add(contact)
            await self.session.flush()
        return case

    async def get(self, case_id: int) -> Case | None:
        return await self.session.get(Case, case_id)

    async def by_code(self, code: str) -> Case | None:
        result = await self.session.exec(select(Case).where(Case.code == code.upper()))
        return result.first()

    async def lock(self, case_id: int) -> Case | None:
        result = await self.session.exec(select(Case).where(Case.id == case_id).with_for_update())
        return result.first()

    async def save(self, case: Case) -> None:
        self.session.add(case)
        await self.session.flush()

    async def of_citizen(self, citizen_id: int, limit: int = 20) -> Sequence[Case]:
        result = await self.session.exec(
            select(Case).where(Case.citizen_id == citizen_id).order_by(col(Case.id).desc()).limit(limit)
        )
        return result.all()

    async def second_complaint_of(self, case_id: int) -> Case | None:
        """The second complaint (round 2) lodged against this case's decision, if any."""
        result = await self.session.exec(select(Case).where(Case.parent_id == case_id, Case.round == 2).limit(1))
        return result.first()

    async def awaiting_info(self, citizen_id: int, limit: int = 10) -> Sequence[Case]:
        """The citizen's cases that asked them for more information, newest first."""
        result = await self.session.exec(
            select(Case)
            .where(Case.citizen_id == citizen_id, Case.status == "need_info")
            .order_by(col(Case.id).desc())
            .limit(limit)
        )
        return result.all()

    async def contact(self, case_id: int) -> CaseContact | None:
        return await self.session.get(CaseContact, case_id)

    async def erase_contacts(self, citizen_id: int, now: datetime, *, keep: Sequence[int] = ()) -> None:
        """Anonymise the contact stored with the cases of a citizen but ``keep``; the case content stays."""
        case_ids = select(Case.id).where(Case.citizen_id == citizen_id, col(Case.id).not_in(list(keep)))
        await self.session.exec(
            update(CaseContact)
            .where(col(CaseContact.case_id).in_(case_ids))
            .values(full_name=None, phone=None, address=None, erased_at=now)
        )

    async def erase_held_contacts(
        self, types: Sequence[str], open_statuses: Sequence[str], finished_before: datetime, now: datetime
    ) -> int:
        """Anonymise contacts held for a legal case of an erased citizen, finished before the moment."""
        finished = func.coalesce(Case.closed_at, Case.resolved_at)
        case_ids = (
            select(Case.id)
            .join(Citizen, col(Citizen.id) == col(Case.citizen_id))
            .where(
                col(Case.type).in_(list(types)),
                col(Case.status).not_in(list(open_statuses)),
                col(Citizen.erased_at).is_not(None),
                finished < finished_before,
            )
        )
        result = await self.session.exec(
            update(CaseContact)
            .where(col(CaseContact.case_id).in_(case_ids), col(CaseContact.erased_at).is_(None))
            .values(full_name=None, phone=None, address=None, erased_at=now)
        )
        return int(result.rowcount or 0)

    async def add_event(self, event: CaseEvent) -> CaseEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def count_events(self, case_id: int, kind: str) -> int:
        result = await self.session.exec(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
        )
        return int(result.one())

    async def events(self, case_id: int, *, public_only: bool) -> Sequence[CaseEvent]:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id)
        if public_only:
            query = query.where(CaseEvent.visibility == "public")
        return (await self.session.exec(query.order_by(col(CaseEvent.id)))).all()

    async def open_for_units(
        self, unit_ids: Sequence[int] | None, types: Sequence[str] | None, offset: int, limit: int
    ) -> tuple[Sequence[Case], int]:
        query = select(Case).where(col(Case.status).in_(OPEN_STATUSES))
        count = select(func.count()).select_from(Case).where(col(Case.status).in_(OPEN_STATUSES))
        if unit_ids is not None:
            query = query.where(col(Case.unit_id).in_(unit_ids))
            count = count.where(col(Case.unit_id).in_(unit_ids))
        if types is not None:
            query = query.where(col(Case.type).in_(types))
            count = count.where(col(Case.type).in_(types))
        due = func.coalesce(Case.final_due, Case.first_due)
        rows = await self.session.exec(query.order_by(due, col(Case.id)).offset(offset).limit(limit))
        total = (await self.session.exec(count)).one()
        return rows.all(), int(total)

    async def open_cases(self) -> Sequence[Case]:
        result = await self.session.exec(select(Case).where(col(Case.status).in_(OPEN_STATUSES)))
        return result.all()

    async def resolved_before(self, moment: datetime) -> Sequence[Case]:
        """Resolved cases whose resolution is older than ``moment`` (waiting for a rating that never came)."""
        result = await self.session.exec(select(Case).where(Case.status == "resolved", col(Case.resolved_at) < moment))
        return result.all()

    async def add_rating(self, rating: Rating) -> None:
        self.session.add(rating)
        await self.session.flush()

    async def ratings(self, case_id: int) -> Sequence[Rating]:
        result = await self.session.exec(select(Rating).where(Rating.case_id == case_id).order_by(col(Rating.id)))
        return result.all()


class ConversationRepo(_Repo):
    async def load(self, channel: str, chat_id: str, *, lock: bool) -> Conversation | None:
        query = _CONVERSATION_FOR_UPDATE if lock else _CONVERSATION
        return (await self.session.exec(query, params={"channel": channel, "chat": chat_id})).first()

    async def purge_idle(self, before: datetime) -> int:
        """Forget conversations idle since before ``before``, with their drafts and options."""
        result = await self.session.exec(delete(Conversation).where(col(Conversation.updated_at) < before))
        return int(result.rowcount or 0)

    async def save(self, conversation: Conversation) -> None:
        self.session.add(conversation)
        await self.session.flush()


class ChoiceRepo(_Repo):
    async def add(self, tokens: Sequence[dict[str, Any]]) -> None:
        """Store new tokens, given as column values (one statement, no ORM objects: every
        reply with buttons does this)."""
        await self.session.exec(_ADD_TOKENS, params=tokens)

    async def get(self, token: str) -> ChoiceToken | None:
        return await self.session.get(ChoiceToken, token)

    async def purge_expired(self, now: datetime) -> int:
        result = await self.session.exec(delete(ChoiceToken).where(col(ChoiceToken.expires_at) < now))
        return int(result.rowcount or 0)

    async def drop_chat(self, channel: str, chat_id: str) -> int:
        """Forget every button shown in a chat (erasure): a label may hold what the person typed."""
        result = await self.session.exec(
            delete(ChoiceToken).where(col(ChoiceToken.channel) == channel, col(ChoiceToken.chat_id) == chat_id)
        )
        return int(result.rowcount or 0)


class UpdateRepo(_Repo):
    async def claim(self, channel: str, update_id: str) -> bool:
        """Record an inbound update; False when it was already processed.

        One statement that does nothing when the key is there: on PostgreSQL a transaction
        claiming an update another one is handling waits for it, then finds the key.
        """
        values = {"channel": channel, "update_id": update_id, "at": utcnow()}
        result = await self.session.exec(_CLAIM[self._dialect], params=values)
        return bool(result.rowcount == 1)

    async def purge_before(self, moment: datetime) -> int:
        """Forget claims older than ``moment``: no channel redelivers an update that late."""
        result = await self.session.exec(delete(ProcessedUpdate).where(col(ProcessedUpdate.at) < moment))
        return int(result.rowcount or 0)


class OutboxRepo(_Repo):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self.added = 0  # messages queued in this unit of work

    async def add(self, message: OutboxMessage) -> None:
        self.session.add(message)
        await self.session.flush()
        self.added += 1

    async def due(self, now: datetime, limit: int, *, chat: tuple[str, str] | None = None) -> Sequence[OutboxMessage]:
        """Pending messages whose time has come, oldest first, at most one per chat (order per chat).

        ``chat``: only that (channel, chat id), for a worker that delivers to one person (a console).
        """
        # A notice gathering parts until its time (never tried, due later: see
        # bot.services.notify.enqueue_gathered) does not hold up the chat's other messages.
        gathering = and_(col(OutboxMessage.attempts) == 0, col(OutboxMessage.next_attempt_at) > now)
        pending = and_(col(OutboxMessage.status) == "pending", not_(gathering))
        if chat is not None:
            pending = and_(pending, col(OutboxMessage.channel) == chat[0], col(OutboxMessage.chat_id) == chat[1])
        first_pending = (
            select(func.min(OutboxMessage.id))
            .where(pending)
            .group_by(col(OutboxMessage.channel), col(OutboxMessage.chat_id))
        )
        result = await self.session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(first_pending), col(OutboxMessage.next_attempt_at) <= now)
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
        return result.all()

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def save(self, message: OutboxMessage) -> None:
        self.session.add(message)
        await self.session.flush()

    async def mark_sent(self, message_ids: Sequence[int], at: datetime) -> int:
        """Record deliveries in one statement (no read first); how many rows were still pending."""
        result = await self.session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(message_ids), col(OutboxMessage.status) == "pending")
            .values(status="sent", sent_at=at, attempts=OutboxMessage.attempts + 1)
        )
        return int(result.rowcount)

    async def hold(self, message_id: int, note: str | None = None) -> None:
        """Keep a pending message back until the person writes again (outside a reply window).

        ``note`` is why (kept in ``last_error``), e.g. a template notice that failed.
        """
        values: dict[str, object] = {"status": "held"}
        if note:
            values["last_error"] = note[:500]
        await self.session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == "pending")
            .values(**values)
        )

    async def mark_sent_by_template(self, message_id: int, at: datetime, reference: str) -> bool:
        """Record a message delivered as a template notice (Zalo ZNS) instead of itself.

        The payload says so (``sent_as``: the platform's message id), so that the row tells
        what the person got: a notification naming the case, not this text.
        """
        message = await self.session.get(OutboxMessage, message_id, populate_existing=True)
        if message is None or message.status != "pending":
            return False
        message.status = "sent"
        message.sent_at = at
        message.attempts += 1
        message.payload = {**message.payload, "sent_as": f"template:{reference}"[:120]}
        self.session.add(message)
        await self.session.flush()
        return True

    async def release(self, channel: str, chat_id: str, now: datetime) -> int:
        """The person wrote: their held messages are due now, in their order; how many."""
        result = await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.channel) == channel,
                col(OutboxMessage.chat_id) == chat_id,
                col(OutboxMessage.status) == "held",
            )
            .values(status="pending", next_attempt_at=now)
        )
        return int(result.rowcount or 0)

    async def held_for_case(self, case_id: int) -> int:
        result = await self.session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.case_id == case_id, OutboxMessage.status == "held")
        )
        return int(result.one())

    async def last_delivered_options(
        self, channel: str, chat_id: str, *, since: datetime | None
    ) -> tuple[list[list[str]], datetime | None]:
        """(label, token) pairs of the newest message with options delivered to a chat since ``since``, and when.

        What a person saw last is what the channel delivered last, not what was queued last: a
        notice queued before the person's latest exchange may reach them after it.
        """
        query = select(OutboxMessage).where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == "sent",
        )
        if since is not None:
            query = query.where(col(OutboxMessage.sent_at) >= since)
        result = await self.session.exec(
            query.order_by(col(OutboxMessage.sent_at).desc(), col(OutboxMessage.id).desc()).limit(20)
        )
        for row in result.all():
            buttons = [[str(label), str(token)] for line in row.payload.get("buttons", []) for label, token in line]
            if buttons:
                return buttons, row.sent_at
        return [], None

    async def count_pending(self, channel: str) -> int:
        result = await self.session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.channel == channel)
        )
        return int(result.one())

    async def count(self, status: str) -> int:
        result = await self.session.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status)
        )
        return int(result.one())

    async def blank_finished_before(self, moment: datetime) -> int:
        """Blank the text of messages delivered (or given up) before ``moment``; the rows stay.

        The id, chat, status and times are what the health report and the pacing need; the text
        (case excerpts, officers' replies) was for the recipient, who has it.
        """
        result = await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status).in_(("sent", "failed")),
                col(OutboxMessage.created_at) < moment,
            )
            .values(payload=BLANK_PAYLOAD)
        )
        return int(result.rowcount or 0)

    async def blank_for_chat(self, channel: str, chat_id: str) -> int:
        """Blank the text of every message already delivered to one chat (erasure)."""
        result = await self.session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.channel) == channel,
                col(OutboxMessage.chat_id) == chat_id,
                col(OutboxMessage.status).in_(("sent", "failed")),
            )
            .values(payload=BLANK_PAYLOAD)
        )
        return int(result.rowcount or 0)

    async def cancel_pending_for_staff_chat(self, channel: str, chat_id: str) -> list[str]:
        """Cancel what waits for a chat as staff: every pending message except those about the
        chat's own cases (the person's petitions). Their text is blanked; returns their files.

        Why: a notice is queued when its cause commits and sent later; someone removed from the
        staff meanwhile must not receive it (a denunciation, a case list, a reminder).
        """
        own_case = and_(
            col(OutboxMessage.case_id).is_not(None),
            col(OutboxMessage.case_id).in_(select(Case.id).where(Case.channel == channel, Case.chat_id == chat_id)),
        )
        waiting = and_(
            col(OutboxMessage.channel) == channel,
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status).in_(("pending", "held")),
            not_(own_case),
        )
        payloads = (await self.session.exec(select(OutboxMessage.payload).where(waiting))).all()
        await self.session.exec(update(OutboxMessage).where(waiting).values(status=CANCELLED, payload=BLANK_PAYLOAD))
        return [str(payload["file"]) for payload in payloads if payload.get("file")]

    async def pending_files(self) -> set[str]:
        """The local files that messages still to be sent (or held for later) will need (reports)."""
        result = await self.session.exec(
            select(OutboxMessage.payload).where(col(OutboxMessage.status).in_(("pending", "held")))
        )
        files: set[str] = set()
        for payload in result.all():
            files.update(str(path) for path in payload.get("attachments", []))
            if payload.get("file"):
                files.add(str(payload["file"]))
        return files

    async def about_case(
        self, channel: str, chat_id: str, case_id: int, *, due_since: datetime
    ) -> Sequence[OutboxMessage]:
        """A chat's messages about a case due since ``due_since`` (sent or not), oldest first."""
        result = await self.session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.case_id == case_id,
                col(OutboxMessage.next_attempt_at) >= due_since,
            )
            .order_by(col(OutboxMessage.id))
        )
        return result.all()

    async def for_chat(self, channel: str, chat_id: str) -> Sequence[OutboxMessage]:
        result = await self.session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id)
            .order_by(col(OutboxMessage.id))
        )
        return result.all()


class PresenceRepo(_Repo):
    """Last inbound time per chat, on channels with a reply window."""

    async def seen(self, channel: str, chat_id: str, at: datetime) -> None:
        """The person wrote (or followed): the window opens again and sending resumes."""
        row = await self.session.get(ChatPresence, (channel, chat_id))
        if row is None:
            row = ChatPresence(channel=channel, chat_id=chat_id, last_inbound_at=at)
        row.last_inbound_at = max(row.last_inbound_at, at)
        row.unfollowed_at = None
        self.session.add(row)
        await self.session.flush()

    async def unfollowed(self, channel: str, chat_id: str, at: datetime) -> None:
        """The person unfollowed: nothing is sent to them until they come back."""
        row = await self.session.get(ChatPresence, (channel, chat_id))
        if row is None:
            row = ChatPresence(channel=channel, chat_id=chat_id, last_inbound_at=at)
        row.unfollowed_at = at
        self.session.add(row)
        await self.session.flush()

    async def get(self, channel: str, chat_id: str, *, lock: bool = False) -> ChatPresence | None:
        statement = select(ChatPresence).where(ChatPresence.channel == channel, ChatPresence.chat_id == chat_id)
        if lock and self._dialect == "postgresql":
            statement = statement.with_for_update()
        result = await self.session.exec(statement.execution_options(populate_existing=True))
        return result.first()


class TokenRepo(_Repo):
    """OAuth tokens of channel accounts; ``lock`` takes the row for this transaction."""

    async def get(self, name: str, *, lock: bool = False) -> OAuthTokens | None:
        statement = select(OAuthTokens).where(OAuthTokens.name == name)
        if lock and self._dialect == "postgresql":
            statement = statement.with_for_update()
        result = await self.session.exec(statement.execution_options(populate_existing=True))
        return result.first()

    async def save(self, tokens: OAuthTokens) -> None:
        self.session.add(tokens)
        await self.session.flush()


class StaffRepo(_Repo):
    async def find(self, channel: str, channel_user_id: str) -> Staff | None:
        result = await self.session.exec(_ACTIVE_STAFF_BY_USER, params={"channel": channel, "user": channel_user_id})
        return result.first()

    async def active_by_chat(self, channel: str, chat_id: str) -> Staff | None:
        """The active staff member a chat belongs to, if any."""
        result = await self.session.exec(
            select(Staff).where(Staff.channel == channel, Staff.chat_id == chat_id, col(Staff.active).is_(True))
        )
        return result.first()

    async def any_record(self, channel: str, channel_user_id: str) -> Staff | None:
        result = await self.session.exec(
            select(Staff).where(Staff.channel == channel, Staff.channel_user_id == channel_user_id)
        )
        return result.first()

    async def get(self, staff_id: int) -> Staff | None:
        return await self.session.get(Staff, staff_id)

    async def save(self, staff: Staff) -> Staff:
        self.session.add(staff)
        await self.session.flush()
        return staff

    async def active(self, *, roles: Sequence[str], unit_id: int | None = None) -> Sequence[Staff]:
        query = select(Staff).where(col(Staff.active).is_(True), col(Staff.role).in_(roles))
        if unit_id is not None:
            query = query.where(Staff.unit_id == unit_id)
        return (await self.session.exec(query.order_by(col(Staff.id)))).all()

    async def active_by_user_id(self, channel_user_id: str, channel: str | None = None) -> Sequence[Staff]:
        """Active staff with this user id on any channel (or on ``channel``): the id /dscanbo shows."""
        query = select(Staff).where(Staff.channel_user_id == channel_user_id, col(Staff.active).is_(True))
        if channel is not None:
            query = query.where(Staff.channel == channel)
        return (await self.session.exec(query.order_by(col(Staff.id)))).all()

    async def all_active(self) -> Sequence[Staff]:
        return (await self.session.exec(select(Staff).where(col(Staff.active).is_(True)))).all()


class InviteRepo(_Repo):
    async def add(self, invite: Invite) -> None:
        self.session.add(invite)
        await self.session.flush()

    async def get(self, code: str) -> Invite | None:
        result = await self.session.exec(select(Invite).where(Invite.code == code).with_for_update())
        return result.first()

    async def save(self, invite: Invite) -> None:
        self.session.add(invite)
        await self.session.flush()


class AuditRepo(_Repo):
    async def record(
        self,
        *,
        channel: str,
        actor: str,
        staff_id: int | None,
        action: str,
        target: str | None,
        allowed: bool,
        detail: dict[str, Any] | None = None,
    ) -> None:
        # A refused attempt is recorded with what was typed, as far as the columns hold it.
        self.session.add(
            AuditEntry(
                channel=channel,
                actor=actor[:64],
                staff_id=staff_id,
                action=action[:40],
                target=target[:64] if target is not None else None,
                allowed=allowed,
                detail=detail or {},
            )
        )
        await self.session.flush()

    async def recent(self, limit: int = 50) -> Sequence[AuditEntry]:
        result = await self.session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit))
        return result.all()


class FaqRepo(_Repo):
    async def all(self) -> Sequence[FaqRecord]:
        return (await self.session.exec(select(FaqRecord).order_by(col(FaqRecord.id)))).all()

    async def get(self, entry_id: str) -> FaqRecord | None:
        return await self.session.get(FaqRecord, entry_id)

    async def save(self, record: FaqRecord) -> None:
        record.updated_at = utcnow()
        self.session.add(record)
        await self.session.flush()

    async def log(self, feedback: FaqFeedback) -> FaqFeedback:
        self.session.add(feedback)
        await self.session.flush()
        return feedback

    async def get_log(self, log_id: int) -> FaqFeedback | None:
        return await self.session.get(FaqFeedback, log_id)

    async def count_of_citizen(self, citizen_id: int) -> int:
        """How many typed questions of this person are kept with their words."""
        result = await self.session.exec(
            select(func.count())
            .select_from(FaqFeedback)
            .where(col(FaqFeedback.citizen_id) == citizen_id, col(FaqFeedback.query) != "")
        )
        return int(result.one())

    async def erase_of_citizen(self, citizen_id: int) -> int:
        """Blank the words this person typed and drop the link to them; the outcomes stay."""
        result = await self.session.exec(
            update(FaqFeedback).where(col(FaqFeedback.citizen_id) == citizen_id).values(query="", citizen_id=None)
        )
        return int(result.rowcount or 0)

    async def blank_before(self, moment: datetime) -> int:
        """Blank the words of questions asked before ``moment`` (retention)."""
        result = await self.session.exec(
            update(FaqFeedback)
            .where(col(FaqFeedback.at) < moment, col(FaqFeedback.query) != "")
            .values(query="", citizen_id=None)
        )
        return int(result.rowcount or 0)


class ReportRepo(_Repo):
    async def find(self, kind: str, period: str) -> ReportRun | None:
        result = await self.session.exec(select(ReportRun).where(ReportRun.kind == kind, ReportRun.period == period))
        return result.first()

    async def save(self, run: ReportRun) -> None:
        self.session.add(run)
        await self.session.flush()


class PublishRepo(_Repo):
    """Consent to publish a case's question and answer, and an officer's approval of it."""

    async def get(self, case_id: int) -> PublishedAnswer | None:
        return await self.session.get(PublishedAnswer, case_id)

    async def save(self, row: PublishedAnswer) -> None:
        self.session.add(row)
        await self.session.flush()

    async def erase_of_citizen(self, citizen_id: int) -> None:
        """Withdraw every consent (published or not) of a citizen whose data is erased."""
        case_ids = select(Case.id).where(Case.citizen_id == citizen_id)
        await self.session.exec(delete(PublishedAnswer).where(col(PublishedAnswer.case_id).in_(case_ids)))
