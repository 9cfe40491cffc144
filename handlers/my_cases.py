"""Hồ sơ của tôi: a citizen's own cases, their status and public history.

Only the cases filed from this very account are ever shown. A code typed or
sent with /hoso that belongs to someone else gets the same answer as a code
that does not exist, so nothing leaks.
"""

from __future__ import annotations

import re

from bot.dialog.catalog import Markup
from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Reply
from bot.services import cases, casework
from bot.text import parse_id
from handlers.home import menu
from storage.models import Case

flow = Flow("my_cases", entry="list", commands=("hoso", "mycases"))

_CODE = re.compile(r"\b([A-Za-z0-9]{1,8}-\d{4}-\d{5})\b")


@flow.step("list")
async def list_cases(turn: Turn) -> Next:
    typed = _CODE.search(turn.arg or "")
    if typed:
        return await _show_code(turn, typed.group(1))
    own = await turn.uow.cases.of_citizen(turn.citizen.id or 0)
    if not own:
        return done(turn.say("my_cases.none"), menu(turn))
    lines = [_line(turn, case) for case in own]
    options = [turn.option("my_cases.case_button", f"case:{case.id}", code=case.code) for case in own[:10]]
    return goto(
        "pick",
        Reply(turn.t("my_cases.list", lines=Markup("\n".join(lines))), tuple(options), columns=2),
    )


@flow.step("pick")
async def pick(turn: Turn) -> Next:
    if turn.choice and turn.choice.startswith("case:"):
        case_id = parse_id(turn.choice.removeprefix("case:"))
        case = await turn.uow.cases.get(case_id) if case_id is not None else None
        if case is not None and case.citizen_id == turn.citizen.id:
            return done(*await _card(turn, case))
    typed = _CODE.search(turn.text)
    if typed:
        return await _show_code(turn, typed.group(1))
    return await list_cases(turn)


async def _show_code(turn: Turn, code: str) -> Next:
    case = await turn.uow.cases.by_code(code)
    if case is None or case.citizen_id != turn.citizen.id:
        return done(turn.say("my_cases.not_found", code=code.upper()), menu(turn))
    return done(*await _card(turn, case))


def _line(turn: Turn, case: Case) -> str:
    due = case.final_due or case.first_due
    open_ = case.status in cases.OPEN_STATUSES
    return turn.t(
        "my_cases.line_open" if open_ else "my_cases.line_closed",
        code=case.code,
        type=turn.t(cases.type_key(case)),
        status=cases.status_label(turn.t, case.status),
        due=due.strftime("%d/%m/%Y"),
        due_label=turn.t(casework.due_label_key(case)),
    )


async def _card(turn: Turn, case: Case) -> list[Reply]:
    unit = await turn.uow.units.get(case.unit_id)
    history = []
    for event in await cases.public_history(turn.uow, case):
        history.append(
            turn.t(
                "my_cases.event",
                when=cases.format_local(turn.services, event.at),
                what=turn.t(f"event.{event.kind}"),
                detail=event.payload.get("text", ""),
            )
        )
    due = case.final_due or case.first_due
    decision = (
        turn.t(
            "my_cases.decision",
            number=case.decision_number or "",
            date=case.decision_date.strftime("%d/%m/%Y"),
        )
        if case.decision_date is not None
        else ""
    )
    card = turn.say(
        "my_cases.card",
        code=case.code,
        type=turn.t(cases.type_key(case)),
        unit=unit.name if unit else "",
        status=cases.status_label(turn.t, case.status),
        received=cases.format_local(turn.services, case.received_at),
        due=due.strftime("%d/%m/%Y"),
        due_label=turn.t(casework.due_label_key(case)),
        decision=decision,
        description=cases.excerpt(case.description, 500),
        history=Markup("\n".join(history)),
    )
    if case.status in cases.OPEN_STATUSES:
        # Rút đơn: the withdraw flow checks again that the case is this person's and open.
        card = Reply(card.text, (turn.option("my_cases.withdraw_button", f"flow:withdraw:{case.id}"),))
    elif case.type == "khieu_nai" and case.round == 1 and case.decision_date is not None:
        # Luật Khiếu nại Art. 33: the second complaint; the appeal flow checks the window and owner.
        button = turn.option("my_cases.second_complaint_button", f"flow:appeal:{case.id}")
        card = Reply(card.text, (button,))
    return [card, menu(turn, "menu.more")]
