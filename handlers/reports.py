"""/baocao: a report on demand, for district admins (any period) and unit leads (their unit).

Why this module exists: Nội vụ and the unit leads want figures between the scheduled sends.
The reply is the digest text; the chart and the spreadsheet (or, for long periods, the DOCX
report and its annex) follow through the outbox. The report is built after the turn commits
(Turn.after_commit), outside any write unit of work: on SQLite a turn holds the process's
write slot, and every citizen would wait behind a report that takes seconds. Anyone else who is staff is refused with the
same words as elsewhere ("ngoài quyền hạn") and the refusal is audited; citizens are stopped earlier by the dialog
engine (the flow is staff-only). An on-demand report never counts as a scheduled send.
"""

from __future__ import annotations

from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Reply
from bot.reports import periods, service
from handlers.officer import refusal
from storage.uow import Database

flow = Flow("reports", entry="start", commands=("baocao", "report"), staff_only=True)

ALL_UNITS = "all"
ACTION = "report"


async def _scope(turn: Turn) -> tuple[int, str] | str | None:
    """ALL_UNITS, the (id, name) of the one unit this person may see, or None when refused."""
    if turn.services.is_super_admin(turn.inbound):
        return ALL_UNITS
    staff = turn.staff
    if staff is None:
        return None
    if staff.role == "district_admin":
        return ALL_UNITS
    if staff.role == "unit_lead" and staff.unit_id is not None:
        unit = await turn.uow.units.get(staff.unit_id)
        if unit is not None and unit.id is not None:
            return unit.id, unit.name
    return None


async def _audit(turn: Turn, *, allowed: bool, target: str | None, unit: str | None = None) -> None:
    await turn.audit(ACTION, target, allowed=allowed, detail={} if unit is None else {"unit": unit})


@flow.step("start")
async def start(turn: Turn) -> Next:
    scope = await _scope(turn)
    if scope is None:
        await _audit(turn, allowed=False, target=turn.arg)
        return done(refusal(turn))
    if not turn.arg:
        options = (
            turn.option("reports.option_week", "tuan"),
            turn.option("reports.option_half", "6thang"),
            turn.option("reports.option_year", "nam"),
        )
        return goto("pick", Reply(turn.t("reports.ask"), options))
    return await _report(turn, turn.arg, scope)


@flow.step("pick")
async def pick(turn: Turn) -> Next:
    scope = await _scope(turn)
    if scope is None:
        await _audit(turn, allowed=False, target=turn.choice or turn.text)
        return done(refusal(turn))
    text = turn.choice or turn.text
    if not text:
        return await start(turn)
    return await _report(turn, text, scope)


async def _report(turn: Turn, text: str, scope: tuple[int, str] | str) -> Next:
    services = turn.services
    try:
        period = periods.parse(text, services.local_now().date(), services.config.reports)
    except periods.PeriodError:
        return done(turn.say("reports.bad_period", text=text))
    unit = None if isinstance(scope, str) else scope
    await _audit(turn, allowed=True, target=period.key, unit=None if unit is None else unit[1])
    out_dir = service.run_directory(services.config, period, turn.now, "on-demand")
    chat = [(turn.inbound.channel, turn.inbound.chat_id)]
    files_follow = turn.say("reports.files_follow")

    async def build_and_queue(db: Database) -> list[Reply]:
        # After the turn's commit: the build reads in a read-only unit of work (no write lock),
        # and only queuing the files takes a (short) write turn.
        async with db.read_only() as reader:
            bundle = await service.build(
                reader,
                services,
                period,
                out_dir,
                unit=unit,
                case_list=not period.is_long,
                report=period.is_long,
                named=True,
            )
        async with db.unit_of_work() as uow:
            await service.enqueue(uow, services, chat, bundle, with_text=False)
        return [Reply(bundle.text), files_follow]

    turn.after_commit(build_and_queue)
    return done()
