"""The officer workspace: inbox, case card, and the actions on a case.

Officers work on their phones between other duties, so buttons do most of the
work: a new-case notice has "Xem" and "Thụ lý"; the card lists every action
the officer may take. An action that needs words (a reply, a reason, a result)
takes the officer's next message. Every action checks the role and the unit
again, and every refusal is audited.
"""

from __future__ import annotations

import re
from datetime import date

from bot.dialog import smalltalk
from bot.dialog.catalog import Markup, escape
from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Option, Reply
from bot.services import cases, casework, publishing
from bot.services.access import Action, Actor, can, can_extend, inbox_scope, sees_identity
from bot.text import clean, fold, parse_id
from storage.models import Case

inbox = Flow("inbox", entry="page", commands=("hopthu", "inbox"), staff_only=True)
case_flow = Flow("case", entry="open", commands=("xem", "view"), staff_only=True)

PAGE_SIZE = 8
TEXT_ACTIONS = ("reject", "reply", "request_info", "resolve", "note", "extend")
# The longest officer text taken: a whole Telegram message. Longer text (the console) is refused, never cut.
TEXT_MAX = 4096
# The texts a citizen receives: a result, a reason, an answer, a request need a few words.
CITIZEN_FACING = ("reject", "reply", "request_info", "resolve", "extend")
EXTEND_YES = "extend:yes"
EXTEND_NO = "extend:no"
DECISION_TODAY = "decision:today"
_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")
MIN_WORDS = 3


def actor_of(turn: Turn) -> Actor:
    return Actor(turn.staff, super_admin=turn.services.is_super_admin(turn.inbound))


async def refuse(turn: Turn, action: str, target: str | None) -> Next:
    """A plain refusal, and an audit entry saying who tried what."""
    await turn.audit(action, target, allowed=False)
    return done(refusal(turn))


def refusal(turn: Turn) -> Reply:
    """'For officers only' to a citizen; an officer is told that it is beyond their role instead."""
    staff = turn.staff is not None or turn.services.is_super_admin(turn.inbound)
    return turn.say("staff.forbidden" if staff else "staff.not_allowed")


# --- inbox -----------------------------------------------------------------------------------------


@inbox.step("page")
async def page(turn: Turn) -> Next:
    actor = actor_of(turn)
    if not actor.is_staff or actor.is_supervisor:
        return await refuse(turn, "inbox", None)
    number = max(1, parse_id(turn.arg or "") or 1)
    units, types = inbox_scope(actor)
    rows, total = await turn.uow.cases.open_for_units(units, types, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    if total == 0:
        return done(turn.say("officer.inbox_empty"))
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if number > pages:  # a page typed past the end, or cases closed since: show the last one
        number = pages
        rows, total = await turn.uow.cases.open_for_units(units, types, (number - 1) * PAGE_SIZE, PAGE_SIZE)
        pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    today = turn.services.deadlines.local_date(turn.now)
    lines = [_inbox_line(turn, case, today) for case in rows]
    options = [Option(case.code, f"flow:case:view:{case.id}") for case in rows]
    if number > 1:
        options.append(turn.option("officer.previous_page", f"flow:inbox:{number - 1}"))
    if number < pages:
        options.append(turn.option("officer.next_page", f"flow:inbox:{number + 1}"))
    text = turn.t("officer.inbox", total=total, page=number, pages=pages, lines=Markup("\n".join(lines)))
    return done(Reply(text, tuple(options), columns=2))


def _inbox_line(turn: Turn, case: Case, today: object) -> str:
    due = case.final_due or case.first_due
    deadlines = turn.services.deadlines
    flag = "🔴" if deadlines.is_overdue(due, today) else ("🟠" if deadlines.due_soon(due, today) else "⚪")  # type: ignore[arg-type]
    return turn.t(
        "officer.inbox_line",
        flag=flag,
        code=case.code,
        type=turn.t(f"case_type.{case.type}"),
        status=cases.officer_status_label(turn.t, case.status),
        due=due.strftime("%d/%m"),
    )


# --- the case card and its actions ------------------------------------------------------------------


async def _load(turn: Turn, reference: str) -> Case | None:
    number = parse_id(reference)
    if number is not None:
        return await turn.uow.cases.get(number)
    return await turn.uow.cases.by_code(reference.strip())


@case_flow.step("open")
async def open_case(turn: Turn) -> Next:
    actor = actor_of(turn)
    arg = (turn.arg or "").strip()
    action, _, reference = arg.partition(":") if ":" in arg else ("view", "", arg)
    if not reference:
        return done(turn.say("officer.which_case"))
    case = await _load(turn, reference)
    if case is None or not actor.is_staff:
        # Same answer for "no such case" and "not yours": nothing leaks.
        if not actor.is_staff:
            return await refuse(turn, f"case:{action}", reference)
        return done(turn.say("officer.case_not_found", code=cases.excerpt(reference.upper(), cases.ECHO_MAX)))
    allowed = can_extend(actor, case) if action == "extend" else can(actor, action, case)  # type: ignore[arg-type]
    if action == "accept_complex":
        allowed = can(actor, "accept", case)
    if not allowed:
        if not can(actor, "view", case):
            await refuse(turn, f"case:{action}", case.code)
            # Echo only what was typed: "/xem 12" must not tell another unit's case code.
            return done(turn.say("officer.case_not_found", code=cases.excerpt(reference.upper(), cases.ECHO_MAX)))
        return await refuse(turn, f"case:{action}", case.code)
    if action == "view":
        return done(await card(turn, case, actor))
    if action == "publish":
        return await _publish(turn, case, actor)
    if action in ("accept", "accept_complex"):
        return await _apply(turn, case, actor, action, "")
    if action == "resolve" and casework.decided(case) and case.accepted_at is None:
        # Luật KN Art. 27-28, Luật TC Art. 29-30: accept first; the resolution period runs from then.
        return done(turn.say("case.accept_first"), await card(turn, case, actor))
    if action == "transfer":
        turn.data.update(case=case.id)
        return goto("transfer_unit", await _transfer_question(turn, case))
    if action in TEXT_ACTIONS:
        turn.data.update(case=case.id, action=action)
        return goto("text", turn.say(f"officer.ask.{action}", code=case.code))
    return done(turn.say("officer.case_not_found", code=cases.excerpt(reference.upper(), cases.ECHO_MAX)))


async def card(turn: Turn, case: Case, actor: Actor) -> Reply:
    unit = await turn.uow.units.get(case.unit_id)
    events = await turn.uow.cases.events(case.id or 0, public_only=False)
    history = [
        turn.t(
            "officer.event_internal" if event.visibility == "internal" else "officer.event",
            when=cases.format_local(turn.services, event.at),
            what=_event_label(turn, event.kind),
            detail=_event_detail(event.payload),
        )
        for event in events
    ]
    contact_line = turn.t("officer.contact_hidden")
    if case.anonymous:
        contact_line = turn.t("officer.contact_anonymous")
    elif sees_identity(actor, case):
        contact = await turn.uow.cases.contact(case.id or 0)
        parts = [contact.full_name, contact.phone, contact.address] if contact is not None else []
        if contact is not None and (contact.full_name or contact.phone):
            # Only what the citizen gave: a phản ánh often has a phone number and nothing else.
            contact_line = " · ".join(escape(part) for part in parts if part)
        else:
            contact_line = turn.t("officer.contact_none")
    due = case.final_due or case.first_due
    location = (
        turn.t("officer.location", lat=f"{case.latitude:.5f}", lon=f"{case.longitude:.5f}")
        if case.latitude is not None and case.longitude is not None
        else ""
    )
    text = turn.t(
        "officer.card",
        code=case.code,
        type=turn.t(cases.type_key(case)),
        unit=unit.name if unit else "",
        status=cases.officer_status_label(turn.t, case.status),
        received=cases.format_local(turn.services, case.received_at),
        due=due.strftime("%d/%m/%Y"),
        due_label=turn.t(casework.due_label_key(case)),
        description=case.description,
        photos=sum(1 for item in case.attachments if item.get("kind") != "voice"),
        voice=_voice_note(turn, case),
        location=location,
        contact=Markup(contact_line),
        history=Markup("\n".join(history)),
    )
    buttons = _action_buttons(turn, case, actor)
    if can(actor, "publish", case) and await publishing.awaiting_approval(turn.uow, case):
        # The citizen allowed publishing when rating; an officer of the unit makes it public.
        buttons.append(turn.option("officer.button.publish", f"flow:case:publish:{case.id}"))
    return Reply(text, tuple(buttons), columns=2)


async def _publish(turn: Turn, case: Case, actor: Actor) -> Next:
    """Show the case's question and answer on the public page, as the citizen allowed."""
    if not await publishing.approve(turn.uow, case, actor.staff, turn.now):
        return done(turn.say("officer.case_not_found", code=case.code))
    await turn.audit("case:publish", case.code)
    return done(turn.say("officer.done.publish", code=case.code))


def _voice_note(turn: Turn, case: Case) -> str:
    """Voice messages (Zalo) are kept as links nobody reads by accident: the card says to listen."""
    voices = sum(1 for item in case.attachments if item.get("kind") == "voice")
    return turn.t("officer.voice", count=voices) if voices else ""


def _event_label(turn: Turn, kind: str) -> str:
    """An event as an officer reads it: "the citizen added", not the citizen's own "you added"."""
    key = f"event.officer_{kind}"
    return turn.t(key) if turn.t.catalog.has(key) else turn.t(f"event.{kind}")


def _event_detail(payload: dict[str, object]) -> str:
    """The event's words; a rating shows its score, a decision its number and date."""
    detail = cases.excerpt(str(payload.get("text", "") or ""), 200)
    if payload.get("score") is not None:
        detail = f"{payload['score']} ⭐ {detail}".strip()
    elif payload.get("solved") is False:
        detail = f"❌ {detail}".strip()
    if payload.get("decision"):
        detail = f"[{payload['decision']}, {payload.get('decision_date', '')}] {detail}".strip()
    return detail


def _action_buttons(turn: Turn, case: Case, actor: Actor) -> list[Option]:
    open_ = case.status in cases.OPEN_STATUSES
    tip = casework.is_tip(case)
    # Always in this order: an action that no longer applies drops out, the rest keep their order.
    candidates: list[tuple[str, bool]] = [
        ("accept", casework.acceptable(case) and not tip),
        ("accept_complex", casework.acceptable(case) and case.type == "khieu_nai"),
        ("reply", case.status not in ("rejected", "closed")),
        ("request_info", open_),
        ("transfer", open_),
        # A complaint or denunciation is resolved only once accepted (Luật KN Art. 28, Luật TC Art. 30).
        ("resolve", open_ and (not casework.decided(case) or case.accepted_at is not None)),
        ("reject", open_),
        ("extend", case.status == "accepted" and case.type == "to_cao" and not tip and case.extensions < 2),
        ("note", True),
    ]
    options = []
    for action, applicable in candidates:
        if not applicable:
            continue
        check: Action = "accept" if action == "accept_complex" else action  # type: ignore[assignment]
        allowed = can_extend(actor, case) if action == "extend" else can(actor, check, case)
        if allowed:
            options.append(turn.option(f"officer.button.{action}", f"flow:case:{action}:{case.id}"))
    return options


@case_flow.step("text", free_text=True)
async def take_text(turn: Turn) -> Next:
    text = clean(turn.text)
    action = str(turn.data.get("action"))
    if len(text) < 2:
        return goto("text", turn.say("officer.text_again"))
    if len(text) > TEXT_MAX:
        return goto("text", too_long(turn, text))
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("officer.case_not_found", code="?"))
    if action in CITIZEN_FACING and not meaningful(text):
        return goto("text", turn.say("officer.text_meaningful"), turn.say(f"officer.ask.{action}", code=case.code))
    actor = actor_of(turn)
    allowed = can_extend(actor, case) if action == "extend" else can(actor, action, case)  # type: ignore[arg-type]
    if not allowed:
        return await refuse(turn, f"case:{action}", case.code)
    if action == "extend":
        # Luật Tố cáo Art. 30(1): an extension is decided in writing, with its reason; confirm first.
        turn.data["text"] = text
        return goto("extend_confirm", _extend_question(turn, case, text))
    if action == "resolve" and casework.needs_decision(case):
        turn.data["text"] = text
        return goto("decision_number", turn.say("officer.ask.decision_number", code=case.code))
    return await _apply(turn, case, actor, action, text)


def _extend_question(turn: Turn, case: Case, reason: str) -> Reply:
    due = case.final_due or case.first_due
    try:
        new_due = turn.services.deadlines.extend("to_cao", due, case.extensions).strftime("%d/%m/%Y")
    except ValueError:
        new_due = "?"
    return turn.say(
        "officer.ask.extend_confirm",
        turn.option("officer.extend_yes", EXTEND_YES, means="yes"),
        turn.option("officer.extend_no", EXTEND_NO, means="no"),
        code=case.code,
        due=new_due,
        reason=reason,
    )


@case_flow.step("extend_confirm")
async def extend_confirm(turn: Turn) -> Next:
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("officer.case_not_found", code="?"))
    if turn.choice != EXTEND_YES:
        return done(turn.say("officer.extend_cancelled", code=case.code))
    actor = actor_of(turn)
    if not can_extend(actor, case):
        return await refuse(turn, "case:extend", case.code)
    return await _apply(turn, case, actor, "extend", str(turn.data["text"]))


@case_flow.step("decision_number", free_text=True)
async def decision_number(turn: Turn) -> Next:
    """The number of the written decision (Luật KN Art. 31; Luật TC Art. 35), e.g. 12/QĐ-UBND."""
    number = clean(turn.text)
    if not 1 <= len(number) <= 64 or not any(ch.isdigit() for ch in number):
        return goto("decision_number", turn.say("officer.ask.decision_number_again"))
    turn.data["decision_number"] = number
    return goto(
        "decision_date",
        turn.say("officer.ask.decision_date", turn.option("officer.decision_today", DECISION_TODAY)),
    )


@case_flow.step("decision_date", free_text=True)
async def decision_date(turn: Turn) -> Next:
    today = turn.services.deadlines.local_date(turn.now)
    when = today if turn.choice == DECISION_TODAY else parse_date(turn.text)
    if when is None or when > today:
        return goto(
            "decision_date",
            turn.say("officer.ask.decision_date_again", turn.option("officer.decision_today", DECISION_TODAY)),
        )
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("officer.case_not_found", code="?"))
    actor = actor_of(turn)
    if not can(actor, "resolve", case):
        return await refuse(turn, "case:resolve", case.code)
    turn.data["decision_date"] = when.isoformat()
    return await _apply(turn, case, actor, "resolve", str(turn.data["text"]))


def parse_date(text: str) -> date | None:
    """A date typed as dd/mm/yyyy (or with . or -), else None."""
    match = _DATE.match(text or "")
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def too_long(turn: Turn, text: str) -> Reply:
    """Over the limit: say so and keep asking; a cut text would reach the citizen half-said."""
    return turn.say("officer.text_too_long", length=len(text), limit=TEXT_MAX)


def meaningful(text: str) -> bool:
    """Whether a text tells the citizen something: a few words, not "ok", "xong", "cảm ơn anh"."""
    words = [word for word in fold(text).split() if any(ch.isalpha() for ch in word)]
    return len(words) >= MIN_WORDS and smalltalk.kind(text) is None


async def _transfer_question(turn: Turn, case: Case) -> Reply:
    units = await turn.uow.units.in_profile(turn.services.config.deployment.units_profile)
    allowed_kinds = (
        ("thanh_tra", "cong_an")
        if case.type == "to_cao"
        else ("xa", "phuong", "thi_tran", "phong_ban", "thanh_tra", "cong_an")
    )
    options = [
        Option(unit.name, f"unit:{unit.id}") for unit in units if unit.kind in allowed_kinds and unit.id != case.unit_id
    ]
    return Reply(turn.t("officer.ask.transfer", code=case.code), tuple(options), columns=2)


@case_flow.step("transfer_unit")
async def transfer_unit(turn: Turn) -> Next:
    case = await turn.uow.cases.get(int(turn.data["case"]))
    if case is None:
        return done(turn.say("officer.case_not_found", code="?"))
    unit_id = parse_id(turn.choice.removeprefix("unit:")) if turn.choice and turn.choice.startswith("unit:") else None
    if unit_id is None:
        return goto("transfer_unit", await _transfer_question(turn, case))
    if case.type == "to_cao" and not await cases.has_inspector(turn.uow, unit_id):
        # Said now, before the officer types a reason (casework.transfer refuses it too).
        return goto("transfer_unit", turn.say("case.no_inspector_there"), await _transfer_question(turn, case))
    turn.data["unit"] = unit_id
    return goto("transfer_reason", turn.say("officer.ask.transfer_reason"))


@case_flow.step("transfer_reason", free_text=True)
async def transfer_reason(turn: Turn) -> Next:
    reason = clean(turn.text)
    if len(reason) < 2:
        return goto("transfer_reason", turn.say("officer.text_again"))
    if len(reason) > TEXT_MAX:
        return goto("transfer_reason", too_long(turn, reason))
    case = await turn.uow.cases.get(int(turn.data["case"]))
    unit = await turn.uow.units.get(int(turn.data["unit"]))
    actor = actor_of(turn)
    if case is None or unit is None:
        return done(turn.say("officer.case_not_found", code="?"))
    if not can(actor, "transfer", case):
        return await refuse(turn, "case:transfer", case.code)
    if case.type == "to_cao" and unit.kind not in ("thanh_tra", "cong_an"):
        return await refuse(turn, "case:transfer", case.code)
    try:
        await casework.transfer(
            turn.uow, turn.services, case, actor, turn.inbound.channel, turn.inbound.user_id, unit, reason
        )
    except casework.ActionError as error:
        return done(turn.say(str(error), status=cases.officer_status_label(turn.t, case.status)))
    if not await casework.unit_has_handlers(turn.uow, case, unit):
        # Nobody of that unit has joined: it waits with the district admins, and the officer knows.
        return done(turn.say("officer.done.transfer_nobody", code=case.code, unit=unit.name))
    return done(turn.say("officer.done.transfer", code=case.code, unit=unit.name))


async def _apply(turn: Turn, case: Case, actor: Actor, action: str, text: str) -> Next:
    uow, services = turn.uow, turn.services
    who = (turn.inbound.channel, turn.inbound.user_id)
    try:
        if action == "accept":
            await casework.accept(uow, services, case, actor, *who)
        elif action == "accept_complex":
            await casework.accept(uow, services, case, actor, *who, complex_case=True)
        elif action == "extend":
            await casework.extend(uow, services, case, actor, *who, reason=text)
        elif action == "reject":
            await casework.reject(uow, services, case, actor, *who, text)
        elif action == "reply":
            await casework.reply(uow, services, case, actor, *who, text)
        elif action == "request_info":
            await casework.request_info(uow, services, case, actor, *who, text)
        elif action == "resolve":
            decided_on = turn.data.get("decision_date")
            await casework.resolve(
                uow,
                services,
                case,
                actor,
                *who,
                text,
                decision_number=turn.data.get("decision_number"),
                decision_date=date.fromisoformat(decided_on) if decided_on else None,
            )
        elif action == "note":
            await casework.note(uow, services, case, actor, *who, text)
    except casework.ActionError as error:
        return done(turn.say(str(error), status=cases.officer_status_label(turn.t, case.status)))
    due = (case.final_due or case.first_due).strftime("%d/%m/%Y")
    confirmation = turn.say(f"officer.done.{action}", code=case.code, due=due)
    if action == "reply" and case.type == "hoi_dap":
        follow_up = (turn.option("faq_learn.add_button", f"flow:faq_learn:{case.id}"),)
        return done(Reply(confirmation.text, follow_up))
    # One message: the confirmation over the case card again, with every action that still
    # applies in the card's fixed order (the officer goes on without typing /xem).
    fresh = await card(turn, case, actor)
    return done(Reply(confirmation.text + "\n\n" + fresh.text, fresh.options, columns=fresh.columns))
