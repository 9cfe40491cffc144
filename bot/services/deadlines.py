"""Legal time limits for citizens' letters, and the working-day calendar they are counted on.

Why this module exists: officers of the commune must answer complaints (khiếu nại), denunciations
(tố cáo), petitions (kiến nghị), feedback (phản ánh) and forwarded questions (hỏi đáp) within
limits set by law. The bot shows citizens the date they can expect an answer and reminds officers
before a case becomes overdue. This module turns "received at this moment" into due dates. It is
pure: no database, no chat code, no clock (callers pass "today").

Legal limits (defaults; every one can be overridden from config, see ``DeadlinePolicy.from_mapping``):

* Every letter is processed/classified (xử lý đơn) within 10 working days of receipt
  (TT 05/2021/TT-TTCP). For phản ánh and kiến nghị there is no general statutory deadline for the
  answer, so the answer is due with the processing: 10 working days from receipt by default.
* Hỏi đáp (a question forwarded to an officer): 5 working days from receipt (local choice).
* Khiếu nại (Luật Khiếu nại 2011): acceptance (thụ lý) within 10 days of receipt, counted as working
  days as in the one-stop procedure description (Art. 27); resolution within 30 days of acceptance,
  45 if complex; in remote areas (vùng sâu, vùng xa) 45, or 60 if complex (Art. 28, calendar days).
* Tố cáo (Luật Tố cáo 2018): receipt and classification within 7 working days, 10 working days
  when checks at several places are needed (Art. 24); resolution within 30 days of acceptance,
  extended by 30 days at most once for a complex case and twice for an especially complex one
  (Art. 30), so at most two extensions in total. Forwarding outside competence: 5 working days
  (Art. 24(2)). Anonymous information (Art. 25) is not a tố cáo: only an internal review date.
* Khiếu nại lần hai (``round_=2``): acceptance as Art. 27 (Art. 36(1)); resolution 45 days, 60 if
  complex, remote 60/70 (Art. 37). The window to lodge one: 30 days, 45 remote (Art. 33(1)).
* NĐ 155/2026 (7 working days to accept a complaint) was read only in an OCR mirror: it applies
  only from the date set in ``[deadlines] "khieu_nai.accept_7wd_from"`` (off by default).

Counting rule (the choice this module makes, applied to every limit):

* Dates are local dates in Asia/Ho_Chi_Minh; ``DeadlineService.local_date`` converts moments.
* The start day (the day of receipt or of acceptance) is not counted.
* "Within N days" means the deadline is the end of the N-th day after the start date: for a
  calendar-day limit that is ``start + N days``; for a working-day limit it is the N-th working day
  after the start date.
* Working days are Monday to Friday, minus Vietnamese public holidays (including Tết) taken from the
  ``holidays`` package, plus the package's official make-up working days; the administrator can add
  extra holidays and extra working days (make-up Saturdays) from config.
* A calendar-day deadline that falls on a weekend or holiday stays where it is: the law counts
  calendar days and does not say the deadline moves. Reminders should therefore aim at
  ``WorkCalendar.previous_working_day(due)``, the last day an officer is at work before it.
* A case is overdue from the day after its due date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import holidays

CaseType = Literal["phan_anh", "kien_nghi", "khieu_nai", "to_cao", "hoi_dap"]
CASE_TYPES: tuple[str, ...] = get_args(CaseType)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# Luật Tố cáo 2018, Art. 30: one extension for a complex case, two for an especially complex one.
MAX_TO_CAO_EXTENSIONS = 2

EXTRA_HOLIDAY_NAME = "Ngày nghỉ bổ sung (cấu hình)"


@dataclass(frozen=True)
class Limit:
    days: int
    working: bool  # True: working days; False: calendar days


_DEFAULT_LIMITS: dict[str, Limit] = {
    # Answer to feedback / petitions: no general statutory limit; xử lý đơn (TT 05/2021) is 10 wd.
    "phan_anh.answer": Limit(10, working=True),
    "kien_nghi.answer": Limit(10, working=True),
    # A question forwarded to an officer: local service level.
    "hoi_dap.answer": Limit(5, working=True),
    # Luật Khiếu nại 2011, Art. 27 (acceptance) and Art. 28 (first-time resolution).
    "khieu_nai.accept": Limit(10, working=True),
    "khieu_nai.resolve": Limit(30, working=False),
    "khieu_nai.resolve_complex": Limit(45, working=False),
    "khieu_nai.resolve_remote": Limit(45, working=False),
    "khieu_nai.resolve_remote_complex": Limit(60, working=False),
    # Luật Tố cáo 2018, Art. 24 (receipt and classification) and Art. 30 (resolution, extension).
    "to_cao.classify": Limit(7, working=True),
    "to_cao.classify_checks": Limit(10, working=True),
    "to_cao.resolve": Limit(30, working=False),
    "to_cao.extension": Limit(30, working=False),
    # Luật Tố cáo 2018, Art. 24(2): a denunciation outside the body's competence is forwarded to
    # the competent body within 5 working days of receipt, and the denouncer told.
    "to_cao.forward": Limit(5, working=True),
    # Luật Tố cáo 2018, Art. 25: anonymous information is not a denunciation and has no statutory
    # deadline; this is only the date the inspectorate set itself to look at it (local choice).
    "tin_bao.review": Limit(10, working=True),
    # Luật Khiếu nại 2011, Art. 36(1) (acceptance of a second complaint, as Art. 27) and Art. 37
    # (resolution of a second complaint: 45 days, 60 if complex; remote areas 60, 70 if complex).
    "khieu_nai2.accept": Limit(10, working=True),
    "khieu_nai2.resolve": Limit(45, working=False),
    "khieu_nai2.resolve_complex": Limit(60, working=False),
    "khieu_nai2.resolve_remote": Limit(60, working=False),
    "khieu_nai2.resolve_remote_complex": Limit(70, working=False),
    # Art. 33(1): a second complaint within 30 days of receiving the first decision, 45 in remote areas.
    "khieu_nai.appeal": Limit(30, working=False),
    "khieu_nai.appeal_remote": Limit(45, working=False),
    # NĐ 155/2026 Art. 10 (rewriting NĐ 124/2020 Art. 16(1)): acceptance of a first or second
    # complaint within 7 working days. Read only in an OCR mirror [S]: applied only from the date
    # set in ``[deadlines] "khieu_nai.accept_7wd_from"`` (off by default).
    "khieu_nai.accept_nd155": Limit(7, working=True),
}

# The config key that switches acceptance of complaints to ``khieu_nai.accept_nd155`` from a date.
ND155_SWITCH = "khieu_nai.accept_7wd_from"


@dataclass(frozen=True)
class DeadlinePolicy:
    """All legal limits, keyed '<case_type>.<stage>' e.g. 'khieu_nai.accept'."""

    limits: Mapping[str, Limit]
    # From this date (of receipt) complaints are accepted within ``khieu_nai.accept_nd155``
    # instead of ``khieu_nai.accept`` / ``khieu_nai2.accept``; None keeps the Law's 10 days.
    nd155_from: date | None = None

    @classmethod
    def default(cls) -> DeadlinePolicy:
        return cls(limits=MappingProxyType(dict(_DEFAULT_LIMITS)))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> DeadlinePolicy:
        """Defaults overridden by a config table.

        Accepts ``{"khieu_nai.resolve": {"days": 30, "working": false}}`` or
        ``{"khieu_nai.resolve": 30}`` (then ``working`` keeps the default's kind). Raises
        ``ValueError('deadlines.<key>: <what is wrong>')`` on unknown keys or bad values.
        """
        limits = dict(_DEFAULT_LIMITS)
        nd155_from = None
        for key, value in data.items():
            if key == ND155_SWITCH:
                nd155_from = _parse_switch(value)
                continue
            if key not in _DEFAULT_LIMITS:
                known = ", ".join(sorted(_DEFAULT_LIMITS))
                raise ValueError(f"deadlines.{key}: unknown deadline key (known keys: {known})")
            limits[key] = _parse_limit(key, value, _DEFAULT_LIMITS[key])
        return cls(limits=MappingProxyType(limits), nd155_from=nd155_from)

    def limit(self, key: str) -> Limit:
        try:
            return self.limits[key]
        except KeyError:
            raise KeyError(f"no deadline limit configured for {key!r}") from None


def _parse_switch(value: object) -> date | None:
    """``"2026-07-01"`` (a TOML date or an ISO string) switches the rule on from then; ``false`` or "" off."""
    if value is False or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"deadlines.{ND155_SWITCH}: a date like 2026-07-01, or false, got {value!r}")


def _parse_limit(key: str, value: object, default: Limit) -> Limit:
    """One config entry: a number of days, or a table with 'days' and/or 'working'."""
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in value if k not in ("days", "working"))
        if unknown:
            raise ValueError(f"deadlines.{key}: unknown field(s) {', '.join(unknown)} (allowed: days, working)")
        days = _parse_days(key, value.get("days", default.days))
        working = value.get("working", default.working)
        if not isinstance(working, bool):
            raise ValueError(f"deadlines.{key}: 'working' must be true or false, got {working!r}")
        return Limit(days, working)
    return Limit(_parse_days(key, value), default.working)


def _parse_days(key: str, value: object) -> int:
    # bool is a subclass of int; "days = true" is a config mistake, not 1 day.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"deadlines.{key}: days must be a whole number, got {value!r}")
    if value < 1:
        raise ValueError(f"deadlines.{key}: days must be at least 1, got {value}")
    return value


class WorkCalendar:
    """Vietnamese working days: Monday–Friday minus public holidays, with config overrides."""

    def __init__(self, extra_holidays: Iterable[date] = (), extra_working_days: Iterable[date] = ()) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_working_days = frozenset(extra_working_days)
        both = sorted(self._extra_holidays & self._extra_working_days)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"dates configured both as holiday and as working day: {listed}")
        # expand=True (the default) loads each year on first lookup, so no year range is needed here.
        self._holidays = holidays.country_holidays("VN", language="vi")

    def is_working_day(self, day: date) -> bool:
        if day in self._extra_working_days:
            return True
        if day in self._extra_holidays:
            return False
        if day in self._holidays:  # this lookup also loads the year, including its make-up days
            return False
        if day in self._holidays.weekend_workdays:  # official make-up Saturdays
            return True
        return day.weekday() < 5

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on `day`, or None (also None when config made it a working day)."""
        if day in self._extra_working_days:
            return None
        name = self._holidays.get(day)
        if name is not None:
            return str(name)
        if day in self._extra_holidays:
            return EXTRA_HOLIDAY_NAME
        return None

    def add(self, start: date, limit: Limit) -> date:
        """The due date of `limit` counted from `start` (see the counting rule in the module doc)."""
        if limit.working:
            return self.add_working_days(start, limit.days)
        return start + timedelta(days=limit.days)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself is not counted).

        n == 0 returns `start`; a negative n counts backwards (the |n|-th working day before `start`).
        """
        step = timedelta(days=1 if n >= 0 else -1)
        day = start
        remaining = abs(n)
        while remaining > 0:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days in (start, end]; negative (of (end, start]) if end < start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def previous_working_day(self, day: date) -> date:
        """The nearest working day on or before `day`."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day


@dataclass(frozen=True)
class Deadlines:
    first_due: date  # the first stage: xử lý đơn / thụ lý / phân loại
    final_due: date | None  # resolution; None while it depends on an acceptance not yet made


class DeadlineService:
    """Due dates for each case type and stage, from a policy and a calendar."""

    def __init__(self, policy: DeadlinePolicy, calendar: WorkCalendar, tz: ZoneInfo = VN_TZ) -> None:
        self.policy = policy
        self.calendar = calendar
        self.tz = tz

    def local_date(self, moment: datetime) -> date:
        """The calendar date of an aware datetime in the service's time zone (Asia/Ho_Chi_Minh)."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("local_date needs a timezone-aware datetime")
        return moment.astimezone(self.tz).date()

    def on_receipt(
        self,
        case_type: CaseType,
        received: datetime,
        *,
        remote: bool = False,
        needs_checks: bool = False,
        round_: int = 1,
        anonymous: bool = False,
    ) -> Deadlines:
        """Deadlines known when a letter arrives.

        phản ánh, kiến nghị, hỏi đáp: the answer is due at the first stage (first_due == final_due).
        khiếu nại: first_due is the acceptance deadline; final_due waits for ``on_accept``.
        tố cáo: first_due is the classification deadline (longer when `needs_checks`); final_due
        waits for ``on_accept``. `remote` changes no receipt-stage limit; it is accepted so that
        callers can pass the same case flags everywhere.
        """
        _check_case_type(case_type)
        day = self.local_date(received)
        if case_type == "khieu_nai":
            return Deadlines(first_due=self._due(day, self.accept_key(day, round_)), final_due=None)
        if case_type == "to_cao" and anonymous:
            # Art. 25: no statutory stage at all; one internal review date stands for both.
            review = self._due(day, "tin_bao.review")
            return Deadlines(first_due=review, final_due=review)
        if case_type == "to_cao":
            key = "to_cao.classify_checks" if needs_checks else "to_cao.classify"
            return Deadlines(first_due=self._due(day, key), final_due=None)
        answer = self._due(day, f"{case_type}.answer")
        return Deadlines(first_due=answer, final_due=answer)

    def on_accept(
        self,
        case_type: CaseType,
        accepted: datetime,
        *,
        remote: bool = False,
        complex_case: bool = False,
        round_: int = 1,
    ) -> date:
        """The resolution deadline of an accepted (thụ lý) khiếu nại or tố cáo.

        For tố cáo neither flag changes the first deadline: complexity is handled by ``extend``.
        ``round_`` 2 is a second complaint (Luật Khiếu nại Art. 37).
        """
        _check_case_type(case_type)
        day = self.local_date(accepted)
        if case_type == "khieu_nai":
            key = _khieu_nai_resolve_key(remote=remote, complex_case=complex_case)
            if round_ == 2:
                key = key.replace("khieu_nai.", "khieu_nai2.", 1)
            return self._due(day, key)
        if case_type == "to_cao":
            return self._due(day, "to_cao.resolve")
        raise ValueError(f"{case_type} has no acceptance stage; its deadline is set on receipt")

    def extend(self, case_type: CaseType, final_due: date, extensions_so_far: int) -> date:
        """The resolution deadline after one more extension (only tố cáo, at most two in total)."""
        _check_case_type(case_type)
        if case_type != "to_cao":
            raise ValueError(f"{case_type}: the law allows no extension of the resolution deadline")
        if extensions_so_far < 0:
            raise ValueError(f"extensions_so_far must not be negative, got {extensions_so_far}")
        if extensions_so_far >= MAX_TO_CAO_EXTENSIONS:
            raise ValueError(f"to_cao: at most {MAX_TO_CAO_EXTENSIONS} extensions are allowed")
        return self._due(final_due, "to_cao.extension")

    def accept_key(self, received: date, round_: int = 1) -> str:
        """Which acceptance limit applies to a complaint received on ``received``."""
        if self.policy.nd155_from is not None and received >= self.policy.nd155_from:
            return "khieu_nai.accept_nd155"
        return "khieu_nai2.accept" if round_ == 2 else "khieu_nai.accept"

    def appeal_due(self, decided: date, *, remote: bool = False) -> date:
        """The last day to lodge a second complaint after a first decision (Luật Khiếu nại Art. 33(1)).

        Counted here from the decision's date; the Law counts from the day the complainant
        receives it, which the bot cannot know, so the date shown is the earliest it may be.
        """
        return self._due(decided, "khieu_nai.appeal_remote" if remote else "khieu_nai.appeal")

    def forward_due(self, received: datetime) -> date:
        """The last day to forward a denunciation to the competent body (Luật Tố cáo Art. 24(2))."""
        return self._due(self.local_date(received), "to_cao.forward")

    def due_soon(self, due: date, today: date, within_working_days: int = 2) -> bool:
        """True when `due` is today or at most `within_working_days` working days after today."""
        if due < today:
            return False
        return self.calendar.working_days_between(today, due) <= within_working_days

    def is_overdue(self, due: date, today: date) -> bool:
        """True once the whole due day has passed."""
        return today > due

    def _due(self, start: date, key: str) -> date:
        return self.calendar.add(start, self.policy.limit(key))


def _khieu_nai_resolve_key(*, remote: bool, complex_case: bool) -> str:
    if remote and complex_case:
        return "khieu_nai.resolve_remote_complex"
    if remote:
        return "khieu_nai.resolve_remote"
    if complex_case:
        return "khieu_nai.resolve_complex"
    return "khieu_nai.resolve"


def _check_case_type(case_type: str) -> None:
    # Case types may come from the database or config as plain strings; fail loudly on typos.
    if case_type not in CASE_TYPES:
        raise ValueError(f"unknown case type {case_type!r} (known: {', '.join(CASE_TYPES)})")
