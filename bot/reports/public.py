"""The figures and lists the public page and the Open311 API show, computed together and cached.

Why this module exists: a page must answer in milliseconds on a million cases, and its
numbers must be the digest's and the statutory report's. So the figures come from
:func:`bot.reports.figures.collect` (this month, quarter and year, and each of the last twelve
months), the lists from :mod:`storage.public_queries`, all at once into a :class:`Snapshot` that
:class:`SnapshotCache` rebuilds on a schedule; pages only read the snapshot in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time as clock
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.reports import periods
from bot.reports.figures import Figures, collect
from bot.services.container import Services
from bot.services.routing import CITIZEN_KINDS
from storage.models import ReceptionSlot, Unit
from storage.public_queries import PublicQueries, PublicRequest, PublishedItem
from storage.uow import Database

log = logging.getLogger(__name__)

TREND_MONTHS = 12
MAP_DAYS = 90
MAP_POINTS = 3000
ANSWERS_KEPT = 500
PERIOD_NAMES = ("month", "quarter", "year")


@dataclass
class Snapshot:
    built_at: datetime
    build_seconds: float
    communes: list[Unit]  # one row each on the page, in the map's order
    units: dict[int, Unit]  # every unit of the map, by id
    periods: dict[str, Figures]  # "month", "quarter", "year": up to today
    trend: list[Figures]  # the last TREND_MONTHS calendar months, oldest first
    answers: list[PublishedItem]
    points: list[PublicRequest]  # located phản ánh of the last MAP_DAYS days
    reception: dict[int, list[ReceptionSlot]] = field(default_factory=dict)

    def commune(self, code: str) -> Unit | None:
        return next((unit for unit in self.communes if unit.code == code), None)

    def unit_name(self, unit_id: int) -> str:
        unit = self.units.get(unit_id)
        return unit.name if unit is not None else f"#{unit_id}"


async def build(db: Database, services: Services) -> Snapshot:
    """Every figure and list of the public page, read in read-only units of work."""
    started = clock.perf_counter()
    now = services.clock()
    tz = services.config.deployment.tz
    today = now.astimezone(tz).date()
    async with db.read_only() as uow:
        units = list(await uow.units.in_profile(services.config.deployment.units_profile))
        communes = [unit for unit in units if unit.kind in CITIZEN_KINDS and unit.id is not None]
        reception = {unit.id or 0: list(await uow.units.reception(unit.id or 0)) for unit in communes}
        named = {
            "month": periods.month_of(today),
            "quarter": periods.quarter_of(today),
            "year": periods.year_of(today),
        }
        figures = {name: await collect(uow, period, now, tz, overdue_limit=0) for name, period in named.items()}
        trend = [
            await collect(uow, period, now, tz, overdue_limit=0) for period in periods.months_back(today, TREND_MONTHS)
        ]
        public = PublicQueries(uow.session)
        answers = await public.published(ANSWERS_KEPT)
        points = await public.located(now - timedelta(days=MAP_DAYS), now, MAP_POINTS)
    return Snapshot(
        built_at=now,
        build_seconds=clock.perf_counter() - started,
        communes=communes,
        units={unit.id: unit for unit in units if unit.id is not None},
        periods=figures,
        trend=trend,
        answers=answers,
        points=points,
        reception=reception,
    )


class SnapshotCache:
    """The latest snapshot, rebuilt every ``interval`` seconds by :meth:`run` (one at a time)."""

    def __init__(self, builder: Callable[[], Awaitable[Snapshot]], interval: float) -> None:
        self._builder = builder
        self.interval = interval
        self.current: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> Snapshot:
        async with self._lock:
            snapshot = await self._builder()
            self.current = snapshot
            log.info("public figures rebuilt in %.2f s", snapshot.build_seconds)
            return snapshot

    async def get(self) -> Snapshot:
        return self.current or await self.refresh()

    async def run(self) -> None:
        """Rebuild forever; a failed rebuild keeps the previous snapshot and is logged."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("public figures: rebuild failed, the previous ones are kept")
