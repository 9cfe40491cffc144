"""Turning officers' answers into FAQ knowledge, stored and searchable at once."""

from __future__ import annotations

import re

from bot.services.container import Services
from bot.services.faq import FaqEntry
from bot.services.reference import faq_entry
from bot.text import fold
from storage.models import Case, FaqRecord
from storage.uow import UnitOfWork


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
