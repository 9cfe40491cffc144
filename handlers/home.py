"""Greeting, consent and the main menu; the answer to anything said outside a flow.

``/start`` greets, says what the bot does and asks for consent before any
personal data is collected (no pre-ticked consent). A greeting typed instead
of /start ("alo", "chào anh") greets the same way; thanks and "ok" get the
menu. A case code typed alone ("CN-2026-00012") opens that case, if it is the
person's own (another's gets "not found", as in Hồ sơ của tôi). A photo sent outside
a flow is kept and offered as the start of a petition. Other free text outside a
flow goes to the procedure FAQ first; whatever the bot cannot place gets the menu,
never silence. An officer's text outside an action gets a hint of their commands
instead.
"""

from __future__ import annotations

import re

from bot.dialog import smalltalk
from bot.dialog.flow import VIA, Flow, Turn, done, goto, start
from bot.dialog.types import Next, Reply
from bot.services import casework
from bot.text import clean

flow = Flow("home", entry="enter", commands=("start", "menu", "batdau"))

CONSENT_YES = "consent:yes"
CONSENT_NO = "consent:no"
# Handed to the supplement flow: the case a message outside any flow was just added to.
ATTACHED = "attached_case"
# Handed to the petition flow: text a citizen added to a case that denounces, to file as a tố cáo.
DENOUNCED = "denounced_text"
# Handed to the supplement flow: a message typed while several cases wait for more, to place.
UNPLACED = "unplaced_part"
# Handed to the petition flow: a photo sent outside any flow, to file with the petition.
CARRIED_PHOTO = "carried_photo"
PHOTO_PETITION = "home:photo_petition"
PHOTO_DROP = "home:photo_drop"
# A case code as cases.py makes them ("CN-2026-00012"), typed on its own or in a short sentence.
CASE_CODE = re.compile(r"\b([A-Za-z0-9]{1,8}-\d{4}-\d{5})\b")


def menu(turn: Turn, key: str = "menu.prompt") -> Reply:
    """The main menu. Each entry starts its flow from any state."""
    return turn.say(
        key,
        turn.option("menu.petition", "flow:petition"),
        turn.option("menu.faq", "flow:faq"),
        turn.option("menu.my_cases", "flow:my_cases"),
        turn.option("menu.schedule", "flow:schedule"),
        turn.option("menu.privacy", "flow:privacy"),
    )


def officer_hint(turn: Turn) -> Reply:
    """What an officer can do, for text typed outside any action."""
    return turn.say(
        "home.officer_hint",
        turn.option("home.officer_inbox", "flow:inbox"),
        turn.option("home.officer_help", "flow:help"),
        columns=2,
    )


def consent_question(turn: Turn) -> Reply:
    return turn.say(
        "consent.ask",
        turn.option("consent.yes", CONSENT_YES, means="yes"),
        turn.option("consent.no", CONSENT_NO, means="no"),
    )


@flow.step("enter")
async def enter(turn: Turn) -> Next:
    via = turn.data.get(VIA)
    if via == "free_text":
        return await free_text(turn)
    if via == "menu":
        return done(menu(turn))
    if turn.inbound.command in ("start", "batdau"):
        return greet(turn)
    return done(menu(turn))


def greet(turn: Turn) -> Next:
    """What the bot does, then the consent question (first time) or the menu."""
    greeting = turn.say("home.greeting", office=turn.services.config.deployment.name)
    if turn.citizen.consent_at is None:
        return goto("consent", greeting, consent_question(turn))
    return done(greeting, menu(turn))


@flow.step("consent")
async def consent(turn: Turn) -> Next:
    if turn.choice == CONSENT_YES:
        turn.citizen.consent_at = turn.now
        await turn.uow.citizens.save(turn.citizen)
        return done(turn.say("consent.thanks"), menu(turn))
    if turn.choice == CONSENT_NO:
        return done(turn.say("consent.declined"), menu(turn))
    return goto("consent", consent_question(turn))


async def free_text(turn: Turn) -> Next:
    kind = turn.inbound.kind
    if kind == "text" and (turn.staff is not None or turn.services.is_super_admin(turn.inbound)):
        # An officer typing outside an action meant to act on a case, not to ask the FAQ.
        return done(officer_hint(turn))
    said = smalltalk.kind(turn.text) if kind == "text" else None
    if said == "greeting":  # "alo", "chào anh": a first-time user on Zalo never types /start
        return greet(turn)
    if said == "thanks":
        return done(menu(turn, "home.thanks"))
    asking = await turn.uow.cases.awaiting_info(turn.citizen.id or 0)
    attachment = turn.inbound.kept_attachment()
    if asking and (kind == "text" or attachment is not None) and (turn.text or attachment):
        if len(asking) > 1:
            # Which request does it answer? Guessing could send a denouncer's answer to the
            # commune of their other case: the person chooses.
            part = {"text": clean(turn.text), "attachment": attachment}
            return start("supplement", carry={UNPLACED: part})
        # An officer asked this citizen for more: their next message answers it, even a short
        # "Dạ rồi" or "ok" to "Anh đã nộp đơn ở xã chưa?".
        waiting = asking[0]
        photos = [attachment] if attachment is not None else []
        try:
            await casework.add_info(turn.uow, turn.services, waiting, clean(turn.text), photos)
        except casework.Denounces:
            return start("petition", carry={DENOUNCED: clean(turn.text)})
        except casework.CaseFull as full:
            return done(turn.say(str(full), code=waiting.code))
        # A photo and then its explanation: what follows goes to the same case until Xong.
        return start("supplement", carry={ATTACHED: waiting.id})
    if said == "ack":
        return done(menu(turn, "menu.more"))
    if kind == "photo" and turn.inbound.attachment:
        return _offer_photo_petition(turn)
    if attachment is not None or kind == "location":
        return done(menu(turn, "home.media_outside_flow"))
    if kind == "other" and turn.inbound.other in ("sticker", "withheld"):
        # A sticker is a friendly gesture; "withheld" is Zalo hiding a protected sender's content.
        return done(menu(turn, f"home.{turn.inbound.other}"))
    if kind in ("other", "contact"):
        return done(menu(turn, "home.unsupported"))
    code = CASE_CODE.search(turn.text or "") if kind == "text" else None
    if code is not None:
        # The my_cases flow shows it only if it is this person's own case.
        return start("my_cases", arg=code.group(1))
    if turn.text and turn.services.faq is not None and len(turn.services.faq) > 0:
        return start("faq", carry={VIA: "free_text"})
    return done(menu(turn, "home.not_understood"))


def _offer_photo_petition(turn: Turn) -> Next:
    """A photo outside a flow is most often a problem to report: offer to start one with it."""
    turn.data[CARRIED_PHOTO] = turn.inbound.attachment
    turn.data["photo_caption"] = clean(turn.text)
    return goto(
        "photo",
        turn.say(
            "home.photo_offer",
            turn.option("home.photo_petition_button", PHOTO_PETITION, means="yes"),
            turn.option("home.photo_drop_button", PHOTO_DROP, means="no"),
        ),
    )


@flow.step("photo")
async def photo_offer(turn: Turn) -> Next:
    if turn.choice == PHOTO_PETITION:
        carry = {CARRIED_PHOTO: turn.data.get(CARRIED_PHOTO), "photo_caption": turn.data.get("photo_caption", "")}
        return start("petition", carry=carry)
    if turn.choice == PHOTO_DROP:
        return done(menu(turn))
    # Something else typed or sent: handled as if there had been no question.
    return await free_text(turn)
