"""Who may see and do what with a case.

Roles: super-admin (Telegram ids in config), district admin (Nội vụ and
leadership: reads every case but denunciations, gets reports), unit lead and
officer (their own unit's cases), inspector (the inspectorate's cases,
denunciations included, and the only role that may read a denouncer's
identity), supervisor (giám sát: the commune's Fatherland Front or People's Inspection Board;
reads its commune's figures and overdue case codes, never a case's content or anyone's
identity, and acts on nothing). Every decision here is made again when an action runs: a button
only proves which chat it was shown in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.models import Case, Staff, Unit

Role = Literal["super_admin", "district_admin", "unit_lead", "officer", "inspector", "supervisor"]
ROLES: tuple[Role, ...] = ("super_admin", "district_admin", "unit_lead", "officer", "inspector", "supervisor")
INVITABLE: tuple[Role, ...] = ("district_admin", "unit_lead", "officer", "inspector", "supervisor")
UNIT_ROLES: tuple[Role, ...] = ("unit_lead", "officer", "inspector", "supervisor")
ROLE_WORDS: dict[str, Role] = {
    "quantri": "district_admin",
    "noivu": "district_admin",
    "admin": "district_admin",
    "district_admin": "district_admin",
    "truong": "unit_lead",
    "lanhdao": "unit_lead",
    "lead": "unit_lead",
    "unit_lead": "unit_lead",
    "canbo": "officer",
    "officer": "officer",
    "thanhtra": "inspector",
    "inspector": "inspector",
    "giamsat": "supervisor",
    "mttq": "supervisor",
    "supervisor": "supervisor",
}

Action = Literal[
    "view", "accept", "reject", "reply", "transfer", "request_info", "resolve", "note", "extend", "publish"
]
WORK_ACTIONS: tuple[Action, ...] = ("accept", "reject", "reply", "transfer", "request_info", "resolve", "note")


@dataclass(frozen=True)
class Actor:
    """The person acting: a staff record, or a bootstrap super-admin without one."""

    staff: Staff | None
    super_admin: bool = False

    @property
    def role(self) -> Role | None:
        if self.super_admin:
            return "super_admin"
        if self.staff is None or not self.staff.active:
            return None
        role = self.staff.role
        return role if role in ROLES else None

    @property
    def is_staff(self) -> bool:
        return self.role is not None

    @property
    def is_supervisor(self) -> bool:
        """Giám sát: figures and overdue codes of one commune, read only; no case, no inbox."""
        return self.role == "supervisor"

    @property
    def is_admin(self) -> bool:
        return self.role in ("super_admin", "district_admin")


def may_invite(actor: Actor, role: Role, unit: Unit | None, actor_unit: Unit | None) -> bool:
    """Whether this person may issue an invite to ``role`` in ``unit``.

    An inspector reads denouncers' identities, so no admin can make one (nor make itself one):
    inspector invites, and any invite into an inspectorate, come from a super-admin, or an
    inspector invite from the lead of that inspectorate. Other invites: the admins.
    """
    inspectorate = role == "inspector" or (unit is not None and unit.kind == "thanh_tra")
    if not inspectorate:
        return actor.is_admin
    if actor.super_admin:
        return True
    return (
        role == "inspector"
        and is_inspectorate_lead(actor, actor_unit)
        and unit is not None
        and actor_unit is not None
        and unit.id == actor_unit.id
    )


def is_inspectorate_lead(actor: Actor, actor_unit: Unit | None) -> bool:
    """A unit lead whose unit is an inspectorate (Chánh thanh tra)."""
    return actor.role == "unit_lead" and actor_unit is not None and actor_unit.kind == "thanh_tra"


def can(actor: Actor, action: Action, case: Case) -> bool:
    role = actor.role
    if role is None or role == "supervisor":
        # A supervisor watches figures; they never open, read or act on a case.
        return False
    if case.type == "to_cao":
        # Denunciations: only the inspectorate they were routed to.
        return role == "inspector" and _same_unit(actor, case)
    if role in ("super_admin", "district_admin"):
        return action in ("view", "note", "transfer")
    if role in ("unit_lead", "officer", "inspector"):
        return _same_unit(actor, case) and action != "extend"
    return False


def can_extend(actor: Actor, case: Case) -> bool:
    return case.type == "to_cao" and actor.role == "inspector" and _same_unit(actor, case)


def sees_identity(actor: Actor, case: Case) -> bool:
    """A denouncer's identity: inspectors of the case's inspectorate only. Other contacts: who may view."""
    if case.type == "to_cao":
        return actor.role == "inspector" and _same_unit(actor, case)
    return can(actor, "view", case)


def _same_unit(actor: Actor, case: Case) -> bool:
    return actor.staff is not None and actor.staff.unit_id is not None and actor.staff.unit_id == case.unit_id


def inbox_scope(actor: Actor) -> tuple[list[int] | None, list[str] | None]:
    """(unit ids, case types) an inbox lists; None means no restriction."""
    role = actor.role
    if role in ("super_admin", "district_admin"):
        return None, ["phan_anh", "kien_nghi", "khieu_nai", "hoi_dap"]
    if role == "inspector":
        assert actor.staff is not None and actor.staff.unit_id is not None
        return [actor.staff.unit_id], None
    if role in ("unit_lead", "officer"):
        assert actor.staff is not None and actor.staff.unit_id is not None
        return [actor.staff.unit_id], ["phan_anh", "kien_nghi", "khieu_nai", "hoi_dap"]
    return [], []
