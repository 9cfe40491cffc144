"""What a report covers: a named period ("2026-W48", "2026-H1", "2026", a date range).

Why this module exists: the same period words are typed in /baocao, given to the CLI and
computed by the scheduler, and the statutory periods depend on configuration (the six-month
report is due on 10 June and the annual one on 25 November, each covering 1 January up to the
day before). Everything here works on local dates; converting them to UTC bounds for the
database is :meth:`Period.window`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.config import ReportsConfig
from bot.text import fold
from storage.report_queries import Window

PeriodKind = Literal["week", "half_year", "annual", "month", "range"]
LONG_PERIOD_DAYS = 31  # longer periods get the full report (DOCX) rather than the case list

_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-H1$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")

WEEK_WORDS = ("tuan", "week")
HALF_YEAR_WORDS = ("6thang", "6 thang", "sau thang", "half")
YEAR_WORDS = ("nam", "year")


class PeriodError(ValueError):
    """A period that cannot be understood."""


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    key: str
    start: date  # first day, inclusive (local)
    end: date  # last day, inclusive (local)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_long(self) -> bool:
        return self.days > LONG_PERIOD_DAYS

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of the first day to local midnight after the last."""
        start = datetime.combine(self.start, time(0), tz).astimezone(UTC)
        end = datetime.combine(self.end + timedelta(days=1), time(0), tz).astimezone(UTC)
        return start, end

    def window(self, tz: ZoneInfo, now: datetime, unit_ids: tuple[int, ...] | None = None) -> Window:
        """The database window; open and overdue cases are judged at the end, or now if earlier."""
        start, end = self.bounds(tz)
        as_of = min(end, now)
        return Window(start, end, as_of, as_of.astimezone(tz).date(), tz, unit_ids)


def month_day(value: str, year: int) -> date:
    """'06-10' in a year; 29 February becomes 28 February in common years."""
    month, day = (int(part) for part in value.split("-"))
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, day - 1)


def _statutory(kind: PeriodKind, due_md: str, year: int, config: ReportsConfig) -> Period:
    due = month_day(due_md, year)
    start = month_day(config.period_start, year)
    if start >= due:
        start = month_day(config.period_start, year - 1)
    key = f"{year}-H1" if kind == "half_year" else str(year)
    return Period(kind, key, start, due - timedelta(days=1))


def half_year(year: int, config: ReportsConfig) -> Period:
    """The six-month report of a year: from the period start up to the day before it is due."""
    return _statutory("half_year", config.half_year_due, year, config)


def annual(year: int, config: ReportsConfig) -> Period:
    """The annual report of a year: from the period start up to the day before it is due."""
    return _statutory("annual", config.annual_due, year, config)


def iso_week(year: int, week: int) -> Period:
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise PeriodError(f"no week {week} in {year}") from None
    return Period("week", f"{year}-W{week:02d}", monday, monday + timedelta(days=6))


def week_ending(last_day: date) -> Period:
    """The seven days ending on ``last_day``, named after the ISO week of that day."""
    iso = last_day.isocalendar()
    return Period("week", f"{iso.year}-W{iso.week:02d}", last_day - timedelta(days=6), last_day)


def _clip(period: Period, today: date) -> Period:
    return period if period.end <= today else Period(period.kind, period.key, period.start, today)


def parse(text: str, today: date, config: ReportsConfig) -> Period:
    """A period from what a person typed; relative words count from ``today`` (local)."""
    raw = text.strip()
    word = fold(raw)
    if word in WEEK_WORDS:
        return Period("range", f"{today - timedelta(days=6)}..{today}", today - timedelta(days=6), today)
    if word in HALF_YEAR_WORDS:
        return _clip(half_year(today.year, config), today)
    if word in YEAR_WORDS:
        return _clip(annual(today.year, config), today)
    if match := _WEEK.match(raw):
        return iso_week(int(match.group(1)), int(match.group(2)))
    if match := _HALF.match(raw):
        return half_year(int(match.group(1)), config)
    if match := _YEAR.match(raw):
        return annual(int(match.group(1)), config)
    if match := _MONTH.match(raw):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"no month {month}")
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period("month", raw, first, last)
    if match := _RANGE.match(raw):
        try:
            first, last = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
        except ValueError:
            raise PeriodError(f"not a date range: {raw}") from None
        if last < first:
            raise PeriodError(f"the range ends before it starts: {raw}")
        return Period("range", f"{first}..{last}", first, last)
    raise PeriodError(f"unknown period {raw!r}")


def month_of(day: date) -> Period:
    """The calendar month of ``day``, up to ``day`` (the public page's "this month")."""
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return _clip(Period("month", f"{first:%Y-%m}", first, last), day)


def quarter_of(day: date) -> Period:
    """The calendar quarter of ``day``, up to ``day``."""
    number = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * number - 2, 1)
    last = (date(day.year + (number == 4), (3 * number) % 12 + 1, 1)) - timedelta(days=1)
    return _clip(Period("range", f"{day.year}-Q{number}", first, last), day)


def year_of(day: date) -> Period:
    """The calendar year of ``day`` (1 January on), up to ``day``; not the statutory year."""
    return _clip(Period("range", f"{day.year}", date(day.year, 1, 1), date(day.year, 12, 31)), day)


def months_back(day: date, count: int) -> list[Period]:
    """The ``count`` calendar months ending with the month of ``day`` (oldest first), the
    last one up to ``day``: the public page's monthly trend."""
    result = [month_of(day)]
    while len(result) < count:
        previous = result[0].start - timedelta(days=1)
        first = previous.replace(day=1)
        result.insert(0, Period("month", f"{first:%Y-%m}", first, previous))
    return result
