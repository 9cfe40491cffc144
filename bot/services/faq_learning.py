"""Turning officers' answers into FAQ knowledge, stored and searchable at once.

The FAQ is public: every citizen reads its answers. An officer's reply was written to one
person and may name them or repeat their number, and the question is that person's words, so
neither is learned while it holds personal data (:func:`holds_personal_data`).
"""

from __future__ import annotations

import re

from bot.services.container import Services
from bot.services.faq import FaqEntry
from bot.services.reference import faq_entry
from bot.text import fold
from storage.models import Case, FaqRecord
from storage.uow import UnitOfWork

# A Vietnamese phone number inside a text: 0 or +84, then nine digits, spaces, dots or dashes between.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+\s?84|84|0)(?:[\s.\-]?\d){9}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NAME_MIN_WORDS = 2  # a one-word name ("Lan", "Ba") is also an ordinary word
_ADDRESS_MIN_CHARS = 12  # "ấp Chợ" names a hamlet, not a household


async def latest_reply(uow: UnitOfWork, case: Case) -> str | None:
    """The text of the last public reply or resolution an officer gave on the case."""
    for event in reversed(await uow.cases.events(case.id or 0, public_only=True)):
        if event.kind in ("replied", "resolved") and event.payload.get("text"):
            return str(event.payload["text"])
    return None


def _new_id(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-")[:60] or "hoi-dap"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


async def create_entry(
    uow: UnitOfWork, services: Services, *, title: str, question: str, answer: str, unit_name: str
) -> FaqEntry:
    taken = {record.id for record in await uow.faq.all()}
    record = FaqRecord(
        id=_new_id(title, taken),
        topic="Hỏi đáp",
        title=title,
        questions=[question],
        answer=answer,
        legal_basis="",
        level=unit_name,
        verified_on=services.deadlines.local_date(services.clock()),
        source=f"Cán bộ {unit_name}",
        origin="officer",
    )
    await uow.faq.save(record)
    entry = faq_entry(record)
    services.faq.upsert(entry)
    return entry


async def add_question(uow: UnitOfWork, services: Services, entry_id: str, question: str) -> FaqEntry | None:
    record = await uow.faq.get(entry_id)
    if record is None:
        return None
    if question not in record.questions and question not in record.extra_questions:
        record.extra_questions = [*record.extra_questions, question]
        await uow.faq.save(record)
    entry = faq_entry(record)
    services.faq.upsert(entry)
    return entry


async def holds_personal_data(uow: UnitOfWork, case: Case, *texts: str) -> bool:
    """Whether any of ``texts`` carries a phone number, an e-mail address, or the name, phone or
    address the case's person gave (their contact, their account's name and number)."""
    citizen = await uow.citizens.get(case.citizen_id)
    contact = await uow.cases.contact(case.id or 0)
    names = [citizen.display_name if citizen else None, contact.full_name if contact else None]
    addresses = [contact.address if contact else None]
    phones = [citizen.phone if citizen else None, contact.phone if contact else None]
    known = [fold(n) for n in names if n and len(n.split()) >= _NAME_MIN_WORDS]
    known += [fold(a) for a in addresses if a and len(a) >= _ADDRESS_MIN_CHARS]
    digits = [re.sub(r"\D", "", p)[-9:] for p in phones if p]
    for text in texts:
        folded = f" {' '.join(fold(text).split())} "
        if _PHONE_IN_TEXT.search(text) or _EMAIL.search(text):
            return True
        if any(f" {' '.join(value.split())} " in folded for value in known):
            return True
        if any(len(d) == 9 and d in re.sub(r"\D", "", text) for d in digits):
            return True
    return False
