"""Staff accounts outside any chat: invites, the list, revocation; shared by /moi and the CLI.

An office must be able to start with no chat admin at all (a commune on Zalo only, Telegram
blocked): the server's operator runs ``python -m bot staff invite`` and counts as a super-admin,
so the rules of :func:`bot.services.access.may_invite` are the ones ``/moi`` applies. The code it
prints is redeemed with ``/dangky <code>`` on any channel.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.access import INVITABLE, ROLE_WORDS, UNIT_ROLES, Actor, Role, may_invite
from bot.services.container import Services
from bot.services.routing import FORMER_KIND, OUTSIDE_KIND
from bot.text import fold
from storage.models import Invite, Staff, Unit
from storage.uow import UnitOfWork

INVITE_TTL = timedelta(days=3)
CLI_ISSUER = "cli"  # an invite's created_by when the server's operator issued it
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Places named in a map that are not units a staff member can belong to.
_NOT_UNITS = (OUTSIDE_KIND, FORMER_KIND)


class InviteRefused(Exception):
    """Why an invite cannot be issued: ``reason`` is role, unit or not_allowed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class StaffLine:
    """One active staff member as /dscanbo and ``staff list`` show them."""

    id: str  # the id /thuhoi and ``staff revoke`` take: the user id on their channel
    channel: str
    name: str
    role: str
    unit: str | None


def role_of(word: str) -> Role | None:
    """The invitable role a word names (canbo, truong, thanhtra, quantri...), if any."""
    role = ROLE_WORDS.get(fold(word).replace(" ", ""))
    return role if role in INVITABLE else None


async def find_unit(uow: UnitOfWork, services: Services, text: str) -> Unit | None:
    """The unit a name or code designates in the active map: exact, routed, or one name containing it."""
    units = await uow.units.in_profile(services.config.deployment.units_profile)
    wanted = fold(text)
    for unit in units:
        if unit.kind not in _NOT_UNITS and (fold(unit.code) == wanted or fold(unit.name) == wanted):
            return unit
    route = services.routing.route(text)
    if route.unit is not None:
        return next((u for u in units if u.code == route.unit.code), None)
    matches = [u for u in units if u.kind not in _NOT_UNITS and wanted and wanted in fold(u.name)]
    return matches[0] if len(matches) == 1 else None


async def create_invite(
    uow: UnitOfWork,
    *,
    role: Role,
    unit: Unit | None,
    now: datetime,
    issued_by: str | None,
    actor: Actor | None = None,
    actor_unit: Unit | None = None,
) -> Invite:
    """Store a one-time code for ``role`` in ``unit``, valid for :data:`INVITE_TTL`.

    ``issued_by`` is "channel:user id" of whoever asked in a chat, or None for the server's
    operator (the CLI), who counts as a super-admin. Raises :class:`InviteRefused`.
    """
    if role not in INVITABLE:
        raise InviteRefused("role", role)
    if role in UNIT_ROLES and unit is None:
        raise InviteRefused("unit")
    who = actor if actor is not None else Actor(None, super_admin=issued_by is None)
    if not may_invite(who, role, unit, actor_unit):
        raise InviteRefused("not_allowed")
    invite = Invite(
        code="".join(secrets.choice(_ALPHABET) for _ in range(8)),
        unit_id=unit.id if unit is not None and role in UNIT_ROLES else None,
        role=role,
        created_by=issued_by or CLI_ISSUER,
        created_at=now,
        expires_at=now + INVITE_TTL,
    )
    await uow.invites.add(invite)
    return invite


async def active_staff(uow: UnitOfWork) -> list[StaffLine]:
    lines = []
    for staff in await uow.staff.all_active():
        unit = await uow.units.get(staff.unit_id) if staff.unit_id else None
        lines.append(
            StaffLine(
                id=staff.channel_user_id,
                channel=staff.channel,
                name=staff.display_name or staff.channel_user_id,
                role=staff.role,
                unit=unit.name if unit else None,
            )
        )
    return lines


async def find_active(uow: UnitOfWork, target: str) -> list[Staff]:
    """Active staff by the id /dscanbo shows; "zalo:123" picks the channel."""
    channel, _, user_id = target.rpartition(":")
    return list(await uow.staff.active_by_user_id(user_id, channel or None))


async def deactivate(uow: UnitOfWork, staff: Staff, now: datetime) -> None:
    """Remove a staff member: the record stays (the audit trail names it), inactive."""
    staff.active = False
    staff.left_at = now
    await uow.staff.save(staff)
