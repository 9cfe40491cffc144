"""The scheduler: the bot's timed jobs (weekly digest, statutory reports, reminders, retention), run when due.

Why this module exists: several features run at fixed local times, and a restart must neither
lose nor repeat them. One rule per job says when it falls due: ``latest(now)``, the latest
moment at or before ``now`` it was due (the reports' rule is
:func:`bot.reports.service.occurrence`, the reminders' a time of day). Nothing else decides:
APScheduler is only the timer, one interval job in memory that looks once a minute
(:data:`TICK`) and runs each job whose latest due moment changed since it last looked; its
first look at start runs every job once, which is the catch-up after downtime. Whether a run does anything is the job's own business and is recorded in the
database: the reports and the reminders write a ``report_runs`` row in the transaction that
sends them, so a job run twice (a restart, a crash, a second look) sends nothing twice. No job
is stored anywhere else: the rules live in the code and the configuration.

Jobs get the running :class:`~bot.app.App` as an argument. Adding a daily job is one line in
:func:`jobs`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.reports import service as reports
from bot.services import reminders, retention

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

TICK = 60.0  # seconds between two looks at the clock; jobs are due on whole minutes
STOP_WAIT = 10.0  # seconds a shutdown waits for a cancelled job to end
HORIZON = timedelta(days=367)  # every job falls due at least once a year


@dataclass(frozen=True)
class Job:
    """A timed job: when it falls due, and what it does then."""

    name: str
    latest: Callable[[datetime], datetime]  # the latest due moment at or before a moment (aware)
    run: Callable[[App, datetime], Awaitable[object]]  # given the due moment; safe to run again
    grace: timedelta | None = None  # a due moment older than this at start is skipped, not caught up


def daily(at: str, tz: ZoneInfo) -> Callable[[datetime], datetime]:
    """The rule of a job due every day at ``at`` ("HH:MM", local time)."""
    hour, minute = (int(part) for part in at.split(":"))

    def latest(now: datetime) -> datetime:
        local = now.astimezone(tz)
        due = datetime.combine(local.date(), time(hour, minute), tz)
        return due if due <= local else datetime.combine(local.date() - timedelta(days=1), time(hour, minute), tz)

    return latest


def next_run(job: Job, now: datetime) -> datetime:
    """The first moment after ``now`` the job falls due: where its ``latest`` moves on (found by
    bisection to the second; due moments are on whole minutes)."""
    current = job.latest(now)
    low, high = now, now + HORIZON
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if job.latest(middle) == current:
            low = middle
        else:
            high = middle
    return job.latest(high)


def _report(kind: reports.ScheduledKind, config: Config) -> Job:
    async def run(app: App, due: datetime) -> None:
        outcome = await reports.run_scheduled(app.db, app.services, kind)
        log.info("scheduled %s report: %s", kind, outcome)

    return Job(f"report_{kind}", lambda now: reports.occurrence(kind, now, config).at, run)


async def _reminders(app: App, due: datetime) -> None:
    day = app.services.deadlines.local_date(due)
    if app.services.deadlines.calendar.is_working_day(day):
        await reminders.run_daily(app.db, app.services, day)


async def _retention(app: App, due: datetime) -> None:
    await retention.run_daily(app.db, app.services)


def jobs(config: Config) -> list[Job]:
    """Every timed job of the bot. Add yours here with one line."""
    tz = config.deployment.tz
    return [
        *(_report(kind, config) for kind in reports.SCHEDULED_KINDS),
        Job("reminders", daily(config.reminders.time, tz), _reminders, grace=timedelta(hours=6)),
        # Catching up a missed night is right: the purge is recorded once per local day.
        Job("retention", daily(config.retention.time, tz), _retention),
    ]


class Scheduler:
    """Runs ``jobs`` for ``app`` when they fall due, one at a time, in a task of the event loop."""

    def __init__(self, app: App, scheduled: list[Job]) -> None:
        self.app = app
        self.jobs = scheduled
        self._seen: dict[str, datetime] = {}  # each job's latest due moment already run
        self._timer = AsyncIOScheduler(timezone=UTC)
        self._looking: asyncio.Task[object] | None = None

    async def run_due(self) -> None:
        """Run every job whose latest due moment has not been run by this process yet."""
        now = self.app.services.clock()
        for job in self.jobs:
            due = job.latest(now)
            if self._seen.get(job.name) == due:
                continue
            first_look = job.name not in self._seen
            self._seen[job.name] = due
            if first_look and job.grace is not None and now - due > job.grace:
                continue
            try:
                await job.run(self.app, due)
            except Exception:
                log.exception("the scheduled job %s (due %s) failed", job.name, due)

    async def _look(self) -> None:
        """One look at the clock, as the timer's job; remembered so that a stop can wait for it."""
        self._looking = asyncio.current_task()
        try:
            await self.run_due()
        finally:
            self._looking = None

    def start(self) -> None:
        now = self.app.services.clock()
        for job in self.jobs:
            log.info("scheduled %s: next run %s", job.name, next_run(job, now))
        # The timer only says "look now"; when a job falls due is decided by its rule above. The
        # first look is at once (the catch-up); a look still running when the next is due is
        # not doubled (max_instances=1) and missed looks collapse into one (coalesce).
        self._timer.add_job(
            self._look,
            IntervalTrigger(seconds=TICK),
            id="look",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._timer.start()

    async def stop(self) -> None:
        """Stop the timer; a job running now is cancelled (it sends in one transaction, or not).
        Shutting down waits for it at most :data:`STOP_WAIT` seconds."""
        if self._timer.running:
            self._timer.shutdown(wait=False)
        looking = self._looking
        if looking is not None and not looking.done():
            looking.cancel()
            done, _ = await asyncio.wait({looking}, timeout=STOP_WAIT)
            if not done:
                log.warning("a scheduled job did not stop within %.0f s", STOP_WAIT)


async def start_scheduler(app: App) -> Scheduler:
    """Start the scheduler for ``app``; its first look catches up what was missed."""
    await reports.installed_at(app.db, app.services.clock())
    scheduler = Scheduler(app, jobs(app.config))
    scheduler.start()
    return scheduler


async def stop_scheduler(scheduler: Scheduler) -> None:
    """Stop running jobs (nothing is stored: the next start finds what is due again)."""
    await scheduler.stop()
