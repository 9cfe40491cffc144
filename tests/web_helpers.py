"""Shared by the public page's tests: demo data, a running page, and the personal data to look for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel import select

from bot.app import App
from bot.reports import demo
from bot.web.server import serving
from storage.models import Case, CaseContact, Citizen

DEMO_CASES = 600


@asynccontextmanager
async def running_page(app: App) -> AsyncIterator[str]:
    """Demo data, then the page on a free port; yields its base URL."""
    await demo.generate(app, DEMO_CASES, seed=3)
    async with serving(app, "127.0.0.1", 0) as port:
        yield f"http://127.0.0.1:{port}"


async def personal_data(app: App) -> set[str]:
    """Every name, phone number and address of the demo's people, and every text a case holds
    that nobody allowed to be published (khiếu nại and tố cáo descriptions included)."""
    found: set[str] = set()
    async with app.db.read_only() as uow:
        for citizen in (await uow.session.exec(select(Citizen))).all():
            found.update(v for v in (citizen.display_name, citizen.phone, citizen.channel_user_id) if v)
        for contact in (await uow.session.exec(select(CaseContact))).all():
            found.update(v for v in (contact.full_name, contact.phone, contact.address) if v)
        for case in (await uow.session.exec(select(Case).where(Case.type.in_(("khieu_nai", "to_cao"))))).all():  # type: ignore[attr-defined]
            found.add(case.description)
    return found
