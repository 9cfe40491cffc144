"""What the public page and the Open311 API list one by one: published answers, map points and
service requests. Read-only, and private by construction.

Why this module exists: the figures of the public page come from :mod:`storage.report_queries`
(through ``bot.reports.figures.collect``), the same as the digest and the statutory report.
What is listed case by case is different, and every query here follows three rules so that no
response can carry a person's data:

* only phản ánh and kiến nghị (``PUBLIC_TYPES``) that were not sent anonymously are listed;
  khiếu nại, tố cáo and anonymous tips appear on the page only as counts;
* no column of ``citizens`` or ``case_contacts`` is read, nor a case's description, result or
  attachments: text comes only from ``published_answers`` rows an officer approved (copied,
  phone numbers masked, when the citizen allowed it);
* locations are rounded to 3 decimals (about 100 m) by the caller before they leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Result, and_, func, select
from sqlalchemy.sql import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Case, PublishedAnswer
from storage.report_queries import FINISHED_STATUSES

PUBLIC_TYPES = ("phan_anh", "kien_nghi")

_cases = Case.__table__  # type: ignore[attr-defined]
_published = PublishedAnswer.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PublicRequest:
    """A phản ánh or kiến nghị as the public may see it."""

    code: str
    type: str
    unit_id: int
    closed: bool
    received_at: datetime
    updated_at: datetime
    due: date
    latitude: float | None
    longitude: float | None
    question: str | None  # the published copy, or None
    answer: str | None


@dataclass(frozen=True)
class PublishedItem:
    code: str
    type: str
    unit_id: int
    question: str
    answer: str
    approved_at: datetime


class PublicQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _execute(self, query: Executable) -> Result[*tuple[Any, ...]]:
        connection = await self.session.connection()
        return await connection.execute(query)

    @staticmethod
    def _listed() -> Any:
        return and_(_cases.c.type.in_(PUBLIC_TYPES), _cases.c.anonymous.is_(False))

    def _request_query(self) -> Any:
        c = _cases.c
        updated = func.coalesce(c.closed_at, c.resolved_at, c.first_reply_at, c.accepted_at, c.received_at)
        approved = and_(_published.c.case_id == c.id, _published.c.approved_at.is_not(None))
        return select(
            c.code,
            c.type,
            c.unit_id,
            c.status,
            c.received_at,
            updated,
            func.coalesce(c.final_due, c.first_due),
            c.latitude,
            c.longitude,
            _published.c.question,
            _published.c.answer,
        ).select_from(_cases.outerjoin(_published, approved))

    async def requests(
        self,
        *,
        start: datetime,
        end: datetime,
        types: tuple[str, ...] = PUBLIC_TYPES,
        closed: bool | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> list[PublicRequest]:
        """Listed requests received in [start, end), newest first."""
        c = _cases.c
        conditions = [self._listed(), c.type.in_(types), c.received_at >= start, c.received_at < end]
        if closed is not None:
            finished = c.status.in_(FINISHED_STATUSES)
            conditions.append(finished if closed else ~finished)
        query = self._request_query().where(*conditions).order_by(c.received_at.desc(), c.id.desc())
        rows = (await self._execute(query.offset(offset).limit(limit))).all()
        return [_request(row) for row in rows]

    async def request(self, code: str) -> PublicRequest | None:
        query = self._request_query().where(self._listed(), _cases.c.code == code.upper())
        row = (await self._execute(query)).first()
        return None if row is None else _request(row)

    async def published(self, limit: int) -> list[PublishedItem]:
        """Approved answers, newest approval first."""
        c = _cases.c
        query = (
            select(c.code, c.type, c.unit_id, _published.c.question, _published.c.answer, _published.c.approved_at)
            .select_from(_published.join(_cases, c.id == _published.c.case_id))
            .where(self._listed(), _published.c.approved_at.is_not(None))
            .order_by(_published.c.approved_at.desc())
            .limit(limit)
        )
        rows = (await self._execute(query)).all()
        return [PublishedItem(str(a), str(b), int(u), str(q or ""), str(r or ""), _utc(t)) for a, b, u, q, r, t in rows]

    async def located(self, start: datetime, end: datetime, limit: int) -> list[PublicRequest]:
        """Listed phản ánh with a location received in [start, end), newest first."""
        c = _cases.c
        query = (
            self._request_query()
            .where(
                self._listed(),
                c.type == "phan_anh",
                c.latitude.is_not(None),
                c.received_at >= start,
                c.received_at < end,
            )
            .order_by(c.received_at.desc(), c.id.desc())
            .limit(limit)
        )
        rows = (await self._execute(query)).all()
        return [_request(row) for row in rows]


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _request(row: Any) -> PublicRequest:
    code, case_type, unit_id, status, received, updated, due, lat, lon, question, answer = row
    return PublicRequest(
        code=str(code),
        type=str(case_type),
        unit_id=int(unit_id),
        closed=str(status) in FINISHED_STATUSES,
        received_at=_utc(received),
        updated_at=_utc(updated),
        due=_date(due),
        latitude=None if lat is None else float(lat),
        longitude=None if lon is None else float(lon),
        question=None if question is None else str(question),
        answer=None if answer is None else str(answer),
    )
