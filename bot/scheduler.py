"""The scheduler: timed jobs (weekly digest, statutory reports, reminders, retention) persisted in the database.

Why this module exists: several features run at fixed local times, and a restart must neither
lose nor repeat them. APScheduler 3's ``AsyncIOScheduler`` runs in the bot's event loop in the
deployment's time zone; its jobs live in the project database on PostgreSQL, and in a sibling
file on SQLite (see ``storage.db.jobs_url``), in table ``apscheduler_jobs`` created by APScheduler
itself through a synchronous driver (the stdlib sqlite3, or psycopg). Jobs are referenced by name ("module:function") with picklable
arguments, and reach the running :class:`~bot.app.App` through :func:`current_app`.

Registering a job is one line in :func:`register_jobs`::

    schedule_cron(scheduler, "reminders", "bot.jobs:send_reminders", hour=7, minute=0)

Every job is added with ``replace_existing=True`` (a restart updates it instead of adding a
second one), ``coalesce=True`` (runs missed while the bot was down collapse into one) and a
misfire grace time. Exactly-once sending is the job's own business (reports use the
``report_runs`` table), because a job may run again after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from storage import private
from storage.db import jobs_url, sqlite_file

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
DEFAULT_MISFIRE_GRACE = 6 * 3600  # seconds: a job missed by less than this still runs at start

_app: App | None = None


def set_app(app: App | None) -> None:
    """Make ``app`` the one job functions see (set by :func:`start_scheduler`)."""
    global _app
    _app = app


def current_app() -> App:
    """The running application, for job functions."""
    if _app is None:
        raise RuntimeError("no running app: the scheduler was not started")
    return _app


def create_scheduler(config: Config) -> AsyncIOScheduler:
    """A scheduler in the deployment's time zone whose jobs are stored in the project database."""
    jobs = jobs_url(config.database.url)
    path = sqlite_file(jobs) if jobs.get_backend_name() == "sqlite" else None
    if path is not None:
        private.prepare_sqlite_file(path)  # it holds no personal data, but its folder does
    url = jobs.render_as_string(hide_password=False)
    return AsyncIOScheduler(
        timezone=config.deployment.tz,
        jobstores={"default": SQLAlchemyJobStore(url=url, tablename=JOBS_TABLE)},
        job_defaults={"coalesce": True, "misfire_grace_time": DEFAULT_MISFIRE_GRACE, "max_instances": 1},
    )


def schedule_cron(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: str,
    *,
    args: Sequence[Any] = (),
    misfire_grace_time: int = DEFAULT_MISFIRE_GRACE,
    **cron: Any,
) -> Job:
    """Add or replace a cron job: ``func`` is "module:function"; ``cron`` takes APScheduler's
    cron fields (year, month, day, week, day_of_week, hour, minute, second, start_date, end_date)."""
    return scheduler.add_job(
        func,
        "cron",
        args=list(args),
        id=job_id,
        name=job_id,
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=misfire_grace_time,
        **cron,
    )


def schedule_once(
    scheduler: AsyncIOScheduler,
    job_id: str,
    func: str,
    *,
    args: Sequence[Any] = (),
    run_date: datetime | None = None,
    misfire_grace_time: int = DEFAULT_MISFIRE_GRACE,
) -> Job:
    """Add or replace a job that runs once, at ``run_date`` (now when None)."""
    return scheduler.add_job(
        func,
        "date",
        run_date=run_date,
        args=list(args),
        id=job_id,
        name=job_id,
        replace_existing=True,
        misfire_grace_time=misfire_grace_time,
    )


def _hour_minute(value: str) -> tuple[int, int]:
    hour, minute = value.split(":")
    return int(hour), int(minute)


def register_jobs(scheduler: AsyncIOScheduler, config: Config) -> None:
    """Every periodic job of the bot. Add yours here with one schedule_cron line."""
    reports = config.reports
    hour, minute = _hour_minute(reports.weekly_time)
    job = "bot.reports.jobs:scheduled_report"
    schedule_cron(
        scheduler, "report_weekly", job, args=["weekly"], day_of_week=reports.weekly_day, hour=hour, minute=minute
    )
    hour, minute = _hour_minute(reports.report_time)
    for kind, due in (("half_year", reports.half_year_due), ("annual", reports.annual_due)):
        month, day = (int(part) for part in due.split("-"))
        schedule_cron(scheduler, f"report_{kind}", job, args=[kind], month=month, day=day, hour=hour, minute=minute)
    hour, minute = _hour_minute(config.reminders.time)
    schedule_cron(scheduler, "reminders", "bot.services.reminders:daily_job", hour=hour, minute=minute)
    hour, minute = _hour_minute(config.retention.time)
    schedule_cron(scheduler, "retention", "bot.services.retention:daily_job", hour=hour, minute=minute)


async def start_scheduler(app: App) -> AsyncIOScheduler:
    """Start the scheduler for ``app``: register the jobs, start, and catch up missed reports."""
    from bot.reports.service import installed_at

    set_app(app)
    await installed_at(app.db, app.services.clock())
    scheduler = create_scheduler(app.config)
    register_jobs(scheduler, app.config)
    scheduler.start()
    schedule_once(scheduler, "report_catch_up", "bot.reports.jobs:catch_up")
    for job in scheduler.get_jobs():
        log.info("scheduled %s: next run %s", job.id, job.next_run_time)
    return scheduler


def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Stop running jobs (the stored jobs stay for the next start)."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
    set_app(None)
