"""Dữ liệu của tôi: what the bot keeps about a citizen, erasure on request, and withdrawal.

Erasure removes the person's name, phone, consent, the words they typed to the FAQ and the
contact stored with their cases, but keeps the cases' content, which is the legal record of
what was filed. The contact on an open khiếu nại or tố cáo (and for the records period after it
closes) is kept on the legal-obligation basis: the summary, the confirmation and the answer say
so, naming the cases, and offer to withdraw such a petition instead (rút đơn), which tells the
officers handling it. Withdrawal takes the case id from a button (a server-side value) and
checks again that the case is the person's own and still open.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Option, Reply
from bot.services import casework, privacy
from bot.services.cases import OPEN_STATUSES
from bot.text import parse_id
from handlers.home import menu
from storage.models import Case

flow = Flow("privacy", entry="show", commands=("dulieu", "mydata", "privacy"))
withdraw_flow = Flow("withdraw", entry="ask")

ERASE = "privacy:erase"
CONFIRM = "privacy:confirm"
KEEP = "privacy:keep"
WITHDRAW = "withdraw:confirm"
NOT_WITHDRAW = "withdraw:keep"


def withdraw_option(turn: Turn, case: Case, key: str = "privacy.withdraw_button") -> Option:
    return turn.option(key, f"flow:withdraw:{case.id}", code=case.code)


def _codes(held: Sequence[Case]) -> str:
    return ", ".join(case.code for case in held)


@flow.step("show")
async def show(turn: Turn) -> Next:
    citizen = turn.citizen
    own = await turn.uow.cases.of_citizen(citizen.id or 0, limit=1000)
    held = [case for case in own if privacy.is_held(case, turn.services, turn.now)]
    t = turn.t
    consent = (
        t(
            "privacy.consent_given",
            when=citizen.consent_at.astimezone(turn.services.config.deployment.tz).strftime("%d/%m/%Y"),
        )
        if citizen.consent_at
        else t("privacy.consent_none")
    )
    text = t(
        "privacy.summary",
        channel=citizen.channel,
        name=citizen.display_name or t("privacy.empty"),
        phone=citizen.phone or t("privacy.empty"),
        consent=consent,
        cases=len(own),
        questions=await turn.uow.faq.count_of_citizen(citizen.id or 0),
    )
    if held:
        text += "\n\n" + t("privacy.legal_hold", codes=_codes(held), years=_years(turn))
    options = [turn.option("privacy.erase_button", ERASE), turn.option("privacy.keep_button", KEEP)]
    options += [withdraw_option(turn, case) for case in held if case.status in OPEN_STATUSES][:5]
    return goto("choose", Reply(text, tuple(options)))


def _years(turn: Turn) -> int:
    return turn.services.config.retention.legal_records_years


@flow.step("choose")
async def choose(turn: Turn) -> Next:
    if turn.choice == ERASE:
        held = await privacy.held_cases(turn.uow, turn.services, turn.citizen, turn.now)
        key = "privacy.confirm_erase_hold" if held else "privacy.confirm_erase"
        return goto(
            "confirm",
            turn.say(
                key,
                # Not marked as the "yes": erasing cannot be undone, and elderly people say
                # "dạ" to anything. Only the button or its label typed in full erases.
                turn.option("privacy.confirm_button", CONFIRM),
                turn.option("privacy.keep_button", KEEP, means="no"),
                codes=_codes(held),
            ),
        )
    return done(turn.say("privacy.kept"), menu(turn, "menu.more"))


@flow.step("confirm")
async def confirm(turn: Turn) -> Next:
    if turn.choice != CONFIRM:
        return done(turn.say("privacy.kept"), menu(turn, "menu.more"))
    held = await privacy.erase(turn.uow, turn.services, turn.citizen, turn.now)
    if held:
        return done(turn.say("privacy.erased_hold", codes=_codes(held), years=_years(turn)), menu(turn))
    return done(turn.say("privacy.erased"), menu(turn))


# --- withdrawing a petition ----------------------------------------------------------------------


async def _own_open_case(turn: Turn, case_id: int | None) -> Case | None:
    case = await turn.uow.cases.get(case_id) if case_id is not None else None
    if case is None or case.citizen_id != turn.citizen.id or case.status not in OPEN_STATUSES:
        return None
    return case


@withdraw_flow.step("ask")
async def ask_withdraw(turn: Turn) -> Next:
    case = await _own_open_case(turn, parse_id(turn.arg or ""))
    if case is None:
        return done(turn.say("withdraw.not_possible"), menu(turn, "menu.more"))
    turn.data["case"] = case.id
    return goto(
        "confirm",
        turn.say(
            "withdraw.confirm",
            turn.option("withdraw.confirm_button", WITHDRAW),  # not a "yes": it cannot be undone
            turn.option("withdraw.keep_button", NOT_WITHDRAW, means="no"),
            code=case.code,
        ),
    )


@withdraw_flow.step("confirm")
async def confirm_withdraw(turn: Turn) -> Next:
    if turn.choice != WITHDRAW:
        return done(turn.say("withdraw.kept"), menu(turn, "menu.more"))
    case = await _own_open_case(turn, turn.data.get("case"))
    if case is None:
        return done(turn.say("withdraw.not_possible"), menu(turn, "menu.more"))
    await casework.withdraw(turn.uow, turn.services, case)
    return done(turn.say("withdraw.done", code=case.code), menu(turn, "menu.more"))
