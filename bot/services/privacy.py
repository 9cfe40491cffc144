"""Erasure on request (/dulieu), and what is held back from it on a legal basis.

A citizen's personal data goes when they ask: their name, phone and consent, the words they
typed to the FAQ, the buttons and delivered messages of their chat, the contact stored
with their cases, and any question and answer they allowed to be published (published_answers).
One exception, which /dulieu states: the contact on a khiếu nại or tố cáo is needed to settle it
(the law obliges the authority to answer the complainant, and to protect and reach the denouncer), so it is kept while the case is open and for the records period
after it closes (``[retention] legal_records_years``); the daily retention job erases it then.
The person may withdraw such a petition instead (``casework.withdraw``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.services.cases import CONTACT_REQUIRED, OPEN_STATUSES
from bot.services.container import Services
from storage.models import Case, Citizen
from storage.uow import UnitOfWork

# The petitions whose filer's identity the law requires to settle them.
LEGAL_HOLD_TYPES = CONTACT_REQUIRED
DAYS_PER_YEAR = 365


def records_period(services: Services) -> timedelta:
    return timedelta(days=DAYS_PER_YEAR * services.config.retention.legal_records_years)


def finished_at(case: Case) -> datetime | None:
    return case.closed_at or case.resolved_at


def is_held(case: Case, services: Services, now: datetime) -> bool:
    """Whether the contact on ``case`` is kept on the legal-obligation basis, erasure or not."""
    if case.type not in LEGAL_HOLD_TYPES:
        return False
    finished = finished_at(case)
    if case.status in OPEN_STATUSES or finished is None:
        return True
    return finished >= now - records_period(services)


async def held_cases(uow: UnitOfWork, services: Services, citizen: Citizen, now: datetime) -> list[Case]:
    own = await uow.cases.of_citizen(citizen.id or 0, limit=1000)
    return [case for case in own if is_held(case, services, now)]


async def erase(uow: UnitOfWork, services: Services, citizen: Citizen, now: datetime) -> Sequence[Case]:
    """Erase what the citizen's request covers; return the cases whose contact is held."""
    held = await held_cases(uow, services, citizen, now)
    await uow.cases.erase_contacts(citizen.id or 0, now, keep=[case.id or 0 for case in held])
    await uow.faq.erase_of_citizen(citizen.id or 0)
    await uow.published.erase_of_citizen(citizen.id or 0)
    await uow.choices.drop_chat(citizen.channel, citizen.chat_id)
    await uow.outbox.blank_for_chat(citizen.channel, citizen.chat_id)
    citizen.display_name = None
    citizen.phone = None
    citizen.consent_at = None
    citizen.erased_at = now
    await uow.citizens.save(citizen)
    return held
