"""Aggregation queries for the reports to Nội vụ (weekly digest, six-month and annual reports).

Why this module exists: reports must stay fast on a million cases, so every figure is computed
by the database (GROUP BY over indexed columns), never by looping over cases in Python. The
queries return small grids keyed by (case type, unit id) that the report code rolls up.

The case list (one row per case, tens of thousands a week on a million cases) is the exception
to "small grids": :meth:`ReportQueries.case_rows` gives its rows as plain values, in batches;
turning them into a spreadsheet is bot/reports/workbook.py's business, not the database's.

Two rules hold for every query here:

* ``case_contacts`` is never read: a denouncer's identity cannot reach a report. Only the
  ``anonymous`` flag of a case is exported.
* "Local date" means the date in the deployment's time zone. PostgreSQL converts with the zone
  name; SQLite has no zone database, so the zone's offset at the report's time is applied
  (Asia/Ho_Chi_Minh has had no daylight saving time since 1975, so the offset is fixed).

Definitions (shared with the report text):

* finished: status resolved, closed or rejected; the finish moment is
  ``coalesce(resolved_at, closed_at)`` (a rejected case may only have ``closed_at``);
* on time: finished on a local date not after ``coalesce(final_due, first_due)``;
* open at a moment T: received before T and not finished before T;
* overdue at T: open at T with its due date before the local date of T.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    Date,
    Executable,
    Integer,
    Result,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import READ_ONLY, read_only_engine
from storage.models import Case, FaqFeedback, FaqRecord, Rating

FINISHED_STATUSES = ("resolved", "closed", "rejected")
OPEN_STATUSES = ("received", "accepted", "need_info")

_cases = Case.__table__  # type: ignore[attr-defined]
_ratings = Rating.__table__  # type: ignore[attr-defined]
_faq_log = FaqFeedback.__table__  # type: ignore[attr-defined]
_faq_entries = FaqRecord.__table__  # type: ignore[attr-defined]

# The expression the index ix_cases_finished_at (migration 0002) is built on: keep them identical.
finished_at = func.coalesce(_cases.c.resolved_at, _cases.c.closed_at)
due_date = func.coalesce(_cases.c.final_due, _cases.c.first_due)


@dataclass(frozen=True)
class Window:
    """What a report covers: [start, end) in UTC, judged "as of" a moment, for some units."""

    start: datetime
    end: datetime
    as_of: datetime  # the moment open and overdue cases are counted at (the end, or now if earlier)
    as_of_date: date  # the local date of as_of
    tz: ZoneInfo
    unit_ids: tuple[int, ...] | None = None  # None: every unit


@dataclass(frozen=True)
class TipFigures:
    """Anonymous tips (to_cao with ``anonymous``) in the window: received and finished by unit,
    and the ones the to_cao overdue figures would count (unit, count) with their codes."""

    received: list[tuple[int, int]]
    finished: list[FinishedRow]
    overdue: list[tuple[int, int]]
    overdue_codes: set[str]


@dataclass(frozen=True)
class FinishedRow:
    type: str
    unit_id: int
    finished: int
    rejected: int
    on_time: int
    handling_seconds: float


@dataclass(frozen=True)
class RatingRow:
    type: str
    unit_id: int
    ratings: int
    score_sum: int
    satisfied: int
    solved: int


@dataclass(frozen=True)
class OverdueCase:
    code: str
    type: str
    unit_id: int
    due: date
    received_at: datetime


@dataclass(frozen=True)
class FaqFigures:
    questions: int
    answered: int  # the bot answered on its own (outcome "answer")
    unsure: int
    unanswered: int
    forwarded: int  # sent on to an officer as a case
    helpful: int
    not_helpful: int


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One row of the case list: stored values, as the database holds them."""

    code: str
    type: str
    unit_id: int
    channel: str
    anonymous: bool
    status: str
    received_at: datetime  # UTC, like every timestamp here
    accepted_at: datetime | None
    first_reply_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_due: date
    final_due: date | None
    extensions: int
    verdict: str  # on_time, late (finished), overdue or open, as of the window
    score: int | None  # of the latest rating
    solved: bool | None  # of the latest rating


class ReportQueries:
    """Read-only aggregations on the session of one unit of work."""

    def __init__(self, session: AsyncSession, connection: AsyncConnection | None = None) -> None:
        self.session = session
        self._connection = connection  # another read-only connection than the session's (see readers)

    async def _execute(self, query: Executable) -> Result[*tuple[Any, ...]]:
        connection = self._connection or await self.session.connection()
        return await connection.execute(query)

    @property
    def parallel(self) -> bool:
        """Whether :meth:`readers` can open connections besides the session's."""
        return isinstance(self.session.bind, AsyncEngine)

    @property
    def _dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else ""

    @asynccontextmanager
    async def readers(self, count: int) -> AsyncIterator[list[ReportQueries]]:
        """``count`` of these objects on different connections, to run independent queries at
        the same time, each on its own core: on PostgreSQL in their own server processes, on
        SQLite in their own threads (WAL lets readers run side by side). The first is this
        object (on the session's connection); the others are on connections of their own. Fewer when the session has no engine to take connections from.

        The other connections are always read-only (SQLite: a deferred ``BEGIN``, no write
        lock), whatever this session's unit of work. Each query sees a consistent snapshot, as
        on PostgreSQL where every statement sees what was committed when it started; two
        queries on different connections may see the data a few milliseconds apart.
        """
        engine = self.session.bind
        async with AsyncExitStack() as stack:
            found = [self]
            if isinstance(engine, AsyncEngine):
                # A read-only session's engine is already the readers' one (on SQLite an engine
                # of its own, with a thread per connection); from any other, take that one.
                reader_engine = engine if engine.get_execution_options().get(READ_ONLY) else read_only_engine(engine)
                while len(found) < count:
                    connection = await stack.enter_async_context(reader_engine.connect())
                    found.append(ReportQueries(self.session, connection))
            yield found

    def _local_date(self, column: Any, window: Window) -> ColumnElement[Any]:
        if self._dialect == "postgresql":
            return cast(func.timezone(window.tz.key, column), Date)
        offset = window.tz.utcoffset(window.as_of.replace(tzinfo=None)) or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        return func.date(column, f"{minutes:+d} minutes")

    def _on_time(self, window: Window) -> ColumnElement[bool]:
        """Finished on a local date not after the due date."""
        offset = window.tz.utcoffset(window.as_of.replace(tzinfo=None)) or timedelta(0)
        if self._dialect == "sqlite" and timedelta(0) < offset < timedelta(days=1):
            # The local day `due` ends at (24h - offset) UTC on the same date: compare the stored
            # text with that moment's text instead of converting every row's timestamp.
            end_of_due = datetime.min + (timedelta(days=1) - offset)
            suffix = end_of_due.strftime(" %H:%M:%S")
            return type_coerce(finished_at, String) < type_coerce(due_date, String).concat(suffix)
        return self._local_date(finished_at, window) <= due_date

    def _seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        if self._dialect == "postgresql":
            return func.extract("epoch", end - start)
        return (func.julianday(end) - func.julianday(start)) * 86400.0

    def _rare(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        """Tell SQLite's planner that ``condition`` holds for few rows, so that it reads the index
        on it (without range statistics it may scan an index on status or type instead)."""
        if self._dialect == "sqlite":
            return func.unlikely(condition)
        return condition

    def _units(self, window: Window) -> list[ColumnElement[bool]]:
        if window.unit_ids is None:
            return []
        return [_cases.c.unit_id.in_(window.unit_ids)]

    def _received_in(self, window: Window) -> ColumnElement[bool]:
        return and_(_cases.c.received_at >= window.start, _cases.c.received_at < window.end)

    def _finished_in(self, window: Window) -> ColumnElement[bool]:
        return and_(finished_at >= window.start, finished_at < window.end, _cases.c.status.in_(FINISHED_STATUSES))

    def _overdue_parts(self, window: Window) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """Overdue at as_of, as two conditions that each follow one covering index: cases still
        open now, and cases finished only after as_of."""
        late = and_(due_date < window.as_of_date, _cases.c.received_at < window.as_of)
        still_open = and_(_cases.c.status.in_(OPEN_STATUSES), late)
        finished_after = and_(self._rare(finished_at >= window.as_of), _cases.c.status.in_(FINISHED_STATUSES), late)
        return still_open, finished_after

    async def received(self, window: Window) -> list[tuple[str, int, int]]:
        """(type, unit id, cases received in the window)."""
        query = (
            select(_cases.c.type, _cases.c.unit_id, func.count())
            .where(self._received_in(window), *self._units(window))
            .group_by(_cases.c.type, _cases.c.unit_id)
        )
        rows = (await self._execute(query)).all()
        return [(str(t), int(u), int(n)) for t, u, n in rows]

    async def finished(self, window: Window) -> list[FinishedRow]:
        """Cases finished in the window, with how many on time and their total handling time."""
        on_time = case((self._on_time(window), 1), else_=0)
        rejected = case((_cases.c.status == "rejected", 1), else_=0)
        query = (
            select(
                _cases.c.type,
                _cases.c.unit_id,
                func.count(),
                func.sum(rejected),
                func.sum(on_time),
                func.sum(self._seconds_between(_cases.c.received_at, finished_at)),
            )
            .where(self._finished_in(window), *self._units(window))
            .group_by(_cases.c.type, _cases.c.unit_id)
        )
        rows = (await self._execute(query)).all()
        return [
            FinishedRow(str(t), int(u), int(n), int(r or 0), int(o or 0), float(s or 0.0)) for t, u, n, r, o, s in rows
        ]

    async def overdue(self, window: Window) -> list[tuple[str, int, int]]:
        """(type, unit id, cases overdue at the window's as-of moment)."""
        counts: dict[tuple[str, int], int] = {}
        for part in self._overdue_parts(window):
            query = (
                select(_cases.c.type, _cases.c.unit_id, func.count())
                .where(part, *self._units(window))
                .group_by(_cases.c.type, _cases.c.unit_id)
            )
            for t, u, n in (await self._execute(query)).all():
                key = (str(t), int(u))
                counts[key] = counts.get(key, 0) + int(n)
        return [(t, u, n) for (t, u), n in sorted(counts.items())]

    async def open_cases(self, window: Window) -> list[tuple[str, int, int]]:
        """(type, unit id, cases open at the window's as-of moment): received before it and not
        finished before it. Two index ranges, as :meth:`overdue`: still open, finished after."""
        counts: dict[tuple[str, int], int] = {}
        received = _cases.c.received_at < window.as_of
        parts = (
            and_(_cases.c.status.in_(OPEN_STATUSES), received),
            and_(self._rare(finished_at >= window.as_of), _cases.c.status.in_(FINISHED_STATUSES), received),
        )
        for part in parts:
            query = (
                select(_cases.c.type, _cases.c.unit_id, func.count())
                .where(part, *self._units(window))
                .group_by(_cases.c.type, _cases.c.unit_id)
            )
            for t, u, n in (await self._execute(query)).all():
                key = (str(t), int(u))
                counts[key] = counts.get(key, 0) + int(n)
        return [(t, u, n) for (t, u), n in sorted(counts.items())]

    async def overdue_cases(self, window: Window, limit: int) -> list[OverdueCase]:
        """The most overdue cases first (oldest due date), at most ``limit``."""
        columns = (_cases.c.id, _cases.c.code, _cases.c.type, _cases.c.unit_id, due_date.label("due"))
        parts = [
            select(*columns, _cases.c.received_at)
            .where(part, *self._units(window))
            .order_by(due_date, _cases.c.id)
            .limit(limit)
            .subquery()
            for part in self._overdue_parts(window)
        ]
        both = union_all(*(select(part) for part in parts)).subquery()
        query = (
            select(both.c.code, both.c.type, both.c.unit_id, both.c.due, both.c.received_at)
            .order_by(both.c.due, both.c.id)
            .limit(limit)
        )
        rows = (await self._execute(query)).all()
        return [OverdueCase(str(c), str(t), int(u), _as_date(d), _as_utc(r)) for c, t, u, d, r in rows]

    async def ratings(self, window: Window) -> list[RatingRow]:
        """Ratings given in the window, by the rated case's type and unit."""
        satisfied = case((_ratings.c.score >= 4, 1), else_=0)
        solved = case((_ratings.c.solved.is_(True), 1), else_=0)
        query = (
            select(
                _cases.c.type,
                _cases.c.unit_id,
                func.count(),
                func.sum(_ratings.c.score),
                func.sum(satisfied),
                func.sum(solved),
            )
            .select_from(_ratings.join(_cases, _cases.c.id == _ratings.c.case_id))
            .where(_ratings.c.at >= window.start, _ratings.c.at < window.end, *self._units(window))
            .group_by(_cases.c.type, _cases.c.unit_id)
        )
        rows = (await self._execute(query)).all()
        return [RatingRow(str(t), int(u), int(n), int(s or 0), int(h or 0), int(v or 0)) for t, u, n, s, h, v in rows]

    async def faq(self, window: Window) -> FaqFigures:
        """What the procedure FAQ did with the questions asked in the window."""

        def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        query = select(
            func.count(),
            count_if(_faq_log.c.outcome == "answer"),
            count_if(_faq_log.c.outcome == "unsure"),
            count_if(_faq_log.c.outcome == "none"),
            count_if(_faq_log.c.forwarded_case_id.is_not(None)),
            count_if(_faq_log.c.helpful.is_(True)),
            count_if(_faq_log.c.helpful.is_(False)),
        ).where(_faq_log.c.at >= window.start, _faq_log.c.at < window.end)
        row = (await self._execute(query)).one()
        return FaqFigures(*(int(value or 0) for value in row))

    async def faq_topics(self, window: Window, limit: int) -> list[tuple[str, int]]:
        """The FAQ topics people asked about most (questions matched to an entry)."""
        count = func.count().label("n")
        query = (
            select(_faq_entries.c.topic, count)
            .select_from(_faq_log.join(_faq_entries, _faq_entries.c.id == _faq_log.c.entry_id))
            .where(_faq_log.c.at >= window.start, _faq_log.c.at < window.end)
            .group_by(_faq_entries.c.topic)
            .order_by(count.desc(), _faq_entries.c.topic)
            .limit(limit)
        )
        rows = (await self._execute(query)).all()
        return [(str(topic), int(n)) for topic, n in rows]

    async def case_ids(self, window: Window) -> list[int]:
        """The ids of every case received, finished or overdue in the window, in the order of
        the case list (oldest received first)."""
        # A union of index-only selections (each index holds received_at), sorted; not a join
        # back to the table, which PostgreSQL would plan as a scan of every case.
        conditions = (self._received_in(window), self._finished_in(window), *self._overdue_parts(window))
        found = union(
            *(
                select(_cases.c.id, _cases.c.received_at).where(condition, *self._units(window))
                for condition in conditions
            )
        ).subquery()
        # The ids come back in one value, in order (tens of thousands of rows cost more to fetch
        # than to find): array_agg(... ORDER BY ...) on PostgreSQL; on SQLite, whose aggregates
        # take no ORDER BY before 3.44, group_concat as a window function over the ordered rows.
        order = (found.c.received_at, found.c.id)
        if self._dialect == "postgresql":
            array = (await self._execute(select(func.array_agg(aggregate_order_by(found.c.id, *order))))).scalar()
            return list(array or [])
        listed = func.group_concat(found.c.id, ",").over(order_by=order, rows=(None, None))
        text = (await self._execute(select(listed).limit(1))).scalar()
        return [int(case_id) for case_id in text.split(",")] if text else []

    async def case_rows(self, window: Window, ids: list[int], *, batch: int = 5000) -> AsyncIterator[list[CaseRow]]:
        """The case list's rows for ``ids``, in that order, ``batch`` cases at a time.

        Each row holds the stored values (codes, type, status and channel as stored, UTC
        timestamps, due dates), the verdict judged as of the window, and the case's latest
        rating (from the index ix_ratings_case_latest). No description and no contact is read,
        only the anonymous flag.
        """
        c = _cases.c
        finished = and_(c.status.in_(FINISHED_STATUSES), finished_at.is_not(None))
        verdict = case(
            (and_(finished, self._on_time(window)), literal("on_time", String)),
            (finished, literal("late", String)),
            (due_date < window.as_of_date, literal("overdue", String)),
            else_=literal("open", String),
        )

        def latest(column: Any) -> ColumnElement[Any]:
            rating = select(column).where(_ratings.c.case_id == c.id).order_by(_ratings.c.id.desc()).limit(1)
            return rating.correlate(_cases).scalar_subquery()

        columns = (
            c.code,
            c.type,
            c.unit_id,
            c.channel,
            c.anonymous,
            c.status,
            c.received_at,
            c.accepted_at,
            c.first_reply_at,
            c.resolved_at,
            c.closed_at,
            c.first_due,
            c.final_due,
            c.extensions,
            verdict,
            latest(_ratings.c.score),
            latest(_ratings.c.solved),
        )
        for first in range(0, len(ids), batch):
            chunk = ids[first : first + batch]
            if self._dialect == "postgresql":
                # unnest(...) WITH ORDINALITY: the batch's ids in one array parameter, with their
                # positions, which give the order.
                page = (
                    func.unnest(bindparam("ids", chunk, type_=ARRAY(Integer)))
                    .table_valued("id", with_ordinality="at")
                    .render_derived("page")
                )
                query = select(*columns).select_from(page.join(_cases, c.id == page.c.id)).order_by(page.c.at)
            else:
                # json_each(...): the batch's ids in one JSON parameter, with their positions.
                page = func.json_each(bindparam("ids", json.dumps(chunk), type_=String)).table_valued("key", "value")
                query = select(*columns).select_from(page.join(_cases, c.id == page.c.value)).order_by(page.c.key)
            result = await self._execute(query)
            yield [CaseRow(*row) for row in result.all()]

    async def tips(self, window: Window) -> TipFigures:
        """The anonymous tips among the to_cao figures, to be counted apart (Luật Tố cáo Art. 25:
        information, not a denunciation; it has no statutory deadline, so it is never overdue)."""
        tip = and_(_cases.c.type == "to_cao", _cases.c.anonymous.is_(True))
        received_query = (
            select(_cases.c.unit_id, func.count())
            .where(self._received_in(window), tip, *self._units(window))
            .group_by(_cases.c.unit_id)
        )
        received = [(int(u), int(n)) for u, n in (await self._execute(received_query)).all()]
        on_time = case((self._on_time(window), 1), else_=0)
        rejected = case((_cases.c.status == "rejected", 1), else_=0)
        finished_query = (
            select(
                _cases.c.unit_id,
                func.count(),
                func.sum(rejected),
                func.sum(on_time),
                func.sum(self._seconds_between(_cases.c.received_at, finished_at)),
            )
            .where(self._finished_in(window), tip, *self._units(window))
            .group_by(_cases.c.unit_id)
        )
        finished = [
            FinishedRow("to_cao", int(u), int(n), int(r or 0), int(o or 0), float(x or 0.0))
            for u, n, r, o, x in (await self._execute(finished_query)).all()
        ]
        overdue: dict[int, int] = {}
        codes: set[str] = set()
        for part in self._overdue_parts(window):
            query = select(_cases.c.unit_id, _cases.c.code).where(part, tip, *self._units(window))
            for u, code in (await self._execute(query)).all():
                overdue[int(u)] = overdue.get(int(u), 0) + 1
                codes.add(str(code))
        return TipFigures(received, finished, sorted(overdue.items()), codes)

    async def bare_group_by(self, window: Window) -> list[tuple[str, int, int]]:
        """The plainest aggregation over the same data, as a yardstick for benchmarks."""
        query = (
            select(_cases.c.type, _cases.c.unit_id, func.count())
            .where(_cases.c.received_at >= window.start, _cases.c.received_at < window.end)
            .group_by(_cases.c.type, _cases.c.unit_id)
        )
        return [(str(t), int(u), int(n)) for t, u, n in (await self._execute(query)).all()]


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
