"""Publishing a question and its answer on the public page, with the citizen's leave.

Why this module exists: "dân kiểm tra, dân giám sát" asks that people see how their commune
answers, but a petition is personal. So nothing is published unless two people agree: the
citizen, when rating a finished phản ánh or kiến nghị, allows it to be shown without their
identity; an officer of the case's unit then approves it from the case card. Only then is the
text copied (phone numbers and e-mail addresses masked) into ``published_answers``, and the
public page and Open311 show that copy. Khiếu nại, tố cáo and anonymous tips are never
published one by one. Erasing the citizen's data removes the row (bot/services/privacy.py).
"""

from __future__ import annotations

import re
from datetime import datetime

from storage.models import Case, PublishedAnswer, Staff
from storage.uow import UnitOfWork

PUBLISHABLE_TYPES = ("phan_anh", "kien_nghi")
FINISHED = ("resolved", "closed")
MASK = "***"
# A phone number: 8 or more digits, possibly grouped by spaces, dots or dashes, perhaps +84.
_PHONE = re.compile(r"\+?\d(?:[\s.\-]?\d){7,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def publishable(case: Case) -> bool:
    """Whether a citizen may be asked to publish this case: a finished phản ánh or kiến nghị,
    answered, not sent anonymously."""
    return case.type in PUBLISHABLE_TYPES and case.status in FINISHED and not case.anonymous and bool(case.result)


def masked(text: str) -> str:
    """The text with phone numbers and e-mail addresses replaced by ***."""
    return _EMAIL.sub(MASK, _PHONE.sub(MASK, text))


async def consent(uow: UnitOfWork, case: Case, now: datetime) -> bool:
    """Record the citizen's leave to publish; False when the case cannot be published."""
    if not publishable(case) or case.id is None:
        return False
    if await uow.published.get(case.id) is None:
        await uow.published.save(PublishedAnswer(case_id=case.id, consent_at=now))
    return True


async def awaiting_approval(uow: UnitOfWork, case: Case) -> bool:
    """The citizen allowed it and no officer has approved it yet."""
    row = await uow.published.get(case.id or 0)
    return row is not None and row.approved_at is None and publishable(case)


async def approve(uow: UnitOfWork, case: Case, staff: Staff | None, now: datetime) -> bool:
    """Publish the case's question and answer as they are now (masked); False if not allowed
    by the citizen or no longer publishable. The caller checks the officer's permission."""
    row = await uow.published.get(case.id or 0)
    if row is None or not publishable(case):
        return False
    row.question = masked(case.description)
    row.answer = masked(case.result or "")
    row.approved_at = now
    row.approved_by = staff.id if staff is not None else None
    await uow.published.save(row)
    return True
