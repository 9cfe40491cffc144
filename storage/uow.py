"""The unit of work: one transaction, with every repository bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import migrate
from storage.db import create_engine, read_only_engine, session_factory
from storage.repositories import (
    AuditRepo,
    CaseRepo,
    ChoiceRepo,
    CitizenRepo,
    ConversationRepo,
    FaqRepo,
    InviteRepo,
    OutboxRepo,
    ReportRepo,
    StaffRepo,
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

    @property
    def dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else ""


class Database:
    """An engine and the way to open units of work on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self._sessions = session_factory(self.engine)
        self._read_sessions = session_factory(read_only_engine(self.engine))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Commit when the block ends normally, roll back when it raises."""
        async with self._sessions() as session:
            uow = UnitOfWork(session)
            try:
                yield uow
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

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
        await self.engine.dispose()
