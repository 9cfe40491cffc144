"""Ngôn ngữ: a person chooses the language the bot speaks to them (Vietnamese by default)."""

from __future__ import annotations

from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Option, Reply
from handlers.home import menu

flow = Flow("language", entry="ask", commands=("ngonngu", "language"))

NAMES = {"vi": "Tiếng Việt", "en": "English"}


@flow.step("ask")
async def ask(turn: Turn) -> Next:
    available = turn.services.catalog.languages
    options = tuple(Option(name, f"lang:{lang}") for lang, name in NAMES.items() if lang in available)
    return goto("choose", Reply(turn.t("language.ask"), options))


@flow.step("choose")
async def choose(turn: Turn) -> Next:
    lang = (turn.choice or "").removeprefix("lang:")
    if lang not in turn.services.catalog.languages:
        return await ask(turn)
    turn.citizen.language = lang
    await turn.uow.citizens.save(turn.citizen)
    turn.t = turn.services.catalog.bind(lang)
    return done(turn.say("language.set"), menu(turn))
