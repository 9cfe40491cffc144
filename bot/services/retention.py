"""The daily retention job: personal data that is no longer needed is purged.

Each kind of row is kept as long as its purpose needs it (``[retention]`` in the config; the
table and the reasons are in docs/deployment.md): expired buttons go at once, update claims
after a few days (channels redeliver within hours), the text of delivered notices after a
week, idle conversations (unfinished drafts with a name, phone, address) after a month, the
words typed to the FAQ after three months (the counts stay for the reports), and the contact
held on a closed khiếu nại or tố cáo of a person who asked for erasure after the records period.

The job is registered once (``bot.scheduler.register_jobs``, id "retention") and records each
local day it ran in ``report_runs`` (kind "retention") in the same transaction as the purge,
so a day is purged exactly once, whatever restarts and catch-ups do.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from bot.services import privacy
from bot.services.cases import OPEN_STATUSES
from bot.services.container import Services
from storage.models import ReportRun
from storage.uow import Database

log = logging.getLogger(__name__)

KIND = "retention"


@dataclass(frozen=True)
class Purged:
    tokens: int
    updates: int
    outbox: int
    conversations: int
    faq_texts: int
    held_contacts: int


async def run_daily(db: Database, services: Services) -> Purged | None:
    """Purge what has expired, once per local day; None when today's purge already ran."""
    now = services.clock()
    today = services.deadlines.local_date(now).isoformat()
    keep = services.config.retention
    async with db.unit_of_work() as uow:
        if await uow.reports.find(KIND, today) is not None:
            return None
        await uow.reports.save(ReportRun(kind=KIND, period=today, status="done", sent_at=now))
        purged = Purged(
            tokens=await uow.choices.purge_expired(now),
            updates=await uow.updates.purge_before(now - timedelta(days=keep.processed_update_days)),
            outbox=await uow.outbox.blank_finished_before(now - timedelta(days=keep.outbox_body_days)),
            conversations=await uow.conversations.purge_idle(now - timedelta(days=keep.draft_days)),
            faq_texts=await uow.faq.blank_before(now - timedelta(days=keep.faq_text_days)),
            held_contacts=await uow.cases.erase_held_contacts(
                privacy.LEGAL_HOLD_TYPES, OPEN_STATUSES, now - privacy.records_period(services), now
            ),
        )
    log.info("retention purge %s: %s", today, asdict(purged))
    return purged
