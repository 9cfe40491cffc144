"""The case lifecycle: filing, routing to a unit, deadlines, events and notices.

Filing a case allocates its public code, computes its legal deadlines, stores
the contact apart from the content, appends the first event and queues the
notice to the responsible officers, all in the caller's transaction. The
citizen hears "received" only after that transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.dialog.catalog import Translator
from bot.dialog.types import Option, Reply
from bot.services import notify
from bot.services.container import Services
from bot.services.deadlines import CaseType
from storage.models import Case, CaseContact, CaseEvent, Citizen, ReportRun, Staff, Unit
from storage.uow import UnitOfWork

CASE_TYPES: tuple[CaseType, ...] = ("phan_anh", "kien_nghi", "khieu_nai", "to_cao", "hoi_dap")
CITIZEN_TYPES: tuple[CaseType, ...] = ("phan_anh", "kien_nghi", "khieu_nai", "to_cao")
CONTACT_REQUIRED: tuple[CaseType, ...] = ("khieu_nai", "to_cao")
OPEN_STATUSES = ("received", "accepted", "need_info")
HANDLER_ROLES = ("officer", "unit_lead")
ADMIN_ROLES = ("district_admin",)
INSPECTOR_ROLES = ("inspector",)
# The longest description kept (the petition and its supplements together). A petition longer than
# this is refused with its length before anything is stored, never cut (issue #14).
DESCRIPTION_MAX = 40_000
ECHO_MAX = 80  # what a person typed, quoted back in an answer ("no unit named «…»")


@dataclass
class Draft:
    """What the petition flow gathered, before the case exists."""

    type: CaseType
    unit_code: str  # chosen commune, in the active map
    description: str
    attachments: list[dict[str, str]] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    full_name: str | None = None
    phone: str | None = None
    address: str | None = None
    anonymous: bool = False

    def to_data(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


class CaseError(Exception):
    """A case cannot be filed as asked (e.g. the unit vanished from the map)."""


async def responsible_unit(uow: UnitOfWork, services: Services, draft: Draft) -> Unit:
    """Where a case goes. A denunciation goes to the inspectorate, never to the unit it may accuse."""
    profile = services.config.deployment.units_profile
    if draft.type == "to_cao":
        for unit in await uow.units.in_profile(profile):
            if unit.kind == "thanh_tra":
                return unit
        raise CaseError(f"no inspectorate (kind thanh_tra) in profile {profile}")
    chosen = await uow.units.by_code(profile, draft.unit_code)
    if chosen is None:
        raise CaseError(f"unit {draft.unit_code} is not in profile {profile}")
    return chosen


async def file_case(
    uow: UnitOfWork, services: Services, citizen: Citizen, channel: str, chat_id: str, draft: Draft
) -> Case:
    now = services.clock()
    unit = await responsible_unit(uow, services, draft)
    place = await uow.units.by_code(services.config.deployment.units_profile, draft.unit_code)
    year = services.deadlines.local_date(now).year
    seq = await uow.cases.next_seq(year)
    deadlines = services.deadlines.on_receipt(draft.type, now, remote=unit.remote, anonymous=draft.anonymous)
    assert unit.id is not None and citizen.id is not None
    case = Case(
        code=f"{services.config.deployment.case_prefix}-{year}-{seq:05d}",
        year=year,
        seq=seq,
        type=draft.type,
        status="received",
        unit_id=unit.id,
        citizen_id=citizen.id,
        channel=channel,
        chat_id=chat_id,
        description=_whole(draft.description),
        latitude=draft.latitude,
        longitude=draft.longitude,
        attachments=draft.attachments,
        anonymous=draft.anonymous,
        remote=unit.remote,
        received_at=now,
        first_due=deadlines.first_due,
        final_due=deadlines.final_due,
    )
    contact = None
    if not draft.anonymous and (draft.full_name or draft.phone or draft.address):
        contact = CaseContact(case_id=0, full_name=draft.full_name, phone=draft.phone, address=draft.address)
    payload = {"unit": unit.name, "place": place.name if place else None, "anonymous": draft.anonymous}
    await _store_received(uow, services, case, contact, unit, citizen.id, payload, now)
    return case


class TooLong(CaseError):
    """A description over DESCRIPTION_MAX: refused whole, with its length, never cut."""

    def __init__(self, length: int) -> None:
        super().__init__(f"description of {length} characters is over {DESCRIPTION_MAX}")
        self.length = length


def _whole(description: str) -> str:
    if len(description) > DESCRIPTION_MAX:
        raise TooLong(len(description))
    return description


async def second_instance_unit(uow: UnitOfWork, services: Services) -> Unit:
    """Where a second complaint goes: the profile's inspectorate.

    Luật Khiếu nại Art. 33: the second complaint goes to the next level up. Since 1/7/2025 there are
    no districts; the resolver of a second complaint against a commune chairman's decision is read
    as the provincial chairman (NĐ 141/2025, not confirmed in an article), whom the inspectorate
    advises. Until the deployment has a unit for the provincial level, the inspectorate receives it.
    """
    profile = services.config.deployment.units_profile
    for unit in await uow.units.in_profile(profile):
        if unit.kind == "thanh_tra":
            return unit
    raise CaseError(f"no inspectorate (kind thanh_tra) in profile {profile}")


async def file_second_complaint(uow: UnitOfWork, services: Services, first: Case, text: str) -> Case:
    """A khiếu nại lần hai against the first decision of ``first`` (Luật KN Art. 33(1), 36, 37).

    Its own case: round 2, the first case as parent, its own acceptance and deadlines. The
    complainant's contact is copied from the first case; the first decision is referred to.
    """
    now = services.clock()
    unit = await second_instance_unit(uow, services)
    year = services.deadlines.local_date(now).year
    seq = await uow.cases.next_seq(year)
    deadlines = services.deadlines.on_receipt("khieu_nai", now, remote=first.remote, round_=2)
    assert unit.id is not None and first.id is not None
    reference = f"[Khiếu nại lần hai đối với hồ sơ {first.code}, quyết định số {first.decision_number or '?'}"
    if first.decision_date:
        reference += f" ngày {first.decision_date.strftime('%d/%m/%Y')}"
    case = Case(
        code=f"{services.config.deployment.case_prefix}-{year}-{seq:05d}",
        year=year,
        seq=seq,
        type="khieu_nai",
        status="received",
        unit_id=unit.id,
        citizen_id=first.citizen_id,
        channel=first.channel,
        chat_id=first.chat_id,
        description=_whole(reference + "]\n" + text),
        remote=first.remote,
        received_at=now,
        first_due=deadlines.first_due,
        final_due=deadlines.final_due,
        round=2,
        parent_id=first.id,
    )
    old = await uow.cases.contact(first.id)
    contact = CaseContact(case_id=0, full_name=old.full_name, phone=old.phone, address=old.address) if old else None
    payload = {"unit": unit.name, "place": None, "anonymous": False, "text": first.code}
    await _store_received(uow, services, case, contact, unit, first.citizen_id, payload, now)
    return case


async def _store_received(
    uow: UnitOfWork,
    services: Services,
    case: Case,
    contact: CaseContact | None,
    unit: Unit,
    citizen_id: int | None,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Store a new case, its contact apart, its first public event, and queue the officers' notice."""
    await uow.cases.add(case, contact)
    assert case.id is not None
    await uow.cases.add_event(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor_kind="citizen",
            actor_id=citizen_id,
            kind="received",
            visibility="public",
            payload=payload,
        )
    )
    await notify_new_case(uow, services, case, unit)


async def recipients_for(uow: UnitOfWork, case: Case) -> Sequence[Staff]:
    """Who may hear about a case: for a denunciation only its inspectorate's inspectors, else nobody.

    A denunciation, its supplements and its reopen comments reach only those the law entitles
    to handle it, never a fallback (Luật Tố cáo, Art. 9: the denouncer's identity and what they
    say are kept secret). Other cases go to the unit's officers, else to the district admins.
    """
    if case.type == "to_cao":
        return await uow.staff.active(roles=INSPECTOR_ROLES, unit_id=case.unit_id)
    # An inspectorate's inspectors handle its other cases too (a second complaint goes there).
    staff = await uow.staff.active(roles=HANDLER_ROLES + INSPECTOR_ROLES, unit_id=case.unit_id)
    if not staff:
        staff = await uow.staff.active(roles=ADMIN_ROLES)
    return staff


async def has_inspector(uow: UnitOfWork, unit_id: int) -> bool:
    """Whether someone at this unit may receive a denunciation now."""
    return bool(await uow.staff.active(roles=INSPECTOR_ROLES, unit_id=unit_id))


async def notify_new_case(uow: UnitOfWork, services: Services, case: Case, unit: Unit) -> None:
    t = services.catalog.bind(services.config.deployment.language)
    text = new_case_notice(t, services, case, unit)
    recipients = await recipients_for(uow, case)
    chats = {(s.channel, s.chat_id) for s in recipients}
    if case.type == "to_cao" and not chats:
        await alert_unreceived(uow, services, case)
        return
    if not chats:
        # No officer and no district admin has joined yet: the bootstrap super-admins hear of it.
        chats = super_admin_chats(services)
    buttons = (
        Option(t("staff.view_button"), f"flow:case:view:{case.id}"),
        Option(t("staff.accept_button"), f"flow:case:accept:{case.id}"),
    )
    for channel, chat_id in sorted(chats):
        await notify.enqueue(
            uow, channel, chat_id, Reply(text, buttons, columns=2), now=services.clock(), case_id=case.id
        )


def super_admin_chats(services: Services) -> set[tuple[str, str]]:
    return services.config.admins.chats()


ALERT_KIND = "to_cao_unreceived"  # report_runs.kind of the alert below: sent once a key


async def alert_unreceived(uow: UnitOfWork, services: Services, case: Case | None, *, key: str | None = None) -> None:
    """Tell the admins that denunciations wait with nobody entitled to receive them, and nothing else.

    The alert has no code, no content, no button: only how many wait. It is sent once a case a
    day (``key`` overrides that, e.g. once a day for the morning reminders), so a denouncer's
    supplements do not each raise one.
    """
    waiting = await unreceived_count(uow)
    if waiting == 0:
        return
    period = key or f"{case.id if case else 0}:{services.deadlines.local_date(services.clock()).isoformat()}"
    if await uow.reports.find(ALERT_KIND, period) is not None:
        return
    now = services.clock()
    await uow.reports.save(ReportRun(kind=ALERT_KIND, period=period, status="sent", sent_at=now))
    t = services.catalog.bind(services.config.deployment.language)
    text = t("staff.to_cao_unreceived", count=waiting)
    chats = {(s.channel, s.chat_id) for s in await uow.staff.active(roles=ADMIN_ROLES)} | super_admin_chats(services)
    for channel, chat_id in sorted(chats):
        await notify.enqueue(uow, channel, chat_id, Reply(text), now=now)


QUOTA_ALERT_KIND = "quota_exhausted"  # report_runs.kind: once a channel a day


async def alert_quota_exhausted(uow: UnitOfWork, services: Services, channel: str) -> None:
    """Tell the super-admins and district admins that a channel's quota is used up.

    Once a channel a day, only on their other channels (a message on the exhausted one would
    wait for the quota it reports), and with no content: only the channel's name.
    """
    period = f"{channel}:{services.deadlines.local_date(services.clock()).isoformat()}"
    if await uow.reports.find(QUOTA_ALERT_KIND, period) is not None:
        return
    now = services.clock()
    await uow.reports.save(ReportRun(kind=QUOTA_ALERT_KIND, period=period, status="sent", sent_at=now))
    text = services.catalog.text(services.config.deployment.language, "outbox.quota_exhausted", channel=channel)
    chats = {(s.channel, s.chat_id) for s in await uow.staff.active(roles=ADMIN_ROLES)} | super_admin_chats(services)
    for chat_channel, chat_id in sorted(chats):
        if chat_channel != channel:
            await notify.enqueue(uow, chat_channel, chat_id, Reply(text), now=now)


async def unreceived_count(uow: UnitOfWork) -> int:
    """Open denunciations whose unit has no active inspector."""
    covered: dict[int, bool] = {}
    count = 0
    for case in await uow.cases.open_cases():
        if case.type != "to_cao":
            continue
        if case.unit_id not in covered:
            covered[case.unit_id] = await has_inspector(uow, case.unit_id)
        count += not covered[case.unit_id]
    return count


def new_case_notice(t: Translator, services: Services, case: Case, unit: Unit) -> str:
    due = case.final_due or case.first_due
    return t(
        "staff.new_case",
        code=case.code,
        type=t(type_key(case)),
        unit=unit.name,
        due=due.strftime("%d/%m/%Y"),
        excerpt=excerpt(case.description),
    )


def type_key(case: Case) -> str:
    """The catalog key of a case's kind as people read it: a tip and a second complaint have their own."""
    if case.type == "to_cao" and case.anonymous:
        return "case_type.tin_bao"
    if case.type == "khieu_nai" and case.round == 2:
        return "case_type.khieu_nai2"
    return f"case_type.{case.type}"


def excerpt(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def public_history(uow: UnitOfWork, case: Case) -> Sequence[CaseEvent]:
    return await uow.cases.events(case.id or 0, public_only=True)


def status_label(t: Translator, status: str) -> str:
    return t(f"case_status.{status}")


def officer_status_label(t: Translator, status: str) -> str:
    """The status as an officer reads it: "waiting for the citizen", not the citizen's "waiting for you"."""
    key = f"case_status.officer.{status}"
    return t(key) if t.catalog.has(key) else status_label(t, status)


def format_local(services: Services, moment: datetime, style: Literal["date", "datetime"] = "datetime") -> str:
    local = moment.astimezone(services.config.deployment.tz)
    return local.strftime("%d/%m/%Y") if style == "date" else local.strftime("%H:%M %d/%m/%Y")
