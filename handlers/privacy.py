"""Dữ liệu của tôi: what the bot keeps about a citizen, and erasure on request.

Erasure anonymises the person (name, phone, consent, and the contact stored
with each of their cases) but keeps the cases' content, which is the legal
record of what was filed. The request is carried out at once and confirmed.
"""

from __future__ import annotations

from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next
from handlers.home import menu

flow = Flow("privacy", entry="show", commands=("dulieu", "mydata", "privacy"))

ERASE = "privacy:erase"
CONFIRM = "privacy:confirm"
KEEP = "privacy:keep"


@flow.step("show")
async def show(turn: Turn) -> Next:
    citizen = turn.citizen
    own = await turn.uow.cases.of_citizen(citizen.id or 0, limit=1000)
    t = turn.t
    consent = (
        t(
            "privacy.consent_given",
            when=citizen.consent_at.astimezone(turn.services.config.deployment.tz).strftime("%d/%m/%Y"),
        )
        if citizen.consent_at
        else t("privacy.consent_none")
    )
    return goto(
        "choose",
        turn.say(
            "privacy.summary",
            turn.option("privacy.erase_button", ERASE),
            turn.option("privacy.keep_button", KEEP),
            channel=citizen.channel,
            name=citizen.display_name or t("privacy.empty"),
            phone=citizen.phone or t("privacy.empty"),
            consent=consent,
            cases=len(own),
        ),
    )


@flow.step("choose")
async def choose(turn: Turn) -> Next:
    if turn.choice == ERASE:
        return goto(
            "confirm",
            turn.say(
                "privacy.confirm_erase",
                # Not marked as the "yes": erasing cannot be undone, and elderly people say
                # "dạ" to anything. Only the button or its label typed in full erases.
                turn.option("privacy.confirm_button", CONFIRM),
                turn.option("privacy.keep_button", KEEP, means="no"),
            ),
        )
    return done(turn.say("privacy.kept"), menu(turn, "menu.more"))


@flow.step("confirm")
async def confirm(turn: Turn) -> Next:
    if turn.choice != CONFIRM:
        return done(turn.say("privacy.kept"), menu(turn, "menu.more"))
    citizen = turn.citizen
    await turn.uow.cases.erase_contacts(citizen.id or 0, turn.now)
    citizen.display_name = None
    citizen.phone = None
    citizen.consent_at = None
    citizen.erased_at = turn.now
    await turn.uow.citizens.save(citizen)
    return done(turn.say("privacy.erased"), menu(turn))
