"""Scheduled reports: when they fall due, exactly once, caught up after downtime, never twice.

The clock is the app's FakeClock; the scheduled job's body (service.run_scheduled) is called at
chosen moments, and so is the scheduler's look at the clock (Scheduler.run_due), the way its
task calls it once a minute: at start (the catch-up), at the due moment, and after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import App, open_app
from bot.config import ReportsConfig
from bot.reports import periods, service
from bot.scheduler import Job, Scheduler, jobs, next_run, start_scheduler, stop_scheduler
from storage.models import OutboxMessage, ReportRun, Staff
from tests.conftest import make_config
from tests.helpers import FakeClock

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def reports_dir(tmp_path: Path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
async def app(database_url: str, clock: FakeClock, reports_dir: Path) -> AsyncIterator[App]:
    """The app with its report files under the test's temporary directory."""
    config = make_config(database_url, reports={"out_dir": str(reports_dir)})
    application = await open_app(config, clock=clock, migrate=False)
    yield application
    await application.close()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


# --------------------------------------------------------------------------- when runs fall due


def test_weekly_occurrence_is_monday_0730_for_the_week_before() -> None:
    config = make_config("sqlite:///unused.db")
    due = service.occurrence("weekly", local(2026, 11, 30, 7, 30), config)
    assert due.at == datetime(2026, 11, 30, 7, 30, tzinfo=TZ)
    assert (due.period.key, due.period.start, due.period.end) == ("2026-W48", date(2026, 11, 23), date(2026, 11, 29))
    earlier = service.occurrence("weekly", local(2026, 11, 30, 7, 29), config)
    assert earlier.period.key == "2026-W47" and earlier.at.date() == date(2026, 11, 23)


def test_statutory_occurrences_on_10_june_and_25_november() -> None:
    config = make_config("sqlite:///unused.db")
    half = service.occurrence("half_year", local(2026, 6, 10, 7, 30), config)
    assert (half.period.key, half.period.start, half.period.end) == ("2026-H1", date(2026, 1, 1), date(2026, 6, 9))
    assert service.occurrence("half_year", local(2026, 6, 10, 7, 29), config).period.key == "2025-H1"
    annual = service.occurrence("annual", local(2026, 11, 25, 7, 30), config)
    assert (annual.period.key, annual.period.start, annual.period.end) == ("2026", date(2026, 1, 1), date(2026, 11, 24))
    assert service.occurrence("annual", local(2026, 11, 25, 7, 0), config).period.key == "2025"


def test_dates_and_periods_are_configurable() -> None:
    config = make_config(
        "sqlite:///unused.db",
        reports={"weekly_day": "fri", "weekly_time": "16:00", "half_year_due": "06-15", "period_start": "12-15"},
    )
    weekly = service.occurrence("weekly", local(2026, 11, 27, 16, 0), config)
    assert weekly.period.start == date(2026, 11, 20) and weekly.period.end == date(2026, 11, 26)
    half = service.occurrence("half_year", local(2026, 6, 15, 8, 0), config)
    assert (half.period.start, half.period.end) == (date(2025, 12, 15), date(2026, 6, 14))


def test_period_words() -> None:
    config = ReportsConfig()
    today = date(2026, 11, 27)
    assert periods.parse("2026-W48", today, config).start == date(2026, 11, 23)
    assert periods.parse("2026-H1", today, config).end == date(2026, 6, 9)
    assert periods.parse("2026", today, config).end == date(2026, 11, 24)
    assert periods.parse("nam", date(2026, 3, 1), config).end == date(2026, 3, 1)
    assert periods.parse("6 tháng", today, config).key == "2026-H1"
    tuan = periods.parse("tuần", today, config)
    assert (tuan.start, tuan.end) == (date(2026, 11, 21), date(2026, 11, 27))
    custom = periods.parse("2026-01-01..2026-03-31", today, config)
    assert (custom.start, custom.end, custom.is_long) == (date(2026, 1, 1), date(2026, 3, 31), True)
    for wrong in ("2026-W60", "2026-03-31..2026-01-01", "hôm qua", "2026-13"):
        with pytest.raises(periods.PeriodError):
            periods.parse(wrong, today, config)


# --------------------------------------------------------------------------- exactly once


async def _admin(app: App, user: str = "7001") -> None:
    async with app.db.unit_of_work() as uow:
        await uow.staff.save(Staff(channel="telegram", channel_user_id=user, chat_id=user, role="district_admin"))


async def _outbox(app: App) -> list[OutboxMessage]:
    async with app.db.unit_of_work() as uow:
        return list(await uow.outbox.for_chat("telegram", "7001"))


async def _runs(app: App) -> list[tuple[str, str, str]]:
    async with app.db.unit_of_work() as uow:
        from sqlmodel import select

        rows = (await uow.session.exec(select(ReportRun).order_by(ReportRun.id))).all()  # type: ignore[arg-type]
        return [(row.kind, row.period, row.status) for row in rows if row.kind != service.MARKER_KIND]


def _report_jobs(app: App) -> list[Job]:
    return [job for job in jobs(app.config) if job.name.startswith("report_")]


async def _run(app: App, kind: service.ScheduledKind) -> str:
    return await service.run_scheduled(app.db, app.services, kind)


async def test_weekly_run_sends_once(app: App, clock: FakeClock) -> None:
    clock.now = local(2026, 11, 29, 10, 0)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    clock.now = local(2026, 11, 30, 7, 30)
    assert await _run(app, "weekly") == "sent"
    sent = await _outbox(app)
    assert "Tuần 48/2026" in sent[0].payload["text"]
    assert [m.payload.get("file_kind") for m in sent] == [None, "photo", "document"]
    assert sent[2].payload["file"].endswith("danh-sach-ho-so-2026-W48.xlsx")
    assert await _runs(app) == [("weekly", "2026-W48", "sent")]
    clock.advance(minutes=5)
    assert await _run(app, "weekly") == "already"
    assert len(await _outbox(app)) == 3


async def test_six_month_report_on_10_june_and_annual_on_25_november(
    app: App, clock: FakeClock, reports_dir: Path
) -> None:
    clock.now = local(2026, 6, 1)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    clock.now = local(2026, 6, 10, 7, 30)
    assert await _run(app, "half_year") == "sent"
    half = await _outbox(app)
    assert "6 tháng đầu năm 2026" in half[0].payload["text"] and "10/06/2026" in half[0].payload["text"]
    assert [Path(m.payload["file"]).name for m in half[1:]] == [
        "bieu-do-2026-H1.png",
        "bao-cao-2026-H1.docx",
        "phu-luc-2026-H1.xlsx",
    ]
    assert all(Path(m.payload["file"]).is_relative_to(reports_dir) for m in half[1:])
    clock.now = local(2026, 11, 25, 7, 30)
    assert await _run(app, "annual") == "sent"
    assert await _run(app, "half_year") == "already"
    assert [run[:2] for run in await _runs(app)] == [("half_year", "2026-H1"), ("annual", "2026")]
    assert len(await _outbox(app)) == 8


async def test_catch_up_after_downtime_then_restart_sends_nothing(
    app: App, clock: FakeClock, database_url: str
) -> None:
    clock.now = local(2026, 11, 20, 9, 0)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    # Down from Friday 20/11 to Wednesday 2/12: the annual report (25/11) and the digest of
    # Monday 30/11 were missed; each is sent once. The six-month report predates installation.
    clock.now = local(2026, 12, 2, 10, 0)
    await Scheduler(app, _report_jobs(app)).run_due()  # the first look of a start
    assert sorted(await _runs(app)) == [("annual", "2026", "sent"), ("weekly", "2026-W48", "sent")]
    count = len(await _outbox(app))
    assert count == 3 + 4
    # A restart: a new process on the same database catches up again and finds nothing to send.
    restarted = await open_app(make_config(database_url), clock=clock, migrate=False)
    try:
        assert [await _run(restarted, kind) for kind in service.SCHEDULED_KINDS] == ["already", "not_missed", "already"]
        await Scheduler(restarted, _report_jobs(restarted)).run_due()
    finally:
        await restarted.close()
    assert len(await _outbox(app)) == count


async def test_statutory_report_missed_for_too_long_is_not_sent(app: App, clock: FakeClock) -> None:
    clock.now = local(2026, 1, 5)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    clock.now = local(2026, 8, 1, 9, 0)  # 52 days after 10 June
    assert await _run(app, "half_year") == "too_late"
    assert await _runs(app) == []


async def test_on_demand_report_does_not_count_as_the_scheduled_send(app: App, clock: FakeClock) -> None:
    clock.now = local(2026, 11, 1)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    clock.now = local(2026, 11, 30, 7, 0)
    period = periods.parse("2026-W48", clock.now.date(), app.config.reports)
    async with app.db.unit_of_work() as uow:
        bundle = await service.build(
            uow, app.services, period, service.run_directory(app.config, period, clock.now, "x"),
            case_list=True, report=False,
        )  # fmt: skip
        await service.enqueue(uow, app.services, [("telegram", "7001")], bundle)
    clock.now = local(2026, 11, 30, 7, 30)
    assert await _run(app, "weekly") == "sent"
    assert len(await _outbox(app)) == 6


async def test_nobody_to_send_to_records_nothing(app: App, clock: FakeClock, database_url: str) -> None:
    lonely = await open_app(make_config(database_url, admins={"telegram_ids": []}), clock=clock, migrate=False)
    try:
        clock.now = local(2026, 11, 1)
        await service.installed_at(lonely.db, clock.now)
        clock.now = local(2026, 11, 30, 8, 0)
        assert await service.run_scheduled(lonely.db, lonely.services, "weekly") == "nobody"
    finally:
        await lonely.close()
    assert await _runs(app) == []


async def test_super_admins_receive_when_no_district_admin(app: App, clock: FakeClock) -> None:
    clock.now = local(2026, 11, 1)
    await service.installed_at(app.db, clock.now)
    clock.now = local(2026, 11, 30, 8, 0)
    assert await _run(app, "weekly") == "sent"
    async with app.db.unit_of_work() as uow:
        assert len(await uow.outbox.for_chat("telegram", "900001")) == 3


# --------------------------------------------------------------------------- the scheduler


async def test_next_runs_are_at_the_configured_local_times(app: App, clock: FakeClock) -> None:
    after = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    found = {job.name: next_run(job, after) for job in jobs(app.config)}
    assert found == {
        "report_weekly": datetime(2026, 11, 30, 7, 30, tzinfo=TZ),
        "report_half_year": datetime(2027, 6, 10, 7, 30, tzinfo=TZ),
        "report_annual": datetime(2027, 11, 25, 7, 30, tzinfo=TZ),
        "reminders": datetime(2026, 11, 28, 7, 0, tzinfo=TZ),
        "retention": datetime(2026, 11, 28, 3, 30, tzinfo=TZ),
    }
    # At the due moment itself the job is due now: the next run is a week later.
    weekly = next(job for job in jobs(app.config) if job.name == "report_weekly")
    assert next_run(weekly, found["report_weekly"]) == datetime(2026, 12, 7, 7, 30, tzinfo=TZ)


async def test_scheduler_runs_a_job_once_when_it_falls_due(app: App, clock: FakeClock) -> None:
    clock.now = local(2026, 11, 26)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    clock.now = local(2026, 11, 30, 7, 29)
    scheduler = Scheduler(app, _report_jobs(app))
    await scheduler.run_due()  # at start: nothing due since installation
    assert await _runs(app) == []
    clock.now = local(2026, 11, 30, 7, 30) + timedelta(seconds=3)
    await scheduler.run_due()
    await scheduler.run_due()
    assert await _runs(app) == [("weekly", "2026-W48", "sent")]
    assert len(await _outbox(app)) == 3


async def test_started_scheduler_catches_up_in_its_task_and_stops(app: App, clock: FakeClock) -> None:
    clock.now = local(2026, 11, 1)
    await service.installed_at(app.db, clock.now)
    await _admin(app)
    clock.now = local(2026, 11, 30, 7, 30) + timedelta(seconds=3)
    scheduler = await start_scheduler(app)
    try:
        for _ in range(1200):  # up to a minute on a loaded machine
            if ("weekly", "2026-W48", "sent") in await _runs(app):
                break
            await asyncio.sleep(0.05)
    finally:
        await stop_scheduler(scheduler)
    assert ("weekly", "2026-W48", "sent") in await _runs(app)
