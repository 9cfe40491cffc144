"""Scheduler entry points for the reports, referenced by name from the job store.

Why this module exists: APScheduler stores jobs as "module:function" with picklable arguments,
so each job is a plain module-level function that finds the running app through
:func:`bot.scheduler.current_app`.
"""

from __future__ import annotations

import logging

from bot.reports import service
from bot.scheduler import current_app

log = logging.getLogger(__name__)


async def scheduled_report(kind: str) -> None:
    """Send the latest due report of ``kind`` (weekly, half_year, annual) unless already sent."""
    if kind not in service.SCHEDULED_KINDS:
        log.error("unknown report kind %r", kind)
        return
    app = current_app()
    outcome = await service.run_scheduled(app.db, app.services, kind)
    log.info("scheduled %s report: %s", kind, outcome)


async def catch_up() -> None:
    """At start: send the reports missed while the bot was down, once."""
    app = current_app()
    outcomes = await service.catch_up(app.db, app.services)
    log.info("report catch-up: %s", outcomes)
