"""The FAQ learns from officers: an answered question becomes an entry, or a new way to ask one.

After an officer answers a forwarded question (a case of type hỏi đáp), a button
offers to keep it. ``/faq them <code>`` does the same by command, and
``/faq gan <code> <entry id>`` adds the citizen's wording to an existing entry.
The change is stored and searchable at once.
"""

from __future__ import annotations

import re

from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Option, Reply
from bot.services import faq_learning
from bot.services.access import can
from bot.services.cases import ECHO_MAX, excerpt
from bot.services.denunciation import is_denunciation
from bot.text import clean, parse_id
from handlers.officer import actor_of, refuse
from storage.models import Case

flow = Flow("faq_learn", entry="start", commands=("faq",), staff_only=True)

NEW = "learn:new"
_CODE = re.compile(r"[A-Za-z0-9]{1,8}-\d{4}-\d{5}")


async def _answered_question(turn: Turn, reference: str) -> tuple[Case | None, str | None]:
    number = parse_id(reference)
    case = await turn.uow.cases.get(number) if number is not None else await turn.uow.cases.by_code(reference)
    if case is None or case.type != "hoi_dap":
        return None, None
    answer = await faq_learning.latest_reply(turn.uow, case)
    return case, answer


@flow.step("start")
async def start(turn: Turn) -> Next:
    actor = actor_of(turn)
    words = (turn.arg or turn.inbound.args or "").split()
    if turn.inbound.command == "faq" and (not words or words[0] not in ("them", "gan")):
        return done(turn.say("faq_learn.usage"))
    reference = words[0] if turn.arg and not turn.inbound.command else (words[1] if len(words) > 1 else "")
    if not reference:
        return done(turn.say("faq_learn.usage"))
    case, answer = await _answered_question(turn, reference)
    if case is None or (not can(actor, "reply", case) and not actor.is_admin):
        return await refuse(turn, "faq_learn", reference or None)
    if is_denunciation(case.description):
        # Filed before denunciations were recognised: its words must never become a public FAQ entry.
        await turn.audit("faq_learn", case.code, allowed=False, detail={"reason": "denunciation"})
        return done(turn.say("faq_learn.denunciation", code=case.code))
    if not answer:
        return done(turn.say("faq_learn.no_answer", code=case.code))
    if await faq_learning.holds_personal_data(turn.uow, case, case.description, answer):
        return await _refuse_personal(turn, case)
    turn.data.update(case=case.id)
    if turn.inbound.command == "faq" and words[0] == "gan":
        if len(words) < 3:
            return done(turn.say("faq_learn.usage"))
        return await _link(turn, case, words[2])
    suggestions = turn.services.faq.search(case.description).suggestions
    options = [Option(m.title, f"entry:{m.id}") for m in suggestions[:3]]
    options.append(turn.option("faq_learn.new_button", NEW))
    return goto("choose", Reply(turn.t("faq_learn.choose", question=case.description), tuple(options)))


@flow.step("choose")
async def choose(turn: Turn) -> Next:
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("faq_learn.usage"))
    if turn.choice == NEW:
        return goto("title", turn.say("faq_learn.ask_title", question=case.description))
    if turn.choice and turn.choice.startswith("entry:"):
        return await _link(turn, case, turn.choice.removeprefix("entry:"))
    return goto("choose", turn.say("faq_learn.choose_again"))


@flow.step("title", free_text=True)
async def title(turn: Turn) -> Next:
    text = clean(turn.text)[:200]
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("faq_learn.usage"))
    if len(text) < 4:
        return goto("title", turn.say("faq_learn.ask_title", question=case.description))
    answer = await faq_learning.latest_reply(turn.uow, case) or ""
    if await faq_learning.holds_personal_data(turn.uow, case, case.description, answer, text):
        # Checked again: a reply may have come since, and the title is public too.
        return await _refuse_personal(turn, case)
    unit = await turn.uow.units.get(case.unit_id)
    entry = await faq_learning.create_entry(
        turn.uow,
        turn.services,
        title=text,
        question=case.description,
        answer=answer,
        unit_name=unit.name if unit else "",
    )
    await turn.audit("faq_new", entry.id)
    return done(turn.say("faq_learn.created", id=entry.id, title=entry.title))


async def _refuse_personal(turn: Turn, case: Case) -> Next:
    """Nothing that names the asker is published: refused, audited, and the officer told how to go on."""
    await turn.audit("faq_learn", case.code, allowed=False, detail={"reason": "personal_data"})
    return done(turn.say("faq_learn.personal", code=case.code))


async def _link(turn: Turn, case: Case, entry_id: str) -> Next:
    if await faq_learning.holds_personal_data(turn.uow, case, case.description):
        return await _refuse_personal(turn, case)
    entry = await faq_learning.add_question(turn.uow, turn.services, entry_id, case.description)
    if entry is None:
        return done(turn.say("faq_learn.unknown_entry", id=excerpt(entry_id, ECHO_MAX)))
    await turn.audit("faq_link", entry.id)
    return done(turn.say("faq_learn.linked", id=entry.id, title=entry.title))
