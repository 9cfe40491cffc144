"""A citizen answers the government: rating a resolved case, adding what an officer asked for.

Both start from buttons in a notice (or a typed number on channels without
buttons). The case must be the citizen's own, whatever the button says.
"""

from __future__ import annotations

from bot.dialog import smalltalk
from bot.dialog.flow import Flow, Turn, done, goto, start
from bot.dialog.types import Next, Option, Reply
from bot.services import cases, casework, publishing
from bot.text import clean, parse_id
from handlers.home import ATTACHED, DENOUNCED, UNPLACED, menu
from storage.models import Case

rate_flow = Flow("rate", entry="score")
supplement_flow = Flow("supplement", entry="ask")
appeal_flow = Flow("appeal", entry="start")

MORE = "rate:more"
NO_MORE = "rate:no"
SKIP_COMMENT = "rate:skip"
DONE = "supplement:done"
PUBLISH_YES = "publish:yes"
PUBLISH_NO = "publish:no"


async def _own_case(turn: Turn, case_id: str | int) -> Case | None:
    number = case_id if isinstance(case_id, int) else parse_id(case_id)
    case = await turn.uow.cases.get(number) if number is not None else None
    if case is None or case.citizen_id != turn.citizen.id:
        return None
    return case


# --- rating ------------------------------------------------------------------------------------


@rate_flow.step("score")
async def score(turn: Turn) -> Next:
    case_id, _, value = (turn.arg or "").partition(":")
    case = await _own_case(turn, case_id)
    if case is None or case.status not in ("resolved", "closed"):
        return done(turn.say("rating.not_available"))
    if await turn.uow.cases.ratings(case.id or 0) and case.status == "closed":
        return done(turn.say("rating.already"))
    turn.data["case"] = case.id
    score = parse_id(value, limit=5)
    if value == "unsolved" or (score is not None and 1 <= score <= casework.LOW_SCORE):
        turn.data["score"] = None if value == "unsolved" else score
        return goto("comment", turn.say("rating.ask_comment", turn.option("rating.skip_comment", SKIP_COMMENT)))
    if score is None or score < 1:
        return done(turn.say("rating.not_available"))
    await casework.rate(turn.uow, turn.services, case, score)
    return goto(
        "more",
        turn.say(
            "rating.thanks",
            turn.option("rating.more_button", MORE, means="yes"),
            turn.option("rating.no_button", NO_MORE, means="no"),
        ),
    )


@rate_flow.step("comment", free_text=True)
async def comment(turn: Turn) -> Next:
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("rating.not_available"))
    text = None if turn.choice == SKIP_COMMENT else (clean(turn.text)[:1000] or None)
    if turn.choice != SKIP_COMMENT and text is None:
        return goto("comment", turn.say("rating.ask_comment", turn.option("rating.skip_comment", SKIP_COMMENT)))
    if casework.denounces(case, text):
        # The rating counts; the comment is a tố cáo, filed with the inspectorate, not sent to the unit.
        await casework.rate(turn.uow, turn.services, case, turn.data.get("score"))
        return start("petition", carry={DENOUNCED: text})
    reopened = await casework.rate(turn.uow, turn.services, case, turn.data.get("score"), text)
    key = "rating.reopened" if reopened else "rating.recorded_low"
    if casework.decided(case):
        # The decision stands; the citizen is told the remedies instead (Luật KN Art. 33, Luật TC Art. 37).
        key = f"rating.recorded_{case.type}" if case.round == 1 else "rating.recorded_khieu_nai2"
    return done(turn.say(key, code=case.code), menu(turn, "menu.more"))


def _aspect_question(turn: Turn, index: int) -> Reply:
    aspect = casework.SIPAS_ASPECTS[index]
    options = tuple(Option(f"{n} ⭐", f"aspect:{n}") for n in range(1, 6))
    return Reply(
        turn.t("rating.aspect", number=index + 1, total=len(casework.SIPAS_ASPECTS), aspect=turn.t(f"aspect.{aspect}")),
        options,
        columns=5,
    )


@rate_flow.step("more")
async def more(turn: Turn) -> Next:
    if turn.choice == MORE:
        turn.data["aspects"] = {}
        return goto("aspect", _aspect_question(turn, 0))
    return await _goodbye(turn)


@rate_flow.step("aspect")
async def aspect(turn: Turn) -> Next:
    answers: dict[str, int] = turn.data.setdefault("aspects", {})
    index = len(answers)
    value = parse_id((turn.choice or "").removeprefix("aspect:"), limit=5)
    if value is None or value < 1:
        return goto("aspect", _aspect_question(turn, index))
    answers[casework.SIPAS_ASPECTS[index]] = value
    if len(answers) < len(casework.SIPAS_ASPECTS):
        return goto("aspect", _aspect_question(turn, len(answers)))
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is not None:
        await casework.rate_aspects(turn.uow, case, answers)
    return await _goodbye(turn)


async def _goodbye(turn: Turn) -> Next:
    """Thanks; and, for a case that may be published, whether the citizen allows it."""
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None or not publishing.publishable(case) or await turn.uow.published.get(case.id or 0):
        return done(turn.say("rating.bye"), menu(turn, "menu.more"))
    ask = turn.say(
        "rating.ask_publish",
        turn.option("rating.publish_yes", PUBLISH_YES, means="yes"),
        turn.option("rating.publish_no", PUBLISH_NO, means="no"),
    )
    return goto("publish", turn.say("rating.bye"), ask)


@rate_flow.step("publish")
async def publish(turn: Turn) -> Next:
    """The citizen's leave to show their question and its answer without their identity."""
    case = await _own_case(turn, int(turn.data["case"]))
    if turn.choice == PUBLISH_YES and case is not None and await publishing.consent(turn.uow, case, turn.now):
        return done(turn.say("rating.publish_thanks"), menu(turn, "menu.more"))
    return done(menu(turn, "menu.more"))


# --- adding information --------------------------------------------------------------------------


@supplement_flow.step("ask")
async def ask(turn: Turn) -> Next:
    attached = turn.data.pop(ATTACHED, None)
    if isinstance(attached, int):
        return await _attached(turn, attached)
    if isinstance(turn.data.get(UNPLACED), dict):
        return await _which_case(turn)
    case = await _own_case(turn, turn.arg or "")
    if case is None or case.status != "need_info":
        return done(turn.say("supplement.not_needed"), menu(turn))
    turn.data.update(case=case.id, parts=[], photos=[])
    return goto("collect", turn.say("supplement.ask", turn.option("petition.done_button", DONE), code=case.code))


@supplement_flow.step("collect", free_text=True)
async def collect(turn: Turn) -> Next:
    inbound = turn.inbound
    if turn.choice == DONE:
        return await finish(turn)
    limits = turn.services.config.supplements
    if (
        len(turn.data["parts"]) >= limits.max_parts_per_case
        or len(turn.data["photos"]) >= limits.max_attachments_per_case
    ):
        # What one addition gathers before Xong is bounded too (it is kept in the conversation).
        return goto("collect", turn.say("supplement.collect_full", turn.option("petition.done_button", DONE)))
    attachment = inbound.kept_attachment()
    if attachment is not None:
        turn.data["photos"].append(attachment)
        if turn.text:  # the caption, without invisible characters (kept whole)
            turn.data["parts"].append(turn.text)
    elif inbound.kind == "text" and turn.text:
        turn.data["parts"].append(clean(turn.text))
    else:
        return goto("collect", turn.say("petition.describe_unsupported"))
    return goto(
        "collect",
        turn.say(
            "supplement.progress",
            turn.option("petition.done_button", DONE),
            messages=len(turn.data["parts"]),
            photos=len(turn.data["photos"]),
        ),
    )


async def _which_case(turn: Turn) -> Next:
    """A message typed while several of the person's cases wait for more: which case is it for?"""
    waiting = await turn.uow.cases.awaiting_info(turn.citizen.id or 0)
    if not waiting:
        return done(turn.say("supplement.not_needed"), menu(turn))
    options = [
        Option(
            turn.t("supplement.case_button", code=case.code, type=turn.t(f"case_type.{case.type}")), f"case:{case.id}"
        )
        for case in waiting
    ]
    return goto("place", turn.say("supplement.which"), Reply(turn.t("supplement.which_pick"), tuple(options)))


@supplement_flow.step("place")
async def place(turn: Turn) -> Next:
    """The message goes to the case the person picked, and what follows goes there too until Xong."""
    part = turn.data.get(UNPLACED)
    chosen = (turn.choice or "").removeprefix("case:") if (turn.choice or "").startswith("case:") else None
    case = await _own_case(turn, chosen) if chosen else None
    if not isinstance(part, dict) or case is None or case.status != "need_info":
        return await _which_case(turn)
    text = str(part.get("text") or "")
    kept = part.get("attachment")
    photos = [{str(key): str(value) for key, value in kept.items()}] if isinstance(kept, dict) else []
    turn.data.pop(UNPLACED, None)
    try:
        await casework.add_info(turn.uow, turn.services, case, text, photos)
    except casework.Denounces:
        return start("petition", carry={DENOUNCED: text})
    except casework.CaseFull as full:
        return done(turn.say(str(full), code=case.code))
    return await _attached(turn, case.id or 0)


async def _attached(turn: Turn, case_id: int) -> Next:
    """A message sent without pressing Bổ sung was added to the case: more may follow."""
    case = await _own_case(turn, case_id)
    if case is None:
        return done(menu(turn))
    turn.data.update(case=case.id)
    return goto("more", turn.say("supplement.attached", turn.option("petition.done_button", DONE), code=case.code))


@supplement_flow.step("more", free_text=True, cancelled="supplement.stopped")
async def more_info(turn: Turn) -> Next:
    """Each further text or photo is added to the case at once, until Xong (or anything else)."""
    inbound = turn.inbound
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if turn.choice == DONE or case is None or case.status not in ("received", "accepted", "need_info"):
        return done(menu(turn, "menu.more"))
    said = smalltalk.kind(turn.text) if inbound.kind == "text" else None
    if said is not None:  # "cảm ơn", "ok": the citizen has finished
        return done(menu(turn, "home.thanks" if said == "thanks" else "menu.more"))
    attachment = inbound.kept_attachment()
    photos = [attachment] if attachment is not None else []
    text = clean(turn.text)
    if not photos and not (inbound.kind == "text" and text):
        return goto("more", turn.say("petition.describe_unsupported"))
    try:
        await casework.add_info(turn.uow, turn.services, case, text, photos)
    except casework.Denounces:
        return start("petition", carry={DENOUNCED: text})
    except casework.CaseFull as full:
        return _full(turn, case, full)
    return goto("more", turn.say("supplement.added", turn.option("petition.done_button", DONE), code=case.code))


def _full(turn: Turn, case: Case, full: casework.CaseFull) -> Next:
    """The case takes no more parts (the flow ends), or no more photos (text still may come)."""
    key = str(full)
    if key in ("supplement.full_photos", "supplement.full_text"):
        return goto("more", turn.say(key, turn.option("petition.done_button", DONE), code=case.code))
    return done(turn.say(key, code=case.code))


async def finish(turn: Turn) -> Next:
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None or case.citizen_id != turn.citizen.id or case.status != "need_info":
        return done(turn.say("supplement.not_needed"), menu(turn))
    if not turn.data["parts"] and not turn.data["photos"]:
        return goto("collect", turn.say("supplement.empty", turn.option("petition.done_button", DONE)))
    text = "\n".join(turn.data["parts"])
    try:
        await casework.add_info(turn.uow, turn.services, case, text, turn.data["photos"])
    except casework.Denounces:
        return start("petition", carry={DENOUNCED: text})
    except casework.CaseFull as full:
        return done(turn.say(str(full), code=case.code))
    return done(turn.say("supplement.sent", code=case.code), menu(turn, "menu.more"))


# --- a second complaint (khiếu nại lần hai) ---------------------------------------------------------

APPEAL_SEND = "appeal:send"
APPEAL_CANCEL = "appeal:cancel"
APPEAL_TEXT_MAX = 4000


def _appeal_window_open(turn: Turn, case: Case) -> bool:
    """Luật Khiếu nại Art. 33(1): within 30 days (45 remote) of the first decision."""
    if case.decision_date is None:
        return False
    today = turn.services.deadlines.local_date(turn.now)
    return today <= turn.services.deadlines.appeal_due(case.decision_date, remote=case.remote)


@appeal_flow.step("start")
async def appeal_start(turn: Turn) -> Next:
    case = await _own_case(turn, turn.arg or "")
    if case is None or case.type != "khieu_nai" or case.round != 1 or case.status not in ("resolved", "closed"):
        return done(turn.say("appeal.not_available"), menu(turn))
    if await turn.uow.cases.second_complaint_of(case.id or 0) is not None:
        return done(turn.say("appeal.already", code=case.code), menu(turn))
    if not _appeal_window_open(turn, case):
        return done(turn.say("appeal.too_late", code=case.code), menu(turn))
    turn.data["case"] = case.id
    return goto("reason", turn.say("appeal.ask_reason", code=case.code))


@appeal_flow.step("reason", free_text=True)
async def appeal_reason(turn: Turn) -> Next:
    text = clean(turn.text)
    if len(text) < 10:
        return goto("reason", turn.say("appeal.reason_short"))
    if len(text) > APPEAL_TEXT_MAX:
        return goto("reason", turn.say("appeal.reason_long", length=len(text), limit=APPEAL_TEXT_MAX))
    turn.data["reason"] = text
    return goto(
        "confirm",
        turn.say(
            "appeal.confirm",
            turn.option("appeal.send_button", APPEAL_SEND, means="yes"),
            turn.option("appeal.cancel_button", APPEAL_CANCEL, means="no"),
        ),
    )


@appeal_flow.step("confirm")
async def appeal_confirm(turn: Turn) -> Next:
    if turn.choice != APPEAL_SEND:
        return done(turn.say("appeal.cancelled"), menu(turn))
    case = await _own_case(turn, int(turn.data["case"]))
    if case is None or not _appeal_window_open(turn, case):
        return done(turn.say("appeal.not_available"), menu(turn))
    if await turn.uow.cases.second_complaint_of(case.id or 0) is not None:
        return done(turn.say("appeal.already", code=case.code), menu(turn))
    second = await cases.file_second_complaint(turn.uow, turn.services, case, str(turn.data["reason"]))
    unit = await turn.uow.units.get(second.unit_id)
    return done(
        turn.say(
            "appeal.sent",
            code=second.code,
            first=case.code,
            unit=unit.name if unit else "",
            due=second.first_due.strftime("%d/%m/%Y"),
        ),
        menu(turn, "menu.more"),
    )
