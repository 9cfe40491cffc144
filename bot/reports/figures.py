"""The numbers of a report, asked from the database and rolled up by type, unit and in total.

Why this module exists: the digest text, the chart, the spreadsheets and the DOCX must show the
very same figures. They are computed once here from small (type, unit) grids returned by
:mod:`storage.report_queries`; nothing loops over cases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from bot.reports.periods import Period
from bot.services.cases import CASE_TYPES
from storage.report_queries import (
    FaqFigures,
    FinishedRow,
    OverdueCase,
    RatingRow,
    ReportQueries,
    TipFigures,
    Window,
)
from storage.uow import UnitOfWork

OVERDUE_LIST_LIMIT = 200
TOPICS_LIMIT = 5
CONNECTIONS = 2  # database connections a report reads on at once (the machine has two cores or more)


@dataclass
class Cell:
    """The figures of one slice of cases (a type, a unit, a type in a unit, or all)."""

    received: int = 0
    finished: int = 0
    rejected: int = 0
    on_time: int = 0
    handling_seconds: float = 0.0
    overdue: int = 0
    open: int = 0  # open at the as-of moment (the end of the period, or now)
    ratings: int = 0
    score_sum: int = 0
    satisfied: int = 0
    solved: int = 0

    def add(self, other: Cell) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def late(self) -> int:
        return self.finished - self.on_time

    @property
    def on_time_rate(self) -> float | None:
        """Share of finished cases finished on time, in percent (None when nothing finished)."""
        return 100.0 * self.on_time / self.finished if self.finished else None

    @property
    def average_days(self) -> float | None:
        return self.handling_seconds / self.finished / 86400.0 if self.finished else None

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.ratings if self.ratings else None

    @property
    def satisfied_rate(self) -> float | None:
        return 100.0 * self.satisfied / self.ratings if self.ratings else None

    @property
    def solved_rate(self) -> float | None:
        return 100.0 * self.solved / self.ratings if self.ratings else None


@dataclass
class Figures:
    period: Period
    window: Window
    units: dict[int, str]  # unit id -> name, for every unit that appears
    scope: str | None  # the unit's name when the report is limited to one unit
    grid: dict[tuple[str, int], Cell] = field(default_factory=dict)
    overdue_cases: list[OverdueCase] = field(default_factory=list)
    faq: FaqFigures | None = None
    topics: list[tuple[str, int]] = field(default_factory=list)

    def cell(self, case_type: str, unit_id: int) -> Cell:
        return self.grid.setdefault((case_type, unit_id), Cell())

    def by_type(self) -> dict[str, Cell]:
        """Every case type in the fixed order, even those with no case."""
        result: dict[str, Cell] = {case_type: Cell() for case_type in CASE_TYPES}
        for (case_type, _), cell in self.grid.items():
            result.setdefault(case_type, Cell()).add(cell)
        return result

    def by_unit(self) -> dict[int, Cell]:
        """Units that have any figure, in the order of the map (unit id)."""
        result: dict[int, Cell] = {}
        for (_, unit_id), cell in self.grid.items():
            result.setdefault(unit_id, Cell()).add(cell)
        return dict(sorted(result.items()))

    def total(self) -> Cell:
        total = Cell()
        for cell in self.grid.values():
            total.add(cell)
        return total

    def unit_name(self, unit_id: int) -> str:
        return self.units.get(unit_id, f"#{unit_id}")


async def collect(
    uow: UnitOfWork,
    period: Period,
    now: datetime,
    tz: ZoneInfo,
    *,
    unit: tuple[int, str] | None = None,
    overdue_limit: int = OVERDUE_LIST_LIMIT,
) -> Figures:
    """Every figure of a report on ``period``, optionally limited to one unit (id, name)."""
    window = period.window(tz, now, None if unit is None else (unit[0],))
    names = {u.id: u.name for u in await uow.units.all() if u.id is not None}
    figures = Figures(period, window, names, None if unit is None else unit[1])
    # The independent queries, longest first (on a million cases: the finished cases, then the
    # ratings joined to their cases, then the received ones), run on two connections at once.
    jobs: list[Callable[[ReportQueries], Awaitable[object]]] = [
        lambda q: q.finished(window),
        lambda q: q.ratings(window),
        lambda q: q.received(window),
        lambda q: q.overdue(window),
        lambda q: q.overdue_cases(window, overdue_limit),
        lambda q: q.open_cases(window),
        lambda q: q.tips(window),
    ]
    if unit is None:
        # The FAQ is district-wide: questions are not tied to a unit.
        jobs += [lambda q: q.faq(window), lambda q: q.faq_topics(window, TOPICS_LIMIT)]
    async with ReportQueries(uow.session).readers(CONNECTIONS) as readers:
        results = await _spread(readers, jobs)
    finished, ratings, received, overdue, overdue_cases, open_now = results[:6]
    for case_type, unit_id, count in cast(list[tuple[str, int, int]], received):
        figures.cell(case_type, unit_id).received += count
    for row in cast(list[FinishedRow], finished):
        cell = figures.cell(row.type, row.unit_id)
        cell.finished += row.finished
        cell.rejected += row.rejected
        cell.on_time += row.on_time
        cell.handling_seconds += row.handling_seconds
    for case_type, unit_id, count in cast(list[tuple[str, int, int]], overdue):
        figures.cell(case_type, unit_id).overdue += count
    for case_type, unit_id, count in cast(list[tuple[str, int, int]], open_now):
        figures.cell(case_type, unit_id).open += count
    for rating in cast(list[RatingRow], ratings):
        cell = figures.cell(rating.type, rating.unit_id)
        cell.ratings += rating.ratings
        cell.score_sum += rating.score_sum
        cell.satisfied += rating.satisfied
        cell.solved += rating.solved
    figures.overdue_cases = cast(list[OverdueCase], overdue_cases)
    _count_tips_apart(figures, cast(TipFigures, results[6]))
    if unit is None:
        figures.faq = cast(FaqFigures, results[7])
        figures.topics = cast(list[tuple[str, int]], results[8])
    return figures


TIP = "tin_bao"  # the report's own row for anonymous tips (case_type.tin_bao)


def _count_tips_apart(figures: Figures, tips: TipFigures) -> None:
    """Move anonymous tips out of the tố cáo figures into their own row (Luật Tố cáo Art. 25: not a
    denunciation), and out of the overdue ones altogether (no statutory deadline to pass)."""
    for unit_id, count in tips.received:
        figures.cell("to_cao", unit_id).received -= count
        figures.cell(TIP, unit_id).received += count
    for row in tips.finished:
        source, target = figures.cell("to_cao", row.unit_id), figures.cell(TIP, row.unit_id)
        source.finished -= row.finished
        source.rejected -= row.rejected
        source.on_time -= row.on_time
        source.handling_seconds -= row.handling_seconds
        target.finished += row.finished
        target.rejected += row.rejected
        target.on_time += row.on_time
        target.handling_seconds += row.handling_seconds
    for unit_id, count in tips.overdue:
        figures.cell("to_cao", unit_id).overdue -= count
    figures.overdue_cases = [case for case in figures.overdue_cases if case.code not in tips.overdue_codes]


async def _spread(
    readers: list[ReportQueries], jobs: list[Callable[[ReportQueries], Awaitable[object]]]
) -> list[object]:
    """Run ``jobs`` on the readers, each reader taking the next job when it is free; the
    results in the order of ``jobs``."""
    results: list[object] = [None] * len(jobs)
    pending = iter(enumerate(jobs))

    async def worker(queries: ReportQueries) -> None:
        for index, job in pending:
            results[index] = await job(queries)

    await asyncio.gather(*(worker(queries) for queries in readers))
    return results
