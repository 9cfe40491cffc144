"""Onboarding officers: invites, joining, leaving, revoking; and the role-aware help.

An admin sends ``/moi <unit> <role>`` and gets a one-time code valid for three
days; the officer sends ``/dangky <code>`` from their own account. ``/roi``
leaves; ``/thuhoi <code or user id>`` revokes an invite (and removes whoever used it) or removes
an officer found by the id ``/dscanbo`` shows, on any channel. Inspector invites, and any invite
into an inspectorate, come only from a super-admin or (inspectors) the inspectorate's lead;
nobody redeems their own invite, and an active officer must be revoked before taking a new role.
"""

from __future__ import annotations

from bot.dialog.catalog import Markup
from bot.dialog.flow import Flow, Turn, done
from bot.dialog.types import Next, Reply
from bot.services import notify, staffing
from bot.services.access import INVITABLE, ROLE_WORDS, UNIT_ROLES, Actor, is_inspectorate_lead, may_invite
from bot.services.cases import ECHO_MAX, excerpt
from bot.text import fold
from handlers.officer import actor_of, refuse
from storage.models import Staff, Unit
from storage.uow import Database

flow = Flow("staff", entry="command", commands=("moi", "dangky", "roi", "thuhoi", "dscanbo"))
help_flow = Flow("help", entry="show", commands=("trogiup", "help"))

INVITE_TTL = staffing.INVITE_TTL


@flow.step("command")
async def command(turn: Turn) -> Next:
    handlers = {"moi": invite, "dangky": join, "roi": leave, "thuhoi": revoke, "dscanbo": list_staff}
    handler = handlers.get(turn.inbound.command or "")
    if handler is None:
        return done(turn.say("dialog.unknown_command"))
    return await handler(turn)


async def _find_unit(turn: Turn, text: str) -> Unit | None:
    return await staffing.find_unit(turn.uow, turn.services, text)


async def invite(turn: Turn) -> Next:
    actor = actor_of(turn)
    actor_unit = await _unit_of(turn, actor)
    if not actor.is_admin and not is_inspectorate_lead(actor, actor_unit):
        return await refuse(turn, "invite", None)
    words = turn.inbound.args.split()
    role = ROLE_WORDS.get(fold(words[-1]).replace(" ", "")) if words else None
    if role is None or role not in INVITABLE:
        return done(turn.say("staff.invite_usage"))
    unit = None
    if role in UNIT_ROLES:
        unit = await _find_unit(turn, " ".join(words[:-1]))
        if unit is None:
            return done(turn.say("staff.invite_unknown_unit", unit=excerpt(" ".join(words[:-1]), ECHO_MAX)))
    if not may_invite(actor, role, unit, actor_unit):
        return await refuse(turn, "invite", unit.code if unit else role)
    record = await staffing.create_invite(
        turn.uow, role=role, unit=unit, now=turn.now, issued_by=_account(turn), actor=actor, actor_unit=actor_unit
    )
    code = record.code
    await turn.audit("invite", code, detail={"role": role, "unit": unit.code if unit else None})
    return done(
        turn.say(
            "staff.invite_created",
            code=code,
            role=turn.t(f"role.{role}"),
            unit=unit.name if unit else turn.t("staff.whole_district"),
            days=INVITE_TTL.days,
        )
    )


def _account(turn: Turn) -> str:
    """Who is writing, as an invite's creator is stored: channel and user id."""
    return f"{turn.inbound.channel}:{turn.inbound.user_id}"


async def _unit_of(turn: Turn, actor: Actor) -> Unit | None:
    staff = actor.staff
    return await turn.uow.units.get(staff.unit_id) if staff is not None and staff.unit_id else None


async def join(turn: Turn) -> Next:
    code = turn.inbound.args.strip().upper()
    if not code:
        return done(turn.say("staff.join_usage"))
    record = await turn.uow.invites.get(code)
    usable = (
        record is not None and record.used_at is None and record.revoked_at is None and record.expires_at >= turn.now
    )
    if record is None or not usable:
        await turn.audit("join", code, allowed=False)
        return done(turn.say("staff.invite_invalid"))
    if record.created_by == _account(turn):
        # An invite is someone else's word that this person may have the role.
        await turn.audit("join", code, allowed=False, detail={"reason": "own_invite"})
        return done(turn.say("staff.invite_own"))
    existing = await turn.uow.staff.any_record(turn.inbound.channel, turn.inbound.user_id)
    if existing is not None and existing.active:
        # A role never changes in place: the old one is revoked first, so that it is seen.
        await turn.audit("join", code, allowed=False, detail={"reason": "already_staff"})
        return done(turn.say("staff.already_staff", role=turn.t(f"role.{existing.role}")))
    staff = existing or Staff(
        channel=turn.inbound.channel,
        channel_user_id=turn.inbound.user_id,
        chat_id=turn.inbound.chat_id,
        role=record.role,
    )
    staff.role = record.role
    staff.unit_id = record.unit_id
    staff.chat_id = turn.inbound.chat_id
    staff.display_name = turn.inbound.display_name
    staff.active = True
    staff.joined_at = turn.now
    staff.left_at = None
    await turn.uow.staff.save(staff)
    record.used_by = staff.id
    record.used_at = turn.now
    await turn.uow.invites.save(record)
    await turn.audit("join", code, staff_id=staff.id)
    unit = await turn.uow.units.get(record.unit_id) if record.unit_id else None
    if unit is not None and (record.role == "inspector" or unit.kind == "thanh_tra"):
        await _tell_inspectorate(turn, staff, unit)
    return done(
        turn.say(
            "staff.joined",
            role=turn.t(f"role.{record.role}"),
            unit=unit.name if unit else turn.t("staff.whole_district"),
        )
    )


async def _tell_inspectorate(turn: Turn, newcomer: Staff, unit: Unit) -> None:
    """Everyone already in an inspectorate hears who joined it: a stranger there would read identities."""
    t = turn.services.catalog.bind(turn.services.config.deployment.language)
    text = t(
        "staff.inspectorate_joined",
        name=newcomer.display_name or newcomer.channel_user_id,
        user=newcomer.channel_user_id,
        role=t(f"role.{newcomer.role}"),
        unit=unit.name,
    )
    for member in await turn.uow.staff.active(roles=("inspector", "unit_lead"), unit_id=unit.id):
        if member.id != newcomer.id:
            await notify.enqueue(turn.uow, member.channel, member.chat_id, Reply(text), now=turn.now)


async def leave(turn: Turn) -> Next:
    staff = turn.staff
    if staff is None:
        return await refuse(turn, "leave", None)
    await _deactivate(turn, staff)
    await turn.audit("leave", None, staff_id=staff.id)
    return done(turn.say("staff.left"))


async def revoke(turn: Turn) -> Next:
    actor = actor_of(turn)
    if not actor.is_admin:
        return await refuse(turn, "revoke", turn.inbound.args.strip() or None)
    target = turn.inbound.args.strip()
    if not target:
        return done(turn.say("staff.revoke_usage"))
    record = await turn.uow.invites.get(target.upper())
    if record is not None:
        record.revoked_at = record.revoked_at or turn.now
        await turn.uow.invites.save(record)
        # A used code is revoked by removing whoever used it: the code itself no longer matters.
        user = await turn.uow.staff.get(record.used_by) if record.used_by is not None else None
        if user is not None and user.active:
            await _deactivate(turn, user)
            outcome = turn.say("staff.invite_revoked_and_removed", code=record.code, name=_name(user))
        else:
            outcome = turn.say("staff.invite_revoked", code=record.code)
    else:
        # The id /dscanbo shows, on whatever channel the officer joined; "zalo:123" picks one.
        channel, _, user_id = target.rpartition(":")
        found = await turn.uow.staff.active_by_user_id(user_id, channel or None)
        if not found:
            return done(turn.say("staff.revoke_unknown", target=excerpt(target, ECHO_MAX)))
        if len(found) > 1:
            choices = ", ".join(f"{s.channel}:{s.channel_user_id}" for s in found)
            return done(turn.say("staff.revoke_ambiguous", target=excerpt(target, ECHO_MAX), choices=choices))
        await _deactivate(turn, found[0])
        outcome = turn.say("staff.staff_removed", name=_name(found[0]))
    await turn.audit("revoke", target)
    return done(outcome)


def _name(staff: Staff) -> str:
    return staff.display_name or staff.channel_user_id


async def _deactivate(turn: Turn, staff: Staff) -> None:
    """Remove someone from the staff, and withdraw what waits in the outbox for them as staff."""
    staff.active = False
    staff.left_at = turn.now
    await turn.uow.staff.save(staff)
    files = await notify.withdraw_staff_notices(turn.uow, staff)
    if files:

        async def release(db: Database) -> list[Reply]:
            await notify.release_files(db, files)
            return []

        turn.after_commit(release)


async def list_staff(turn: Turn) -> Next:
    actor = actor_of(turn)
    if not actor.is_admin:
        return await refuse(turn, "list_staff", None)
    lines = []
    for staff in await turn.uow.staff.all_active():
        unit = await turn.uow.units.get(staff.unit_id) if staff.unit_id else None
        lines.append(
            turn.t(
                "staff.list_line",
                name=staff.display_name or staff.channel_user_id,
                user=staff.channel_user_id,
                role=turn.t(f"role.{staff.role}"),
                unit=unit.name if unit else turn.t("staff.whole_district"),
            )
        )
    return done(turn.say("staff.list", lines=Markup("\n".join(lines) or turn.t("staff.list_empty"))))


@help_flow.step("show")
async def show_help(turn: Turn) -> Next:
    actor: Actor = actor_of(turn)
    sections = [turn.t("help.citizen")]
    if actor.is_supervisor:
        sections.append(turn.t("help.supervisor"))
    elif actor.is_staff:
        sections.append(turn.t("help.officer"))
    if actor.role == "inspector":
        sections.append(turn.t("help.inspector"))
    if actor.role == "unit_lead":
        sections.append(turn.t("help.lead"))
    if actor.is_admin:
        sections.append(turn.t("help.admin"))
    return done(turn.say("help.all", sections=Markup("\n\n".join(sections))))
