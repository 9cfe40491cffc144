"""The unit of work: one transaction, with every repository bound to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import migrate
from storage.db import create_engine, dispose, read_only_engine, session_factory
from storage.repositories import (
    AuditRepo,
    CaseRepo,
    ChoiceRepo,
    CitizenRepo,
    ConversationRepo,
    FaqRepo,
    InviteRepo,
    OutboxRepo,
    PresenceRepo,
    PublishRepo,
    ReportRepo,
    StaffRepo,
    TokenRepo,
    UnitRepo,
    UpdateRepo,
)


class UnitOfWork:
    """The repositories of one session, sharing its transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.units = UnitRepo(session)
        self.citizens = CitizenRepo(session)
        self.cases = CaseRepo(session)
        self.conversations = ConversationRepo(session)
        self.choices = ChoiceRepo(session)
        self.updates = UpdateRepo(session)
        self.outbox = OutboxRepo(session)
        self.staff = StaffRepo(session)
        self.invites = InviteRepo(session)
        self.audit = AuditRepo(session)
        self.faq = FaqRepo(session)
        self.reports = ReportRepo(session)
        self.presence = PresenceRepo(session)
        self.tokens = TokenRepo(session)
        self.published = PublishRepo(session)

    @property
    def dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else ""


# The databases whose write turn the current task holds (see Database._write_turn).
_TURNS_HELD: ContextVar[frozenset[int]] = ContextVar("tiepdan_write_turns", default=frozenset())


class Database:
    """An engine and the way to open units of work on it.

    On SQLite every unit of work takes the write lock when it begins (``BEGIN IMMEDIATE``), and
    a connection that finds it taken sleeps in SQLite's busy handler (1, 2, 5, 10... ms) and
    tries again, so under load transactions wait in no order and the lock sits idle between
    them. Units of work of this process therefore take turns in an ``asyncio.Lock`` first, in
    the order they came, and the lock passes straight from one to the next (measured in
    docs/benchmarks.md, "Load"). One opened inside another by the same task (or by a task it
    started) does not wait for the turn its caller holds; it goes to SQLite as before. Other
    processes (the CLI) still meet the busy handler. PostgreSQL locks rows: no turns there.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self._sessions = session_factory(self.engine)
        self._read_sessions = session_factory(read_only_engine(self.engine))
        self._turn: asyncio.Lock | None = asyncio.Lock() if self.engine.dialect.name == "sqlite" else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Commit when the block ends normally, roll back when it raises."""
        async with self._write_turn(), self._sessions() as session:
            uow = UnitOfWork(session)
            try:
                yield uow
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[None]:
        """SQLite: wait until this process's other units of work are done (see the class)."""
        held = _TURNS_HELD.get()
        if self._turn is None or id(self) in held:
            yield
            return
        async with self._turn:
            token = _TURNS_HELD.set(held | {id(self)})
            try:
                yield
            finally:
                _TURNS_HELD.reset(token)

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that only reads: it never holds SQLite's write lock (deferred
        ``BEGIN``), and on PostgreSQL its transaction is ``READ ONLY`` (a write raises).
        Never committed: closing the session ends the transaction, and the objects read stay
        loaded (a rollback would expire them)."""
        async with self._read_sessions() as session:
            yield UnitOfWork(session)

    async def upgrade(self) -> None:
        await migrate.upgrade(self.engine)

    async def close(self) -> None:
        await dispose(self.engine)
