"""Hỏi thủ tục: answers from the procedure FAQ, and a person when it has none.

Typed questions (with or without accents, Southern words, old terms) are
matched by the FAQ search service. A confident match is answered at once; an
unsure one offers the closest three; nothing close offers to forward the
question to an officer, which becomes a case of type "hỏi đáp" — except for what
no officer could answer: gibberish, and questions no commune answers (gold
prices, the weather, the lottery), which get the menu with a word of why.
"""

from __future__ import annotations

from bot.dialog import smalltalk
from bot.dialog.flow import VIA, Flow, Turn, done, goto, start
from bot.dialog.types import Next, Option, Reply
from bot.services.faq import FaqEntry, FaqResult, looks_like_gibberish, out_of_scope
from bot.text import clean, fold
from handlers.home import menu
from handlers.petition import FORWARDED_LOG, petition_type
from storage.models import FaqFeedback

flow = Flow("faq", entry="enter", commands=("hoi", "hoithutuc", "huongdan"))

FORWARD = "faq:forward"
NO_FORWARD = "faq:no"
UP = "faq:up"
DOWN = "faq:down"
ANOTHER = "faq:another"
QUESTION_MAX = 1000
FORWARD_MIN_WORDS = 3


@flow.step("enter")
async def enter(turn: Turn) -> Next:
    from_free_text = turn.data.get(VIA) == "free_text"
    question = turn.text if from_free_text else (turn.arg or "")
    if question:
        return await _answer(turn, question, from_free_text=from_free_text)
    return goto("ask", turn.say("faq.ask"))


@flow.step("ask")
async def ask(turn: Turn) -> Next:
    if not turn.text:
        return goto("ask", turn.say("faq.ask_text"))
    return await _answer(turn, turn.text, from_free_text=False)


async def _answer(turn: Turn, question: str, *, from_free_text: bool) -> Next:
    if from_free_text and smalltalk.kind(question) is not None:
        # "cảm ơn" after an answer, "alo" instead of pressing: not a question to search for.
        return start("home", carry={VIA: "free_text"})
    question = clean(question)[:QUESTION_MAX]
    result = turn.services.faq.search(question)
    log = await turn.uow.faq.log(
        FaqFeedback(
            channel=turn.inbound.channel,
            citizen_id=turn.citizen.id,
            query=question,
            outcome=result.outcome,
            entry_id=result.answer.id if result.answer else None,
            at=turn.now,
        )
    )
    turn.data["log"] = log.id
    turn.data["question"] = question
    if result.outcome == "answer" and result.answer is not None:
        entry = turn.services.faq.get(result.answer.id)
        if entry is not None:
            return _show(turn, entry)
    if result.outcome == "unsure":
        return goto("pick", _suggestions(turn, result))
    if out_of_scope(question):
        return done(menu(turn, "faq.out_of_scope"))
    if looks_like_gibberish(question):
        return done(menu(turn, "home.not_understood"))
    if from_free_text:
        # Chat like "alo" or "ok" gets the menu; a real sentence may also go to an officer.
        if len(fold(question).split()) < FORWARD_MIN_WORDS:
            return done(menu(turn, "home.not_understood"))
        offer = menu(turn, "home.not_understood_forward")
        return goto(
            "offer", Reply(offer.text, (*offer.options, turn.option("faq.forward_button", FORWARD, means="yes")))
        )
    return goto(
        "offer",
        turn.say(
            "faq.no_answer",
            turn.option("faq.forward_button", FORWARD, means="yes"),
            turn.option("faq.no_forward_button", NO_FORWARD, means="no"),
        ),
    )


def _suggestions(turn: Turn, result: FaqResult) -> Reply:
    options = [turn.option("faq.suggestion", f"entry:{m.id}", title=m.title) for m in result.suggestions[:3]]
    options.extend(_file_now(turn))
    options.append(turn.option("faq.none_of_these", FORWARD, means="no"))
    return Reply(turn.t("faq.did_you_mean"), tuple(options))


def _file_now(turn: Turn) -> list[Option]:
    """'Tôi muốn khiếu nại' asks how, and may mean 'take my complaint': offer to file it here."""
    kind = petition_type(turn.data.get("question", ""))
    if kind is None:
        return []
    return [turn.option("faq.file_now", f"flow:petition:{kind}", type=turn.t(f"case_type.{kind}").lower())]


def _show(turn: Turn, entry: FaqEntry) -> Next:
    answer = turn.say(
        "faq.answer",
        turn.option("faq.helpful", UP, means="yes"),
        turn.option("faq.not_helpful", DOWN, means="no"),
        *_file_now(turn),
        columns=2,
        title=entry.title,
        answer=entry.answer.strip(),
        level=entry.level,
        legal_basis=entry.legal_basis,
        verified_on=entry.verified_on.strftime("%d/%m/%Y"),
    )
    turn.data["entry"] = entry.id
    return goto("feedback", answer)


@flow.step("pick")
async def pick(turn: Turn) -> Next:
    if turn.choice == FORWARD:
        return _forward(turn)
    if turn.choice and turn.choice.startswith("entry:"):
        entry = turn.services.faq.get(turn.choice.removeprefix("entry:"))
        if entry is not None:
            await _record(turn, entry_id=entry.id, helpful=None)
            return _show(turn, entry)
    if turn.text:
        # Typing instead of pressing: treat it as new text, chat like "ok" gets the menu.
        return await _answer(turn, turn.text, from_free_text=True)
    return goto("ask", turn.say("faq.ask_text"))


@flow.step("feedback")
async def feedback(turn: Turn) -> Next:
    if turn.choice == UP:
        await _record(turn, entry_id=turn.data.get("entry"), helpful=True)
        return done(turn.say("faq.thanks"), menu(turn, "menu.more"))
    if turn.choice == DOWN:
        await _record(turn, entry_id=turn.data.get("entry"), helpful=False)
        return goto(
            "offer",
            turn.say(
                "faq.sorry_offer_forward",
                turn.option("faq.forward_button", FORWARD, means="yes"),
                turn.option("faq.no_forward_button", NO_FORWARD, means="no"),
            ),
        )
    if turn.text:
        # Typing instead of pressing: treat it as new text, chat like "ok" gets the menu.
        return await _answer(turn, turn.text, from_free_text=True)
    return done(menu(turn, "menu.more"))


@flow.step("offer")
async def offer(turn: Turn) -> Next:
    if turn.choice == FORWARD:
        return _forward(turn)
    if turn.choice == NO_FORWARD:
        return done(turn.say("faq.ok_no_forward"), menu(turn, "menu.more"))
    if turn.text:
        # Typing instead of pressing: treat it as new text, chat like "ok" gets the menu.
        return await _answer(turn, turn.text, from_free_text=True)
    return done(menu(turn))


def _forward(turn: Turn) -> Next:
    # The log id goes in the conversation's data: a typed "/phananh <anything>" cannot name one.
    return start("petition", carry={FORWARDED_LOG: turn.data.get("log")})


async def _record(turn: Turn, *, entry_id: str | None, helpful: bool | None) -> None:
    log_id = turn.data.get("log")
    log = await turn.uow.faq.get_log(int(log_id)) if log_id else None
    if log is None:
        return
    if entry_id:
        log.entry_id = entry_id
    if helpful is not None:
        log.helpful = helpful
    await turn.uow.faq.log(log)
