"""/giamsat: what a supervisor (MTTQ, Ban Thanh tra nhân dân) of a commune may see in chat.

Why this module exists: "dân kiểm tra, dân giám sát" gives the commune's Fatherland Front and
People's Inspection Board the right to watch how petitions are handled, not to handle them.
So a supervisor gets this month's figures of their commune (from ``figures.collect``, the
same numbers as the digest and the public page) and the overdue cases as codes, types and
days overdue: no content, no identity, no button to act. Nobody else uses this command; an
officer has their inbox and /baocao. The figures are read after the turn commits, in a
read-only unit of work, as /baocao does.
"""

from __future__ import annotations

from bot.dialog.catalog import Markup
from bot.dialog.flow import Flow, Turn, done
from bot.dialog.types import Next, Reply
from bot.reports import figures, periods
from handlers.officer import actor_of, refuse
from storage.uow import Database

flow = Flow("supervise", entry="show", commands=("giamsat", "supervise"), staff_only=True)

OVERDUE_SHOWN = 30


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


@flow.step("show")
async def show(turn: Turn) -> Next:
    actor = actor_of(turn)
    staff = actor.staff
    if not actor.is_supervisor or staff is None or staff.unit_id is None:
        return await refuse(turn, "supervise", None)
    unit = await turn.uow.units.get(staff.unit_id)
    if unit is None or unit.id is None:
        return await refuse(turn, "supervise", None)
    await turn.audit("supervise", unit.code)
    services = turn.services
    scope = (unit.id, unit.name)
    now = turn.now
    today = services.local_now().date()

    async def build(db: Database) -> list[Reply]:
        async with db.read_only() as reader:
            month = await figures.collect(
                reader, periods.month_of(today), now, services.config.deployment.tz, unit=scope
            )
        cell = month.total()
        lines = [
            turn.t(
                "supervise.overdue_line",
                code=case.code,
                type=turn.t(f"case_type.{case.type}"),
                days=(month.window.as_of_date - case.due).days,
            )
            for case in month.overdue_cases[:OVERDUE_SHOWN]
        ]
        text = turn.t(
            "supervise.figures",
            unit=unit.name,
            month=today.strftime("%m/%Y"),
            received=cell.received,
            finished=cell.finished,
            on_time=_percent(cell.on_time_rate),
            days=_number(cell.average_days),
            overdue=cell.overdue,
            score=_number(cell.average_score),
            ratings=cell.ratings,
            lines=Markup("\n".join(lines) or turn.t("supervise.no_overdue")),
        )
        return [Reply(text)]

    turn.after_commit(build)
    return done()
