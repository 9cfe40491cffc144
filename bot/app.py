"""Wiring: from a Config to a database, services, the dialog engine and the outbox.

Every entry point (the CLI's run and console, the tests, the benchmarks) goes
through :func:`open_app`, so they all run the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import handlers
from bot.config import Config, ConfigError
from bot.dialog.catalog import Catalog
from bot.dialog.runtime import DialogEngine
from bot.services import reference
from bot.services.container import Services, system_clock
from bot.services.deadlines import DeadlinePolicy, DeadlineService, WorkCalendar
from bot.services.faq import FaqIndex, load_lexicon
from bot.services.routing import RoutingService
from storage.uow import Database

log = logging.getLogger(__name__)


@dataclass
class App:
    config: Config
    db: Database
    services: Services
    engine: DialogEngine

    async def close(self) -> None:
        await self.db.close()

    async def reload_reference(self) -> None:
        """Rebuild the in-memory routing and FAQ indexes from the database."""
        self.services.routing, self.services.faq = await _indexes(self.config, self.db)


async def _indexes(config: Config, db: Database) -> tuple[RoutingService, FaqIndex]:
    profile = config.deployment.units_profile
    async with db.unit_of_work() as uow:
        units = await uow.units.all()
        records = await uow.faq.all()
    if not any(unit.profile == profile for unit in units):
        known = sorted({unit.profile for unit in units}) or ["none loaded"]
        raise ConfigError(f"deployment.units_profile: no units for {profile!r} (known: {', '.join(known)})")
    lexicon_path = config.data_path / "lexicon.toml"
    lexicon = load_lexicon(lexicon_path) if lexicon_path.exists() else {}
    faq = FaqIndex((reference.faq_entry(record) for record in records), lexicon)
    return RoutingService(reference.places(units), profile), faq


def _check_data_dir(data_dir: Path) -> None:
    """Refuse to start on a folder without the units: the usual cause is a relative data_dir
    (the default, "data") and a program started from another directory."""
    if not (data_dir / "units").is_dir():
        raise ConfigError(
            f"deployment.data_dir: no units folder in {str(data_dir)!r} (looked in {data_dir.resolve()}; "
            "a relative path is relative to the current directory)"
        )


async def load_reference_data(db: Database, data_dir: Path) -> reference.LoadReport:
    async with db.unit_of_work() as uow:
        return await reference.load(uow, data_dir)


async def open_app(config: Config, *, clock: Callable[[], datetime] = system_clock, migrate: bool = True) -> App:
    """Open the database (migrating it), load reference data on first start, build the services."""
    db = Database(config.database.url)
    try:
        if migrate:
            await db.upgrade()
        async with db.unit_of_work() as uow:
            empty = not await uow.units.all()
        if empty:
            _check_data_dir(config.data_path)
            report = await load_reference_data(db, config.data_path)
            log.info("first start: loaded %s", report)
        routing, faq = await _indexes(config, db)
        try:
            policy = DeadlinePolicy.from_mapping(config.deadlines)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        services = Services(
            config=config,
            catalog=Catalog.load(default=config.deployment.language),
            routing=routing,
            deadlines=DeadlineService(policy, WorkCalendar(), config.deployment.tz),
            faq=faq,
            clock=clock,
        )
    except BaseException:
        await db.close()
        raise
    return App(config, db, services, DialogEngine(db, services, handlers.registry()))
