"""Synthetic cases for demonstrations and benchmarks (``python -m bot demo-data``).

Why this module exists: reports, charts and the benchmarks need a realistic database, and no
real petition may ever be used for that. This module invents one: cases of every type spread
over the past twelve months, routed to the units of the active map (denunciations to the
inspectorate), with deadlines from the deadlines service (so Vietnamese holidays and weekends are
respected), officers acting on working days in office hours, most cases finished on time and
some late or still overdue, extensions for some denunciations, ratings, FAQ questions, and the
events that tell each story. Every name is generic ("Người dân mẫu 12"); nothing is real.
Some citizens and filers have made-up phone numbers and addresses, phản ánh have a location
near Cầu Ngang, and some answered ones were allowed and approved for publishing: the public
page's tests scan every response for these personal data. They come from a random generator
of their own, so the cases and figures of a seed stay what they were before they existed.

Rows are written in bulk (:mod:`storage.bulk`) in batches, so a million cases load in minutes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.app import App
from bot.services.deadlines import CaseType, Deadlines
from bot.services.routing import CITIZEN_KINDS
from storage import bulk
from storage.models import Case, CaseContact, CaseEvent, Citizen, FaqFeedback, PublishedAnswer, Rating

TYPES: tuple[CaseType, ...] = ("phan_anh", "kien_nghi", "khieu_nai", "to_cao", "hoi_dap")
TYPE_WEIGHTS = (45, 18, 12, 5, 20)
SCORES = (5, 4, 3, 2, 1)
SCORE_WEIGHTS = (40, 30, 15, 8, 7)
CHANNELS = ("telegram", "zalo")
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "phan_anh": (
        "Đường liên ấp bị sạt lở, đi lại khó khăn",
        "Đèn đường khu chợ không sáng nhiều ngày",
        "Rác thải tập kết sai nơi gây ô nhiễm",
        "Cống thoát nước bị tắc sau mưa",
    ),
    "kien_nghi": (
        "Đề nghị bố trí thêm giờ tiếp nhận hồ sơ buổi chiều",
        "Đề nghị lắp biển báo giảm tốc trước trường học",
        "Đề nghị nạo vét kênh thủy lợi trước mùa khô",
    ),
    "khieu_nai": (
        "Khiếu nại quyết định về bồi thường khi thu hồi đất",
        "Khiếu nại việc không giải quyết hồ sơ đúng hạn",
    ),
    "to_cao": (
        "Tố cáo hành vi xây dựng trái phép trên đất nông nghiệp",
        "Tố cáo việc thu tiền không đúng quy định",
    ),
    "hoi_dap": (
        "Hỏi thủ tục đăng ký khai sinh cho con",
        "Hỏi hồ sơ đăng ký thường trú",
        "Hỏi thủ tục xác nhận tình trạng hôn nhân",
    ),
}
ANSWERS: dict[str, str] = {
    "phan_anh": "Xã đã cử cán bộ kiểm tra và khắc phục xong (dữ liệu mẫu)",
    "kien_nghi": "Xã đã đưa đề nghị vào kế hoạch và báo kết quả (dữ liệu mẫu)",
}
PUBLISHED_SHARE = 0.2  # of the answered phản ánh and kiến nghị rated 4 or 5
# Where demo phản ánh happen: a box around Cầu Ngang (latitude, longitude).
AREA = ((9.70, 9.90), (106.35, 106.60))
ANSWER_LIMIT_DAYS = {"phan_anh": 10, "kien_nghi": 10, "hoi_dap": 5}
BATCH = 20_000


@dataclass(frozen=True)
class DemoReport:
    citizens: int
    cases: int
    events: int
    ratings: int
    faq_questions: int

    def __str__(self) -> str:
        return (
            f"{self.citizens} citizens, {self.cases} cases, {self.events} events, "
            f"{self.ratings} ratings, {self.faq_questions} FAQ questions"
        )


class _Calendar:
    """Cached working-day arithmetic and deadlines: a few hundred distinct days, a million cases."""

    def __init__(self, app: App) -> None:
        self.deadlines = app.services.deadlines
        self.tz = app.config.deployment.tz
        self._add: dict[tuple[date, int], date] = {}
        self._receipt: dict[tuple[str, date], Deadlines] = {}
        self._accept: dict[tuple[str, date], date] = {}
        self._extend: dict[date, date] = {}
        self._offsets: dict[date, timedelta] = {}
        self._next: dict[date, date] = {}

    def working_days(self, day: date, n: int) -> date:
        key = (day, n)
        if key not in self._add:
            self._add[key] = self.deadlines.calendar.add_working_days(day, n)
        return self._add[key]

    def next_working(self, day: date) -> date:
        if day not in self._next:
            calendar = self.deadlines.calendar
            self._next[day] = day if calendar.is_working_day(day) else self.working_days(day, 1)
        return self._next[day]

    def local_date(self, moment: datetime) -> date:
        return (moment + self._offset(moment.date())).date()

    def _offset(self, day: date) -> timedelta:
        if day not in self._offsets:
            self._offsets[day] = datetime.combine(day, time(12), self.tz).utcoffset() or timedelta(0)
        return self._offsets[day]

    def at(self, day: date, minutes_after_0730: int) -> datetime:
        """A moment in office hours on a local day, as an aware UTC datetime."""
        local = datetime.combine(day, time(7, 30)) + timedelta(minutes=minutes_after_0730)
        return (local - self._offset(day)).replace(tzinfo=UTC)

    def on_receipt(self, case_type: CaseType, received: datetime) -> Deadlines:
        key = (case_type, self.local_date(received))
        if key not in self._receipt:
            self._receipt[key] = self.deadlines.on_receipt(case_type, received)
        return self._receipt[key]

    def on_accept(self, case_type: CaseType, accepted: datetime) -> date:
        key = (case_type, self.local_date(accepted))
        if key not in self._accept:
            self._accept[key] = self.deadlines.on_accept(case_type, accepted)
        return self._accept[key]

    def extend(self, final_due: date) -> date:
        if final_due not in self._extend:
            self._extend[final_due] = self.deadlines.extend("to_cao", final_due, 0)
        return self._extend[final_due]


def _event(case_id: int, at: datetime, kind: str, actor: str, public: bool, **payload: Any) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "at": at,
        "actor_kind": actor,
        "actor_id": None,
        "kind": kind,
        "visibility": "public" if public else "internal",
        "payload": payload,
    }


async def generate(
    app: App,
    cases: int,
    seed: int = 1,
    *,
    progress: Callable[[int], None] = lambda _: None,
    batch: int = BATCH,
) -> DemoReport:
    """Add ``cases`` synthetic cases (and their citizens, events, ratings, FAQ questions)."""
    rng = random.Random(seed)
    extra = random.Random(seed * 7919 + 1)  # personal data and places: apart, see the docstring
    now = app.services.clock()
    profile = app.config.deployment.units_profile
    prefix = app.config.deployment.case_prefix
    calendar = _Calendar(app)
    async with app.db.unit_of_work() as uow:
        units = [u for u in await uow.units.in_profile(profile) if u.id is not None]
        entries = [record.id for record in await uow.faq.all()]
        next_citizen = await bulk.max_id(uow.session, Citizen) + 1
    communes = [(u.id or 0, u.name, u.remote) for u in units if u.kind in CITIZEN_KINDS]
    inspectorate = next(((u.id or 0, u.name, u.remote) for u in units if u.kind == "thanh_tra"), None)
    if not communes:
        raise ValueError(f"no commune in the units of {profile}")
    commune_weights = [rng.uniform(0.5, 2.0) for _ in communes]

    citizen_count = max(1, cases // 4)
    citizens: list[tuple[int, str, str]] = []
    async with app.db.unit_of_work() as uow:
        rows = []
        for index in range(citizen_count):
            channel = CHANNELS[0] if rng.random() < 0.7 else CHANNELS[1]
            user = f"demo-{seed}-{next_citizen + index}"
            citizens.append((next_citizen + index, channel, user))
            rows.append(
                {
                    "id": next_citizen + index,
                    "channel": channel,
                    "channel_user_id": user,
                    "chat_id": user,
                    "display_name": f"Người dân mẫu {next_citizen + index}",
                    "phone": _phone(extra) if extra.random() < 0.5 else None,
                    "language": "vi",
                    "consent_at": now - timedelta(days=400),
                    "created_at": now - timedelta(days=400),
                    "erased_at": None,
                }
            )
            if len(rows) >= batch:
                await bulk.insert_rows(uow.session, Citizen, rows)
                rows = []
        await bulk.insert_rows(uow.session, Citizen, rows)

    span = 365 * 86400.0
    offsets = sorted(rng.random() * span for _ in range(cases))
    totals = {"events": 0, "ratings": 0, "faq": 0}
    async with app.db.unit_of_work() as uow:
        next_case = await bulk.max_id(uow.session, Case) + 1
        next_event = await bulk.max_id(uow.session, CaseEvent) + 1
        next_rating = await bulk.max_id(uow.session, Rating) + 1
        next_faq = await bulk.max_id(uow.session, FaqFeedback) + 1
        seqs: dict[int, int] = {}
        for year in range(now.year - 2, now.year + 1):
            seqs[year] = await bulk.counter(uow.session, f"case-{year}")
    start = now - timedelta(seconds=span)

    for first in range(0, cases, batch):
        case_rows: list[dict[str, Any]] = []
        contact_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        rating_rows: list[dict[str, Any]] = []
        faq_rows: list[dict[str, Any]] = []
        published_rows: list[dict[str, Any]] = []
        for offset in offsets[first : first + batch]:
            received = start + timedelta(seconds=offset)
            case_id = next_case
            next_case += 1
            case_type: CaseType = rng.choices(TYPES, TYPE_WEIGHTS)[0]
            place = rng.choices(communes, commune_weights)[0]
            unit = inspectorate if case_type == "to_cao" and inspectorate is not None else place
            citizen_id, channel, chat_id = citizens[rng.randrange(len(citizens))]
            anonymous = (case_type == "to_cao" and rng.random() < 0.3) or (
                case_type == "phan_anh" and rng.random() < 0.1
            )
            local_day = calendar.local_date(received)
            year = local_day.year
            seqs[year] = seqs.get(year, 0) + 1
            due = calendar.on_receipt(case_type, received)
            row: dict[str, Any] = {
                "id": case_id,
                "code": f"{prefix}-{year}-{seqs[year]:05d}",
                "year": year,
                "seq": seqs[year],
                "type": case_type,
                "status": "received",
                "unit_id": unit[0],
                "citizen_id": citizen_id,
                "channel": channel,
                "chat_id": chat_id,
                "description": rng.choice(DESCRIPTIONS[case_type]) + " (dữ liệu mẫu)",
                "latitude": None,
                "longitude": None,
                "attachments": [],
                "anonymous": anonymous,
                "remote": unit[2],
                "complex_case": False,
                "received_at": received,
                "first_due": due.first_due,
                "final_due": due.final_due,
                "accepted_at": None,
                "first_reply_at": None,
                "resolved_at": None,
                "closed_at": None,
                "extensions": 0,
                "result": None,
            }
            events = [_event(case_id, received, "received", "citizen", True, unit=unit[1], anonymous=anonymous)]
            _lifecycle(rng, calendar, row, events, now)
            if case_type == "phan_anh":
                row["latitude"] = round(extra.uniform(*AREA[0]), 6)
                row["longitude"] = round(extra.uniform(*AREA[1]), 6)
            if case_type in ANSWERS and row["resolved_at"] is not None:
                row["result"] = ANSWERS[case_type]
            case_rows.append(row)
            if case_type in ("khieu_nai", "to_cao") and not anonymous:
                contact_rows.append(
                    {
                        "case_id": case_id,
                        "full_name": f"Người gửi mẫu {case_id}",
                        "phone": _phone(extra),
                        "address": f"Số {extra.randint(1, 200)} ấp Mẫu {extra.randint(1, 30)}",
                        "erased_at": None,
                    }
                )
            finished = row["resolved_at"]
            if finished is not None and row["status"] != "rejected" and rng.random() < 0.5:
                rated = finished + timedelta(hours=rng.uniform(2, 48))
                if rated <= now:
                    score = rng.choices(SCORES, SCORE_WEIGHTS)[0]
                    rating_rows.append(
                        {
                            "id": next_rating,
                            "case_id": case_id,
                            "score": score,
                            "solved": score >= 3 or rng.random() < 0.2,
                            "aspects": {},
                            "comment": None,
                            "at": rated,
                        }
                    )
                    next_rating += 1
                    events.append(_event(case_id, rated, "rated", "citizen", False, score=score))
                    if row["result"] and score >= 4 and not anonymous and extra.random() < PUBLISHED_SHARE:
                        approved = rated + timedelta(hours=extra.uniform(1, 72))
                        published_rows.append(
                            {
                                "case_id": case_id,
                                "consent_at": rated,
                                "approved_at": approved if approved <= now else None,
                                "approved_by": None,
                                "question": row["description"] if approved <= now else None,
                                "answer": row["result"] if approved <= now else None,
                            }
                        )
            if case_type == "hoi_dap" and entries:
                faq_rows.append(_faq(next_faq, received - timedelta(minutes=1), rng, entries, case_id))
                next_faq += 1
            if entries and rng.random() < 0.4:
                asked = start + timedelta(seconds=rng.random() * span)
                faq_rows.append(_faq(next_faq, asked, rng, entries, None))
                next_faq += 1
            for event in events:
                event["id"] = next_event
                next_event += 1
            event_rows.extend(events)
        async with app.db.unit_of_work() as uow:
            await bulk.insert_rows(uow.session, Case, case_rows)
            await bulk.insert_rows(uow.session, CaseContact, contact_rows)
            await bulk.insert_rows(uow.session, CaseEvent, event_rows)
            await bulk.insert_rows(uow.session, Rating, rating_rows)
            await bulk.insert_rows(uow.session, FaqFeedback, faq_rows)
            await bulk.insert_rows(uow.session, PublishedAnswer, published_rows)
        totals["events"] += len(event_rows)
        totals["ratings"] += len(rating_rows)
        totals["faq"] += len(faq_rows)
        progress(len(case_rows))

    async with app.db.unit_of_work() as uow:
        for year, value in seqs.items():
            if value:
                await bulk.set_counter(uow.session, f"case-{year}", value)
        await bulk.after_load(uow.session, [Citizen, Case, CaseEvent, Rating, FaqFeedback])
    return DemoReport(citizen_count, cases, totals["events"], totals["ratings"], totals["faq"])


def _phone(rng: random.Random) -> str:
    """A made-up Vietnamese mobile number (10 digits, 09...)."""
    return "09" + "".join(str(rng.randrange(10)) for _ in range(8))


def _faq(faq_id: int, asked: datetime, rng: random.Random, entries: list[str], forwarded: int | None) -> dict[str, Any]:
    if forwarded is not None:
        outcome, entry, helpful = rng.choice(("none", "unsure")), None, None
    else:
        roll = rng.random()
        outcome = "answer" if roll < 0.75 else "unsure" if roll < 0.9 else "none"
        entry = rng.choice(entries) if outcome != "none" else None
        helpful = None if outcome != "answer" or rng.random() < 0.6 else rng.random() < 0.8
    return {
        "id": faq_id,
        "at": asked,
        "channel": "telegram",
        "query": "câu hỏi mẫu",
        "outcome": outcome,
        "entry_id": entry,
        "helpful": helpful,
        "forwarded_case_id": forwarded,
    }


def _lifecycle(
    rng: random.Random, calendar: _Calendar, row: dict[str, Any], events: list[dict[str, Any]], now: datetime
) -> None:
    """Walk a case through its stages until one would lie in the future."""
    case_id = row["id"]
    case_type: CaseType = row["type"]
    received: datetime = row["received_at"]
    day = calendar.local_date(received)
    late = rng.random() < 0.12  # this case's officers are slow

    def office(on: date, after: datetime) -> datetime:
        """Office hours on the first working day from ``on``, and after ``after``."""
        moment = calendar.at(calendar.next_working(on), rng.randrange(0, 540))
        if moment > after:
            return moment
        soon = after + timedelta(minutes=rng.randint(20, 90))
        day = calendar.local_date(soon)
        if calendar.next_working(day) == day and calendar.at(day, 0) <= soon <= calendar.at(day, 540):
            return soon
        return calendar.at(calendar.working_days(calendar.local_date(after), 1), rng.randrange(0, 540))

    if case_type in ANSWER_LIMIT_DAYS:
        limit = ANSWER_LIMIT_DAYS[case_type]
        accepted = office(calendar.working_days(day, rng.randint(0, 1)), received)
        if accepted > now:
            return
        row["accepted_at"] = accepted
        row["status"] = "accepted"
        events.append(_event(case_id, accepted, "accepted", "officer", True))
        if case_type == "hoi_dap" and rng.random() < 0.05:
            closed = accepted + timedelta(hours=1)
            row.update(status="rejected", closed_at=closed, accepted_at=None)
            events[-1] = _event(case_id, closed, "rejected", "officer", True)
            return
        days = rng.randint(limit + 1, limit + 12) if late else rng.randint(1, limit)
        resolved = office(calendar.working_days(day, days), accepted)
        if resolved > now:
            if rng.random() < 0.1:
                row["status"] = "need_info"
                events.append(_event(case_id, accepted + timedelta(hours=2), "info_requested", "officer", True))
            return
        row.update(first_reply_at=resolved, resolved_at=resolved, status="resolved")
        events.append(_event(case_id, resolved, "replied", "officer", True))
        events.append(_event(case_id, resolved, "resolved", "officer", True))
    else:
        accept_limit = 10 if case_type == "khieu_nai" else 7
        days = rng.randint(accept_limit + 1, accept_limit + 6) if late else rng.randint(1, accept_limit)
        accepted = office(calendar.working_days(day, days), received)
        if accepted > now:
            return
        if rng.random() < 0.08:
            row.update(status="rejected", closed_at=accepted)
            events.append(_event(case_id, accepted, "rejected", "officer", True))
            return
        final_due = calendar.on_accept(case_type, accepted)
        row.update(accepted_at=accepted, first_reply_at=accepted, final_due=final_due, status="accepted")
        events.append(_event(case_id, accepted, "accepted", "officer", True))
        if case_type == "to_cao" and rng.random() < 0.1:
            final_due = calendar.extend(final_due)
            row.update(final_due=final_due, extensions=1)
            extended = accepted + timedelta(days=rng.randint(20, 29))
            if extended <= now:
                events.append(_event(case_id, extended, "extended", "officer", False))
        accepted_day = calendar.local_date(accepted)
        budget = (final_due - accepted_day).days
        spent = rng.randint(budget + 1, budget + 25) if late else rng.randint(3, max(3, budget))
        resolved = office(accepted_day + timedelta(days=spent), accepted)
        if resolved > now:
            return
        row.update(resolved_at=resolved, status="resolved")
        events.append(_event(case_id, resolved, "resolved", "officer", True))
    if rng.random() < 0.7:
        closed = row["resolved_at"] + timedelta(days=rng.randint(1, 5))
        if closed <= now:
            row.update(closed_at=closed, status="closed")
            events.append(_event(case_id, closed, "closed", "system", True))
