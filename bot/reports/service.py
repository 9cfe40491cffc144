"""Building a report bundle (text, chart, spreadsheets, DOCX), delivering it, and sending the
scheduled ones exactly once.

Why this module exists: the same bundle is produced for the CLI, for /baocao and for the
scheduler, and the scheduled sends must happen once per period whatever the restarts. The rule
is enforced by the ``report_runs`` table (unique on kind and period): the row that says "sent"
is written in the same transaction as the outbox messages that deliver the bundle, so either
both exist or neither does. A crash before that commit sends nothing (the next start catches
up); a restart after it finds the row and sends nothing again. On-demand reports never write a
``report_runs`` row, so they do not count as the scheduled send.

Catch-up after downtime: at start (and at each scheduled time, bot/scheduler.py) the latest due
occurrence of each kind (:func:`occurrence`, the one rule of when reports fall due) is computed
from the clock and sent if it has no row yet, once. Occurrences from before the
scheduler was first started on this database (a row ``kind = "scheduler"``) are not "missed"
and are not sent; the six-month and annual reports are not caught up after
``reports.catch_up_days``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy.exc import IntegrityError

from bot.config import Config
from bot.dialog.catalog import Translator
from bot.dialog.types import Outgoing, Reply
from bot.reports import periods
from bot.reports.figures import Figures, collect
from bot.reports.periods import Period
from bot.reports.text import digest, fmt_date, period_name, scope_name
from bot.services import notify
from bot.services.cases import ADMIN_ROLES
from bot.services.container import Services
from bot.text import plain_text
from storage import private
from storage.models import OutboxMessage, ReportRun
from storage.report_queries import ReportQueries
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

ScheduledKind = Literal["weekly", "half_year", "annual"]
SCHEDULED_KINDS: tuple[ScheduledKind, ...] = ("weekly", "half_year", "annual")
MARKER_KIND = "scheduler"
EMAIL_CHANNEL = "email"  # the outbox channel of e-mail (bot/transports/email.py): chat id = address
MARKER_PERIOD = "installed"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

FileKind = Literal["photo", "document"]


class Progress(Protocol):
    """Where a long build reports how far it is (the CLI shows a bar)."""

    def stage(self, name: str, total: int | None = None) -> None: ...

    def advance(self, count: int) -> None: ...


class NoProgress:
    def stage(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, count: int) -> None:
        return None


@dataclass
class Bundle:
    period: Period
    figures: Figures
    text: str  # the digest, catalog HTML
    files: list[tuple[Path, FileKind, str]] = field(default_factory=list)  # path, how to send, caption key
    case_count: int = 0

    def file(self, suffix: str) -> Path | None:
        return next((path for path, _, _ in self.files if path.name.endswith(suffix)), None)


def translator(services: Services) -> Translator:
    return services.catalog.bind(services.config.deployment.language)


async def build(
    uow: UnitOfWork,
    services: Services,
    period: Period,
    out_dir: Path,
    *,
    unit: tuple[int, str] | None = None,
    case_list: bool,
    report: bool,
    named: bool = False,
    progress: Progress | None = None,
) -> Bundle:
    """Compute the figures of ``period`` and write the files into ``out_dir``.

    ``case_list`` adds cases.xlsx (one row per case); ``report`` adds report.docx and its
    annex.xlsx. With ``named`` the files carry the period in their names (for chat delivery);
    otherwise they are chart.png, cases.xlsx, report.docx and annex.xlsx.
    """
    # Imported here, in a worker thread: matplotlib, python-docx and XlsxWriter take seconds to
    # import, most commands of the bot never build a report, and an import in the event loop's
    # thread would stop every chat meanwhile.
    await asyncio.to_thread(_import_writers)
    from bot.reports import chart, document, workbook

    progress = progress or NoProgress()
    progress.stage("figures")
    now = services.clock()
    # The files name people (case lists): their folder is private, and so is each file.
    private.make_folders(out_dir)

    t = translator(services)
    config = services.config
    figures = await collect(uow, period, now, config.deployment.tz, unit=unit)
    bundle = Bundle(period, figures, digest(t, figures))
    suffix = f"-{_slug(period.key)}" if named else ""
    heading = t(
        "reports.digest.title",
        period=period_name(t, period),
        start=fmt_date(period.start),
        end=fmt_date(period.end),
        scope=scope_name(t, figures),
    )
    title = plain_text(heading).replace("\n", " · ")
    # The chart, the DOCX and the annex are drawn in worker threads while the case list is
    # read and written: the database and zlib release the GIL, so the two overlap.
    progress.stage("chart")
    drawing: list[tuple[asyncio.Future[Path], FileKind, str]] = [
        (
            asyncio.ensure_future(
                asyncio.to_thread(chart.draw, t, figures, out_dir / f"{'bieu-do' if named else 'chart'}{suffix}.png")
            ),
            "photo",
            "reports.file.chart",
        )
    ]
    if report:
        progress.stage("report")
        docx = out_dir / f"{'bao-cao' if named else 'report'}{suffix}.docx"
        annex = out_dir / f"{'phu-luc' if named else 'annex'}{suffix}.xlsx"
        document_job = asyncio.to_thread(document.write, t, figures, config.reports, config.deployment.name, docx)
        annex_job = asyncio.to_thread(workbook.write_annex, t, figures, title, annex)
        drawing.append((asyncio.ensure_future(document_job), "document", "reports.file.report"))
        drawing.append((asyncio.ensure_future(annex_job), "document", "reports.file.annex"))
    cases: Path | None = None
    try:
        if case_list:
            queries = ReportQueries(uow.session)
            ids = await queries.case_ids(figures.window)
            progress.stage("cases", len(ids))
            cases = out_dir / f"{'danh-sach-ho-so' if named else 'cases'}{suffix}.xlsx"
            rows = queries.case_rows(figures.window, ids)
            bundle.case_count = await workbook.write_cases(t, figures, title, rows, cases, progress.advance)
        for future, kind, caption in drawing:
            bundle.files.append((await future, kind, caption))
    finally:
        # On failure, wait for the threads anyway: their files must not appear after we return.
        await asyncio.gather(*(future for future, _, _ in drawing), return_exceptions=True)
    if cases is not None:
        bundle.files.append((cases, "document", "reports.file.cases"))
    for path, _, _ in bundle.files:
        private.restrict(path)
    return bundle


def _import_writers() -> None:
    importlib.import_module("bot.reports.chart")
    importlib.import_module("bot.reports.document")
    importlib.import_module("bot.reports.workbook")


def _slug(key: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "-" else "_" for ch in key)


def run_directory(config: Config, period: Period, now: datetime, label: str) -> Path:
    """A fresh directory under reports.out_dir for one bundle (files stay until delivered)."""
    stamp = now.astimezone(config.deployment.tz).strftime("%Y%m%dT%H%M%S")
    return Path(config.reports.out_dir) / _slug(period.key) / f"{stamp}-{label}-{secrets.token_hex(3)}"


async def enqueue(
    uow: UnitOfWork,
    services: Services,
    chats: Sequence[tuple[str, str]],
    bundle: Bundle,
    *,
    intro: str | None = None,
    with_text: bool = True,
) -> int:
    """Queue the bundle for each chat: the text (with ``intro`` first), then each file."""
    t = translator(services)
    now = services.clock()
    name = period_name(t, bundle.period)
    queued = 0
    for channel, chat_id in chats:
        if channel == EMAIL_CHANNEL:
            # One e-mail: the text, and every file attached to it.
            body = bundle.text if intro is None else intro + "\n\n" + bundle.text
            mail = Outgoing(
                channel,
                chat_id,
                body,
                subject=t("reports.email_subject", period=name, office=services.config.deployment.name),
                attachments=tuple(str(path) for path, _, _ in bundle.files),
            )
            await uow.outbox.add(
                OutboxMessage(
                    channel=channel, chat_id=chat_id, payload=mail.to_payload(), next_attempt_at=now, created_at=now
                )
            )
            queued += 1
            continue
        if with_text:
            text = bundle.text if intro is None else intro + "\n\n" + bundle.text
            await notify.enqueue(uow, channel, chat_id, Reply(text), now=now)
            queued += 1
        for path, kind, caption in bundle.files:
            outgoing = Outgoing(channel, chat_id, t(caption, period=name), file=str(path), file_kind=kind)
            await uow.outbox.add(
                OutboxMessage(
                    channel=channel, chat_id=chat_id, payload=outgoing.to_payload(), next_attempt_at=now, created_at=now
                )
            )
            queued += 1
    return queued


async def recipients(uow: UnitOfWork, config: Config) -> list[tuple[str, str]]:
    """Configured chats and the active district admins (the bootstrap super-admins if none of
    those), and the configured e-mail addresses when e-mail is set up."""
    chats: set[tuple[str, str]] = set()
    for chat in config.reports.chats:
        channel, _, chat_id = chat.partition(":")
        chats.add((channel, chat_id))
    chats |= {(staff.channel, staff.chat_id) for staff in await uow.staff.active(roles=ADMIN_ROLES)}
    if not chats:
        chats = config.admins.chats()
    if config.email.enabled:
        chats |= {(EMAIL_CHANNEL, address) for address in config.reports.emails}
    return sorted(chats)


# ------------------------------------------------------------------------------------ schedule


@dataclass(frozen=True)
class Occurrence:
    kind: ScheduledKind
    at: datetime  # local, aware
    period: Period
    due: date


def _hhmm(value: str) -> time:
    hour, minute = (int(part) for part in value.split(":"))
    return time(hour, minute)


def occurrence(kind: ScheduledKind, now: datetime, config: Config) -> Occurrence:
    """The latest scheduled time of ``kind`` at or before ``now``, and the period it reports on."""
    tz = config.deployment.tz
    local = now.astimezone(tz)
    reports = config.reports
    if kind == "weekly":
        at_time = _hhmm(reports.weekly_time)
        back = (local.weekday() - WEEKDAYS.index(reports.weekly_day)) % 7
        at = datetime.combine(local.date() - timedelta(days=back), at_time, tz)
        if at > local:
            at -= timedelta(days=7)
        return Occurrence(kind, at, periods.week_ending(at.date() - timedelta(days=1)), at.date())
    due_md = reports.half_year_due if kind == "half_year" else reports.annual_due
    at_time = _hhmm(reports.report_time)
    year = local.year
    at = datetime.combine(periods.month_day(due_md, year), at_time, tz)
    if at > local:
        year -= 1
        at = datetime.combine(periods.month_day(due_md, year), at_time, tz)
    period = periods.half_year(year, reports) if kind == "half_year" else periods.annual(year, reports)
    return Occurrence(kind, at, period, at.date())


async def installed_at(db: Database, now: datetime) -> datetime:
    """When the scheduler first started on this database (recorded now if it never did)."""
    try:
        async with db.unit_of_work() as uow:
            marker = await uow.reports.find(MARKER_KIND, MARKER_PERIOD)
            if marker is None:
                marker = ReportRun(kind=MARKER_KIND, period=MARKER_PERIOD, status="installed", created_at=now)
                await uow.reports.save(marker)
            return marker.created_at
    except IntegrityError:
        async with db.unit_of_work() as uow:
            marker = await uow.reports.find(MARKER_KIND, MARKER_PERIOD)
            assert marker is not None
            return marker.created_at


RunOutcome = Literal["sent", "already", "not_missed", "too_late", "nobody"]


async def run_scheduled(db: Database, services: Services, kind: ScheduledKind) -> RunOutcome:
    """Send the latest due ``kind`` report unless it was sent already; see the module doc."""
    now = services.clock()
    config = services.config
    due = occurrence(kind, now, config)
    since = await installed_at(db, now)
    async with db.read_only() as uow:
        run = await uow.reports.find(kind, due.period.key)
        already_sent = run is not None and run.status == "sent"
        chats = await recipients(uow, config)
    if already_sent:
        return "already"
    if due.at < since:
        return "not_missed"
    if kind != "weekly" and now - due.at > timedelta(days=config.reports.catch_up_days):
        log.warning("the %s report %s was missed for too long; not sent", kind, due.period.key)
        return "too_late"
    if not chats:
        log.warning("no recipient for the %s report %s", kind, due.period.key)
        return "nobody"
    long_report = kind != "weekly"
    out_dir = run_directory(config, due.period, now, kind)
    # Built in a read-only unit of work: on SQLite it does not hold the write lock, so the bot
    # keeps answering while the report is computed.
    async with db.read_only() as uow:
        bundle = await build(
            uow, services, due.period, out_dir, case_list=not long_report, report=long_report, named=True
        )
    intro = None
    if long_report:
        t = translator(services)
        intro = t("reports.statutory_intro", period=period_name(t, due.period), due=fmt_date(due.due))
    try:
        async with db.unit_of_work() as uow:
            run = await uow.reports.find(kind, due.period.key)
            if run is not None and run.status == "sent":
                return "already"
            if run is None:
                run = ReportRun(kind=kind, period=due.period.key, status="sent", created_at=now)
            run.status = "sent"
            run.sent_at = now
            await uow.reports.save(run)
            await enqueue(uow, services, chats, bundle, intro=intro)
    except IntegrityError:
        return "already"
    log.info("sent the %s report %s to %d chats", kind, due.period.key, len(chats))
    return "sent"
