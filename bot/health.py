"""``python -m bot health``: is this deployment working, in one look and one exit code.

It reads, never writes, and does not need the bot to be running (a monitor can
call it every few minutes, a person after an upgrade). It reports:

* the database: reachable, and migrated to the revision this code expects;
* the outbox: messages pending and how long the oldest has waited, messages
  given up in the last 24 hours;
* when the last inbound update of each channel was processed;
* the scheduler's jobs and their next run times (computed from the configuration, as the
  running bot computes them);
* the map in force and how many units it has;
* with ``[zalo_oa] enabled``: when the OA's access and refresh tokens expire;
* with the Zalo Bot Platform in webhook mode: whether the URL Zalo posts to (its
  ``getWebhookInfo``) is the configured one (the one check that asks the platform).

Unhealthy (exit status 1) means: the database cannot be reached, it is not at
the head revision, the oldest pending outbox message has waited longer than
the threshold (the worker is stuck or the channel refuses everything), the
map in force has no units, or the Zalo OA has no usable tokens: none stored, a refresh that
failed or was interrupted (the refresh token may be used up), or a refresh token that expires
within ``[zalo_oa] refresh_warn_days`` (an administrator must run
``python -m bot zalo-oa authorize`` before then). Failed messages are reported but are not a fault by
themselves: a citizen who blocked the bot is a normal event.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import scheduler
from bot.config import Config
from storage import health as queries
from storage.db import async_url, create_engine, session_factory
from storage.migrate import current_revision, head_revision

TOKEN_NAME = "zalo_oa"  # bot.transports.zalo_oa_tokens.TOKEN_NAME (health imports no transport)
CLAIM_LEASE = timedelta(seconds=60)  # bot.transports.zalo_oa_tokens.CLAIM_LEASE

DEFAULT_MAX_PENDING_AGE = timedelta(minutes=15)
FAILED_WINDOW = timedelta(hours=24)
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    next_run_at: datetime


@dataclass
class OaTokenHealth:
    """The Zalo OA's tokens as stored; ``stored`` False when there are none."""

    stored: bool
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    problem: str | None = None
    refreshing_since: datetime | None = None  # a refresh claim not yet cleared


@dataclass
class Health:
    """What :func:`check` found; ``problems`` empty means healthy."""

    checked_at: datetime
    database: str  # the URL with its password masked
    backend: str
    head: str | None
    profile: str
    max_pending_age: timedelta
    reachable: bool = False
    error: str | None = None
    revision: str | None = None
    outbox: queries.OutboxBacklog | None = None
    last_updates: dict[str, datetime] = field(default_factory=dict)
    jobs: list[ScheduledJob] = field(default_factory=list)
    units: int | None = None
    zalo_oa: OaTokenHealth | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def oldest_pending_age(self) -> timedelta | None:
        if self.outbox is None or self.outbox.oldest_pending_at is None:
            return None
        return max(timedelta(0), self.checked_at - self.outbox.oldest_pending_at)


async def check(
    config: Config,
    *,
    now: datetime | None = None,
    max_pending_age: timedelta = DEFAULT_MAX_PENDING_AGE,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> Health:
    """Look at the configured database and report (never raises for a database fault)."""
    url = config.database.url
    parsed = async_url(url)
    report = Health(
        checked_at=now or datetime.now(UTC),
        database=make_url(url).render_as_string(hide_password=True),
        backend=parsed.get_backend_name(),
        head=head_revision(),
        profile=config.deployment.units_profile,
        max_pending_age=max_pending_age,
    )
    report.jobs = sorted(
        (ScheduledJob(job.name, scheduler.next_run(job, report.checked_at)) for job in scheduler.jobs(config)),
        key=lambda job: job.next_run_at,
    )
    if report.backend == "sqlite" and not _sqlite_file_present(parsed.database or ""):
        # Opening it would create an empty database: report it missing instead.
        report.error = f"no SQLite database at {parsed.database}"
        report.problems.append(f"database unreachable: {report.error}")
        return report
    engine = create_engine(url, connect_args={"timeout": connect_timeout})
    try:
        try:
            report.revision = await asyncio.wait_for(current_revision(engine), timeout=connect_timeout * 2)
        except Exception as exc:  # any failure to connect and read is what this check reports
            report.error = _one_line(exc)
            report.problems.append(f"database unreachable: {report.error}")
            return report
        report.reachable = True
        if report.revision != report.head:
            report.problems.append(
                f"database at revision {report.revision or 'none'}, this code expects {report.head}: "
                "run `python -m bot db upgrade`"
            )
        if report.revision is None:
            return report
        try:
            await _read_status(engine, report, config)
        except SQLAlchemyError as exc:
            report.problems.append(f"cannot read the status tables: {_one_line(exc)}")
            return report
    finally:
        await engine.dispose()
    age = report.oldest_pending_age
    if age is not None and age > max_pending_age:
        report.problems.append(
            f"outbox stuck: the oldest pending message has waited {_duration(age)} "
            f"(threshold {_duration(max_pending_age)})"
        )
    if report.units == 0:
        report.problems.append(f"no units in the map in force {report.profile}: run `python -m bot data load`")
    if report.zalo_oa is not None:
        report.problems.extend(_token_problems(report.zalo_oa, report.checked_at, config))
    if config.zalo.enabled and config.zalo.mode == "webhook" and config.zalo.token:
        report.problems.extend(await _zalo_webhook_problems(config, connect_timeout))
    return report


async def _zalo_webhook_problems(config: Config, request_timeout: float) -> list[str]:
    """Zalo Bot Platform in webhook mode: is the registered URL ours (``getWebhookInfo``)?

    The one check that asks the platform rather than the database: a webhook removed or pointed
    elsewhere (another deployment with the same token) means no message reaches this bot.
    """
    from bot.transports.zalo import ZaloApiError, webhook_info

    try:
        info = await webhook_info(config.zalo, request_timeout=request_timeout)
    except (ZaloApiError, OSError, TimeoutError) as exc:
        return [f"zalo: getWebhookInfo failed: {_one_line(exc)}"]
    registered = str(info.get("url") or "")
    if registered != config.zalo.webhook_url:
        return [f"zalo: the webhook Zalo posts to is {registered or 'none'}, not {config.zalo.webhook_url}"]
    return []


def _token_problems(tokens: OaTokenHealth, now: datetime, config: Config) -> list[str]:
    if not tokens.stored:
        return [
            "zalo_oa: no tokens stored: start the bot with the first tokens, or run `python -m bot zalo-oa authorize`"
        ]
    if tokens.problem:
        return [f"zalo_oa: {tokens.problem}"]
    if tokens.refreshing_since is not None and now - tokens.refreshing_since > CLAIM_LEASE:
        return [
            f"zalo_oa: a token refresh started at {tokens.refreshing_since:%Y-%m-%d %H:%M} UTC never finished; "
            "the old refresh token may be used up: run `python -m bot zalo-oa authorize`"
        ]
    warn = timedelta(days=config.zalo_oa.refresh_warn_days)
    if tokens.refresh_expires_at is not None and tokens.refresh_expires_at - now <= warn:
        left = max(timedelta(0), tokens.refresh_expires_at - now)
        return [
            f"zalo_oa: the refresh token expires in {_duration(left)}: run `python -m bot zalo-oa authorize` before then"
        ]
    return []


def _sqlite_file_present(path: str) -> bool:
    if path in ("", ":memory:") or path.startswith("file:"):
        return True  # nothing to create by mistake, or a URI we do not interpret
    return Path(path).is_file()


async def _read_status(engine: AsyncEngine, report: Health, config: Config) -> None:
    async with session_factory(engine)() as session:
        report.outbox = await queries.outbox_backlog(session, report.checked_at - FAILED_WINDOW)
        report.last_updates = await queries.last_updates(session)
        report.units = await queries.unit_count(session, report.profile)
        if config.zalo_oa.enabled:
            row = await queries.oauth_tokens(session, TOKEN_NAME)
            report.zalo_oa = (
                OaTokenHealth(False)
                if row is None
                else OaTokenHealth(
                    True, row.access_expires_at, row.refresh_expires_at, row.problem, row.refresh_claimed_at
                )
            )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("(Background on this error")[0].split())
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        minutes = seconds % 3600 // 60
        return f"{seconds // 3600} h" + (f" {minutes} min" if minutes else "")
    return f"{seconds // 86400} days"


def _iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def as_json(report: Health, zone: ZoneInfo) -> dict[str, Any]:
    """The report as a JSON-ready mapping (times in the deployment's zone, with their offset)."""
    outbox = report.outbox
    age = report.oldest_pending_age
    return {
        "healthy": report.healthy,
        "problems": report.problems,
        "checked_at": _iso(report.checked_at, zone),
        "database": {
            "url": report.database,
            "backend": report.backend,
            "reachable": report.reachable,
            "error": report.error,
            "revision": report.revision,
            "head": report.head,
        },
        "outbox": None
        if outbox is None
        else {
            "pending": outbox.pending,
            "oldest_pending_at": _iso(outbox.oldest_pending_at, zone),
            "oldest_pending_age_seconds": None if age is None else int(age.total_seconds()),
            "max_pending_age_seconds": int(report.max_pending_age.total_seconds()),
            "failed_last_24h": outbox.failed_since,
        },
        "last_update_at": {channel: _iso(at, zone) for channel, at in report.last_updates.items()},
        "jobs": [{"id": job.id, "next_run_at": _iso(job.next_run_at, zone)} for job in report.jobs],
        "map": {"profile": report.profile, "units": report.units},
        "zalo_oa": None
        if report.zalo_oa is None
        else {
            "tokens_stored": report.zalo_oa.stored,
            "access_expires_at": _iso(report.zalo_oa.access_expires_at, zone),
            "refresh_expires_at": _iso(report.zalo_oa.refresh_expires_at, zone),
            "problem": report.zalo_oa.problem,
        },
    }


def as_text(report: Health, zone: ZoneInfo) -> str:
    """The report for a person: one line per part, then the problems."""

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    lines = [f"tiepdan health: {'OK' if report.healthy else 'UNHEALTHY'} (checked {local(report.checked_at)})"]
    if report.reachable:
        state = f"reachable, revision {report.revision or 'none'} (head {report.head})"
    else:
        state = f"UNREACHABLE ({report.error})"
    lines.append(f"database  {report.database}: {state}")
    outbox = report.outbox
    if outbox is not None:
        age = report.oldest_pending_age
        oldest = "" if age is None else f", oldest waiting {_duration(age)}"
        lines.append(f"outbox    {outbox.pending} pending{oldest}; {outbox.failed_since} failed in the last 24 h")
    if report.reachable and report.revision is not None and report.outbox is not None:
        seen = ", ".join(f"{channel} {local(at)}" for channel, at in report.last_updates.items())
        lines.append(f"updates   last processed: {seen or 'none yet'}")
        listed = ", ".join(f"{job.id} {local(job.next_run_at)}" for job in report.jobs)
        lines.append(f"jobs      next runs: {listed or 'none'}")
        lines.append(f"map       {report.profile}: {report.units} units")
        tokens = report.zalo_oa
        if tokens is not None and tokens.stored and tokens.access_expires_at and tokens.refresh_expires_at:
            lines.append(
                f"zalo_oa   access token until {local(tokens.access_expires_at)}, "
                f"refresh token until {local(tokens.refresh_expires_at)}"
            )
        elif tokens is not None:
            lines.append("zalo_oa   no tokens stored")
    lines.extend(f"problem:  {problem}" for problem in report.problems)
    return "\n".join(lines)


def render(report: Health, zone: ZoneInfo, *, json_output: bool) -> str:
    if json_output:
        return json.dumps(as_json(report, zone), ensure_ascii=False)
    return as_text(report, zone)
