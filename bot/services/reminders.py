"""Morning reminders: each officer hears of the cases due soon; overdue cases escalate.

Run once a day by the scheduler (and safe to run again: a ``report_runs`` row
per day makes the sending exactly-once, even after a crash and restart). Each
officer, unit lead and inspector gets one message listing the open cases of
their unit whose current deadline falls within the next working days. Cases
already overdue go to the unit's lead and to the district admins (a
denunciation only to its inspectorate; when it has no inspector, the admins get a
content-free alert that some wait). Resolved cases nobody rated within the window are closed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from bot.dialog.catalog import Markup
from bot.dialog.types import Option, Reply
from bot.services import cases, notify
from bot.services.container import Services
from storage.models import Case, ReportRun, Staff
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

KIND = "reminders"


def current_due(case: Case) -> date:
    """The deadline of the stage the case is at: acceptance/classification, then resolution."""
    if case.accepted_at is None:
        return case.first_due
    return case.final_due or case.first_due


async def run_daily(db: Database, services: Services, today: date) -> int:
    """Send today's reminders once; return how many messages were queued (0 if already sent)."""
    async with db.unit_of_work() as uow:
        if await uow.reports.find(KIND, today.isoformat()) is not None:
            return 0
        await uow.reports.save(ReportRun(kind=KIND, period=today.isoformat(), status="sent", sent_at=services.clock()))
        open_cases = await uow.cases.open_cases()
        staff = await uow.staff.all_active()
        sent = await _remind(uow, services, today, open_cases, staff)
        sent += await _escalate(uow, services, today, open_cases, staff)
        # Denunciations nobody may receive are never shown to anyone else: the admins are reminded
        # that they wait, without their codes or content.
        await cases.alert_unreceived(uow, services, None, key=f"day:{today.isoformat()}")
        await _close_unrated(uow, services)
    log.info("reminders for %s: %d messages", today, sent)
    return sent


def _visible(member: Staff, case: Case) -> bool:
    if member.unit_id != case.unit_id:
        return False
    if case.type == "to_cao":
        return member.role == "inspector"
    return member.role in ("officer", "unit_lead", "inspector")


def _line(services: Services, case: Case, due: date) -> str:
    t = services.catalog.bind(services.config.deployment.language)
    return t("reminders.line", code=case.code, type=t(f"case_type.{case.type}"), due=due.strftime("%d/%m/%Y"))


async def _send(uow: UnitOfWork, services: Services, member: Staff, key: str, cases: list[Case]) -> None:
    t = services.catalog.bind(services.config.deployment.language)
    lines = Markup("\n".join(_line(services, case, current_due(case)) for case in cases))
    options = tuple(Option(case.code, f"flow:case:view:{case.id}") for case in cases[:8])
    reply = Reply(t(key, count=len(cases), lines=lines), options, columns=2)
    await notify.enqueue(uow, member.channel, member.chat_id, reply, now=services.clock())


async def _remind(
    uow: UnitOfWork, services: Services, today: date, open_cases: Sequence[Case], staff: Sequence[Staff]
) -> int:
    window = services.config.reminders.within_working_days
    soon = sorted(
        (c for c in open_cases if services.deadlines.due_soon(current_due(c), today, window)),
        key=current_due,
    )
    sent = 0
    for member in staff:
        mine = [case for case in soon if _visible(member, case)]
        if mine:
            await _send(uow, services, member, "reminders.due_soon", mine)
            sent += 1
    return sent


async def _escalate(
    uow: UnitOfWork, services: Services, today: date, open_cases: Sequence[Case], staff: Sequence[Staff]
) -> int:
    overdue = sorted((c for c in open_cases if services.deadlines.is_overdue(current_due(c), today)), key=current_due)
    by_member: dict[int, list[Case]] = defaultdict(list)
    members = {m.id: m for m in staff if m.id is not None}
    for case in overdue:
        for member in staff:
            lead = member.role == "unit_lead" and _visible(member, case)
            inspector = case.type == "to_cao" and member.role == "inspector" and _visible(member, case)
            admin = member.role == "district_admin" and case.type != "to_cao"
            if (lead or inspector or admin) and member.id is not None:
                by_member[member.id].append(case)
    for member_id, theirs in by_member.items():
        await _send(uow, services, members[member_id], "reminders.overdue", theirs)
    return len(by_member)


async def _close_unrated(uow: UnitOfWork, services: Services) -> None:
    limit = services.clock() - timedelta(days=services.config.reminders.close_unrated_after_days)
    for case in await uow.cases.resolved_before(limit):
        case.status = "closed"
        case.closed_at = services.clock()
        await uow.cases.save(case)
