"""What officers and citizens do to a case after it is filed.

Each action changes the case row, appends one event (public events are what
the citizen sees in "Hồ sơ của tôi"; internal ones are officers' notes), writes
the audit entry of an officer action, and queues the notices it causes: to the
citizen on the channel they used (never naming the officer, only the unit), or
to the officers of the unit. All in the caller's transaction.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.dialog.types import Option, Reply
from bot.services import cases, notify
from bot.services.access import Actor
from bot.services.container import Services
from bot.services.denunciation import is_denunciation
from storage.models import Case, CaseEvent, Rating, Unit
from storage.uow import UnitOfWork

REOPEN_WINDOW = timedelta(days=7)
LOW_SCORE = 2
SIPAS_ASPECTS = ("access", "procedure", "staff", "result", "feedback")
# Cases closed by a written decision (quyết định giải quyết khiếu nại, Luật Khiếu nại Art. 31;
# kết luận nội dung tố cáo, Luật Tố cáo Art. 35): a rating never reopens them; the law's remedies
# are a second complaint or a lawsuit (Luật KN Art. 33) and tố cáo tiếp (Luật TC Art. 37).
DECIDED_TYPES = ("khieu_nai", "to_cao")


def is_tip(case: Case) -> bool:
    """An anonymous tip (tin báo ẩn danh): information under Luật Tố cáo Art. 25, not a tố cáo.

    It is stored as a to_cao case with ``anonymous`` set, so every secrecy rule of a denunciation
    applies to it (inspectorate only), but it is never accepted (thụ lý), extended or given a
    statutory deadline, and reports count it apart.
    """
    return case.type == "to_cao" and case.anonymous


def decided(case: Case) -> bool:
    """Whether the case ends with a written decision that a rating must not reopen."""
    return case.type in DECIDED_TYPES and not is_tip(case)


def due_label_key(case: Case) -> str:
    """Which date the case's current deadline is, as the citizen and officer read it.

    A khiếu nại or tố cáo not yet accepted shows the acceptance (or classification) deadline
    ("hạn thụ lý"); once accepted, the resolution deadline ("hạn giải quyết"); a tip shows only
    the inspectorate's own review date; other cases the answer date.
    """
    if is_tip(case):
        return "due.review"
    if case.type in DECIDED_TYPES:
        return "due.resolve" if case.accepted_at is not None and case.final_due is not None else "due.accept"
    return "due.answer"


class ActionError(Exception):
    """The action does not fit the case's state; the message is a catalog key."""


def _t_default(services: Services) -> Any:
    return services.catalog.bind(services.config.deployment.language)


async def _event(
    uow: UnitOfWork,
    case: Case,
    kind: str,
    *,
    actor: Actor | None,
    now: datetime,
    public: bool = True,
    **payload: Any,
) -> None:
    assert case.id is not None
    staff = actor.staff if actor else None
    await uow.cases.add_event(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor_kind="officer" if actor else "citizen",
            actor_id=staff.id if staff else (None if actor else case.citizen_id),
            kind=kind,
            visibility="public" if public else "internal",
            payload=payload,
        )
    )


async def _audit(uow: UnitOfWork, actor: Actor, action: str, case: Case, channel: str, user: str) -> None:
    await uow.audit.record(
        channel=channel,
        actor=user,
        staff_id=actor.staff.id if actor.staff else None,
        action=action,
        target=case.code,
        allowed=True,
    )


async def tell_citizen(
    uow: UnitOfWork, services: Services, case: Case, key: str, *options: Option, **values: object
) -> None:
    """Queue a message to the case's citizen, in their language, on their channel."""
    citizen = await uow.citizens.get(case.citizen_id)
    t = services.catalog.bind(citizen.language if citizen else services.config.deployment.language)
    unit = await uow.units.get(case.unit_id)
    text = t(key, code=case.code, unit=unit.name if unit else "", **values)
    labelled = tuple(Option(t(o.label), o.value) if services.catalog.has(o.label) else o for o in options)
    await notify.enqueue(
        uow,
        case.channel,
        case.chat_id,
        Reply(text, labelled, columns=5 if len(labelled) > 3 else 1),
        now=services.clock(),
        case_id=case.id,
    )


async def tell_unit(uow: UnitOfWork, services: Services, case: Case, key: str, **values: object) -> None:
    """Queue a message to the officers who handle the case's unit (the district admins if none).

    A denunciation's go to its inspectors only; without one, the admins get a content-free alert.
    """
    t = _t_default(services)
    text = t(key, code=case.code, **values)
    buttons = (Option(t("staff.view_button"), f"flow:case:view:{case.id}"),)
    for channel, chat_id in await _unit_chats(uow, services, case):
        await notify.enqueue(uow, channel, chat_id, Reply(text, buttons), now=services.clock(), case_id=case.id)


async def _unit_chats(uow: UnitOfWork, services: Services, case: Case) -> list[tuple[str, str]]:
    """The chats of the officers who handle the case's unit (the bootstrap admins if none).

    A denunciation's are its inspectors only; without one, the admins get a content-free alert.
    """
    chats = {(s.channel, s.chat_id) for s in await cases.recipients_for(uow, case)}
    if case.type == "to_cao" and not chats:
        # Nobody entitled to read a denunciation: the admins hear only that one waits.
        await cases.alert_unreceived(uow, services, case)
        return []
    if not chats:
        chats = cases.super_admin_chats(services)
    return sorted(chats)


def _require(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise ActionError("case.wrong_state")


def acceptable(case: Case) -> bool:
    """Whether the case waits for acceptance: received, or asked for more before anyone accepted it.

    A case accepted and then asked for more is still accepted: accepting it again would restart
    the legal deadline and tell the citizen a second time.
    """
    return case.status == "received" or (case.status == "need_info" and case.accepted_at is None)


async def accept(
    uow: UnitOfWork,
    services: Services,
    case: Case,
    actor: Actor,
    channel: str,
    user: str,
    *,
    complex_case: bool = False,
) -> None:
    if is_tip(case):
        # Luật Tố cáo Art. 25: anonymous information is not accepted as a tố cáo.
        raise ActionError("case.tip_not_accepted")
    if not acceptable(case):
        raise ActionError("case.wrong_state")
    now = services.clock()
    case.status = "accepted"
    case.accepted_at = case.accepted_at or now
    if case.type in DECIDED_TYPES:
        case.complex_case = complex_case
        case.final_due = services.deadlines.on_accept(
            case.type,  # type: ignore[arg-type]
            now,
            remote=case.remote,
            complex_case=complex_case,
            round_=case.round,
        )
    await uow.cases.save(case)
    due = (case.final_due or case.first_due).strftime("%d/%m/%Y")
    await _event(uow, case, "accepted", actor=actor, now=now, due=due)
    await _audit(uow, actor, "accept", case, channel, user)
    if case.type in DECIDED_TYPES:
        # Luật KN Art. 27, 36 and Luật TC Art. 29(3): the acceptance is notified in writing.
        await tell_citizen(uow, services, case, f"notice.accepted_{case.type}", due=due)
    else:
        await tell_citizen(uow, services, case, "notice.accepted", due=due)


async def reject(
    uow: UnitOfWork, services: Services, case: Case, actor: Actor, channel: str, user: str, reason: str
) -> None:
    _require(case, "received", "need_info", "accepted")
    now = services.clock()
    case.status = "rejected"
    case.closed_at = now
    case.result = reason
    await uow.cases.save(case)
    await _event(uow, case, "rejected", actor=actor, now=now, text=reason)
    await _audit(uow, actor, "reject", case, channel, user)
    await tell_citizen(uow, services, case, "notice.rejected", reason=reason)


async def reply(
    uow: UnitOfWork, services: Services, case: Case, actor: Actor, channel: str, user: str, text: str
) -> None:
    _require(case, "received", "need_info", "accepted", "resolved")
    now = services.clock()
    case.first_reply_at = case.first_reply_at or now
    if case.type == "hoi_dap" and case.status in cases.OPEN_STATUSES:
        # A question is not a petition: once answered it is done, and leaves the inbox.
        case.status = "closed"
        case.resolved_at = now
        case.closed_at = now
        case.result = text
    await uow.cases.save(case)
    await _event(uow, case, "replied", actor=actor, now=now, text=text)
    await _audit(uow, actor, "reply", case, channel, user)
    await tell_citizen(uow, services, case, "notice.replied", text=text)


async def request_info(
    uow: UnitOfWork, services: Services, case: Case, actor: Actor, channel: str, user: str, text: str
) -> None:
    _require(case, "received", "accepted", "need_info")
    now = services.clock()
    case.status = "need_info"
    case.first_reply_at = case.first_reply_at or now
    await uow.cases.save(case)
    await _event(uow, case, "info_requested", actor=actor, now=now, text=text)
    await _audit(uow, actor, "request_info", case, channel, user)
    await tell_citizen(
        uow,
        services,
        case,
        "notice.info_requested",
        Option("notice.supplement_button", f"flow:supplement:{case.id}"),
        text=text,
    )


async def add_info(
    uow: UnitOfWork, services: Services, case: Case, text: str, attachments: list[dict[str, str]]
) -> None:
    """The citizen answers a request for more information, or adds to that answer while the case is open."""
    _require(case, "need_info", "received", "accepted")
    refuse_denunciation(case, text)
    await check_room(uow, services, case, attachments=len(attachments))
    now = services.clock()
    if case.status == "need_info":
        case.status = "accepted" if case.accepted_at else "received"
    if text:
        longer = case.description + "\n\n[Bổ sung] " + text
        if len(longer) > cases.DESCRIPTION_MAX:
            # Never cut: the citizen is told the case holds no more text (photos still may come).
            raise CaseFull("supplement.full_text")
        case.description = longer
    case.attachments = [*case.attachments, *attachments]
    await uow.cases.save(case)
    await _event(uow, case, "info_added", actor=None, now=now, text=text, photos=len(attachments))
    excerpt = cases.excerpt(text, 200) if text else _t_default(services)("petition.photos_only")
    await _tell_unit_of_part(uow, services, case, excerpt, len(attachments))


class Denounces(ActionError):
    """What a citizen adds to a case that is not a tố cáo denounces: it is a tố cáo of its own."""


def denounces(case: Case, text: str | None) -> bool:
    """Whether ``text``, added to ``case``, would carry a denunciation to a unit not entitled to it."""
    return case.type != "to_cao" and bool(text) and is_denunciation(text or "")


def refuse_denunciation(case: Case, text: str | None) -> None:
    """Raise Denounces for a denunciation added to a case that is not a tố cáo.

    Why: a supplement or a rating comment goes to the case's unit, often the commune it would
    accuse, which also knows who wrote it. The flow files it as a tố cáo instead (item 3 of
    issue #12: every text forwarded or filed is checked, not only the first one).
    """
    if denounces(case, text):
        raise Denounces("case.denounces")


class CaseFull(ActionError):
    """The case has taken all the parts or attachments a citizen may add (``[supplements]``)."""


async def check_room(uow: UnitOfWork, services: Services, case: Case, *, attachments: int) -> None:
    """Raise CaseFull when one more part with ``attachments`` photos would pass the case's caps.

    Why: a citizen (or a script on their account) sending within the flood limit could add
    hundreds of parts and photos to one case, and every part used to reach every officer.
    """
    limits = services.config.supplements
    if await uow.cases.count_events(case.id or 0, "info_added") >= limits.max_parts_per_case:
        raise CaseFull("supplement.full")
    if attachments and len(case.attachments) + attachments > limits.max_attachments_per_case:
        raise CaseFull("supplement.full_photos")


async def _tell_unit_of_part(uow: UnitOfWork, services: Services, case: Case, excerpt: str, photos: int) -> None:
    """Tell the case's officers of a new part, gathered: one notice per case and window each."""
    t = _t_default(services)
    buttons = (Option(t("staff.view_button"), f"flow:case:view:{case.id}"),)
    window = timedelta(minutes=services.config.supplements.notice_window_minutes)
    single = Reply(t("staff.info_added", code=case.code, excerpt=excerpt, photos=photos), buttons)

    def gathered(parts: int, total_photos: int) -> Reply:
        return Reply(t("staff.info_added_many", code=case.code, parts=parts, photos=total_photos), buttons)

    for channel, chat_id in await _unit_chats(uow, services, case):
        await notify.enqueue_gathered(
            uow,
            channel,
            chat_id,
            case_id=case.id or 0,
            kind="info_added",
            now=services.clock(),
            window=window,
            single=single,
            gathered=gathered,
            photos=photos,
        )


async def transfer(
    uow: UnitOfWork, services: Services, case: Case, actor: Actor, channel: str, user: str, unit: Unit, reason: str
) -> None:
    _require(case, "received", "accepted", "need_info")
    if unit.id == case.unit_id:
        raise ActionError("case.same_unit")
    if case.type == "to_cao" and (unit.id is None or not await cases.has_inspector(uow, unit.id)):
        # It would reach nobody entitled to read it (and tempt a fallback): refused, with the reason.
        raise ActionError("case.no_inspector_there")
    now = services.clock()
    old = await uow.units.get(case.unit_id)
    assert unit.id is not None
    # Luật Tố cáo Art. 24(2): forwarded within 5 working days of receipt; a late one is recorded.
    late = case.type == "to_cao" and services.deadlines.local_date(now) > services.deadlines.forward_due(
        case.received_at
    )
    case.unit_id = unit.id
    case.status = "received"
    # The unit it goes to accepts it itself, and every deadline runs again from its receipt (today):
    # the receiving body's time limits start when it receives the petition (Luật KN Art. 27, Luật TC
    # Art. 24(1)). The first acceptance stays in the case's events.
    case.accepted_at = None
    case.remote = unit.remote
    case.complex_case = False
    case.extensions = 0
    fresh = services.deadlines.on_receipt(
        case.type,  # type: ignore[arg-type]
        now,
        remote=unit.remote,
        round_=case.round,
        anonymous=case.anonymous,
    )
    case.first_due, case.final_due = fresh.first_due, fresh.final_due
    await uow.cases.save(case)
    due = case.first_due.strftime("%d/%m/%Y")
    await _event(uow, case, "transferred", actor=actor, now=now, text=unit.name, due=due)
    await _event(
        uow,
        case,
        "note",
        actor=actor,
        now=now,
        public=False,
        text=reason,
        transfer_from=old.name if old else "",
        forward_late=late,
    )
    await _audit(uow, actor, "transfer", case, channel, user)
    if not case.anonymous:
        # Who has it now and the new date, named for what it is (Luật TC Art. 24(2): the denouncer is told).
        stage = due_label_key(case).removeprefix("due.")
        await tell_citizen(uow, services, case, f"notice.transferred_{stage}", due=due)
    await cases.notify_new_case(uow, services, case, unit)


async def unit_has_handlers(uow: UnitOfWork, case: Case, unit: Unit) -> bool:
    """Whether someone at ``unit`` itself would receive ``case`` (not a fallback to the admins)."""
    assert unit.id is not None
    roles = cases.INSPECTOR_ROLES if case.type == "to_cao" else cases.HANDLER_ROLES + cases.INSPECTOR_ROLES
    return bool(await uow.staff.active(roles=roles, unit_id=unit.id))


def needs_decision(case: Case) -> bool:
    """Whether resolving the case records a written decision (its number and date)."""
    return decided(case)


async def resolve(
    uow: UnitOfWork,
    services: Services,
    case: Case,
    actor: Actor,
    channel: str,
    user: str,
    result: str,
    *,
    decision_number: str | None = None,
    decision_date: date | None = None,
) -> None:
    _require(case, "received", "accepted", "need_info")
    if decided(case):
        # A complaint or denunciation is resolved only after it was accepted (Luật KN Art. 27-28,
        # Luật TC Art. 29-30: the resolution period runs from thụ lý), and by a written decision.
        if case.accepted_at is None:
            raise ActionError("case.accept_first")
        if not decision_number or decision_date is None:
            raise ActionError("case.decision_needed")
        case.decision_number = decision_number
        case.decision_date = decision_date
    now = services.clock()
    case.status = "resolved"
    if not decided(case):
        case.accepted_at = case.accepted_at or now
    case.resolved_at = now
    case.first_reply_at = case.first_reply_at or now
    case.result = result
    await uow.cases.save(case)
    extra: dict[str, Any] = (
        {"decision": decision_number, "decision_date": decision_date.strftime("%d/%m/%Y")} if decision_date else {}
    )
    await _event(uow, case, "resolved", actor=actor, now=now, text=result, **extra)
    await _audit(uow, actor, "resolve", case, channel, user)
    if case.anonymous:
        return
    ratings = [Option(f"{score} ⭐", f"flow:rate:{case.id}:{score}") for score in range(1, 6)]
    if not decided(case):
        ratings.append(Option("notice.not_solved_button", f"flow:rate:{case.id}:unsolved"))
        await tell_citizen(uow, services, case, "notice.resolved", *ratings, result=result)
        return
    await _tell_decision(uow, services, case, result, ratings)


async def _tell_decision(uow: UnitOfWork, services: Services, case: Case, result: str, ratings: list[Option]) -> None:
    """The decision notice: what was decided, the written decision that follows, the rights after it."""
    assert case.decision_date is not None
    values: dict[str, object] = {
        "result": result,
        "number": case.decision_number or "",
        "date": case.decision_date.strftime("%d/%m/%Y"),
    }
    if case.type == "khieu_nai" and case.round == 1:
        # Luật KN Art. 31(2) and 33: a second complaint within 30 days (45 remote) or a lawsuit.
        appeal = services.deadlines.appeal_due(case.decision_date, remote=case.remote)
        values.update(days=45 if case.remote else 30, appeal_due=appeal.strftime("%d/%m/%Y"))
        second = Option("notice.second_complaint_button", f"flow:appeal:{case.id}")
        await tell_citizen(uow, services, case, "notice.resolved_khieu_nai", second, *ratings, **values)
    elif case.type == "khieu_nai":
        await tell_citizen(uow, services, case, "notice.resolved_khieu_nai2", *ratings, **values)
    else:
        await tell_citizen(uow, services, case, "notice.resolved_to_cao", *ratings, **values)


async def withdraw(uow: UnitOfWork, services: Services, case: Case) -> None:
    """The citizen withdraws their petition (rút đơn; Luật Khiếu nại 2011 Art. 10 allows it at any
    time): the case is closed with a public event, and whoever handles it is told (for a tố cáo,
    only the inspectorate, by the same rule as a new case)."""
    _require(case, *cases.OPEN_STATUSES)
    now = services.clock()
    case.status = "closed"
    case.closed_at = now
    await uow.cases.save(case)
    await _event(uow, case, "withdrawn", actor=None, now=now)
    await tell_unit(uow, services, case, "staff.withdrawn")


async def note(
    uow: UnitOfWork, services: Services, case: Case, actor: Actor, channel: str, user: str, text: str
) -> None:
    await _event(uow, case, "note", actor=actor, now=services.clock(), public=False, text=text)
    await _audit(uow, actor, "note", case, channel, user)


async def extend(
    uow: UnitOfWork, services: Services, case: Case, actor: Actor, channel: str, user: str, reason: str = ""
) -> None:
    """Extend a denunciation's resolution (Luật Tố cáo Art. 30(1)): in writing, with its reason,
    notified to the denouncer; an anonymous tip has no statutory deadline to extend."""
    _require(case, "accepted")
    if is_tip(case):
        raise ActionError("case.tip_not_accepted")
    if case.final_due is None:
        raise ActionError("case.wrong_state")
    try:
        case.final_due = services.deadlines.extend("to_cao", case.final_due, case.extensions)
    except ValueError:
        raise ActionError("case.no_more_extensions") from None
    case.extensions += 1
    await uow.cases.save(case)
    due = case.final_due.strftime("%d/%m/%Y")
    await _event(uow, case, "extended", actor=actor, now=services.clock(), due=due, text=reason)
    await _audit(uow, actor, "extend", case, channel, user)
    if reason:
        await tell_citizen(uow, services, case, "notice.extended_reason", due=due, reason=reason)
    else:
        await tell_citizen(uow, services, case, "notice.extended", due=due)


async def rate(uow: UnitOfWork, services: Services, case: Case, score: int | None, comment: str | None = None) -> bool:
    """Record the citizen's rating; return True when it reopened the case.

    "Not solved" or a low score within 7 days of the resolution reopens the case with the comment.
    """
    refuse_denunciation(case, comment)
    now = services.clock()
    solved = score is not None
    await uow.cases.add_rating(Rating(case_id=case.id or 0, score=score or 1, solved=solved, comment=comment, at=now))
    await _event(uow, case, "rated", actor=None, now=now, score=score, solved=solved)
    recent = case.resolved_at is not None and now - case.resolved_at <= REOPEN_WINDOW
    # A decided complaint or denunciation is never reopened by a rating: the decision stands
    # until a second complaint, a court or tố cáo tiếp says otherwise (Luật KN Art. 33, Luật TC Art. 37).
    reopenable = not decided(case)
    if reopenable and case.status in ("resolved", "closed") and recent and (not solved or (score or 0) <= LOW_SCORE):
        case.status = "accepted"
        case.closed_at = None
        await uow.cases.save(case)
        await _event(uow, case, "reopened", actor=None, now=now, text=comment or "")
        await tell_unit(uow, services, case, "staff.reopened", comment=comment or "")
        return True
    if case.status == "resolved":
        case.status = "closed"
        case.closed_at = now
        await uow.cases.save(case)
    return False


async def rate_aspects(uow: UnitOfWork, case: Case, aspects: dict[str, int]) -> None:
    ratings = await uow.cases.ratings(case.id or 0)
    if ratings:
        latest = ratings[-1]
        latest.aspects = dict(aspects)
        await uow.cases.add_rating(latest)
