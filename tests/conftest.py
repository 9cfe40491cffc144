"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``TIEPDAN_TEST_POSTGRES_URL`` (``.ci/run`` sets it; the
default is this machine's local server). When it cannot be reached the
PostgreSQL half of the suite fails: it is never skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.app import App, load_reference_data, open_app
from bot.config import Config, from_mapping
from storage.uow import Database
from tests.helpers import FakeClock

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
_TABLES_IN_ORDER = (
    "oauth_tokens",
    "chat_presence",
    "choice_tokens",
    "processed_updates",
    "conversations",
    "outbox",
    "audit_log",
    "invites",
    "staff",
    "published_answers",
    "ratings",
    "faq_log",
    "case_events",
    "case_contacts",
    "cases",
    "citizens",
    "counters",
    "report_runs",
    "faq_entries",
    "reception_slots",
    "units",
)


def postgres_admin_url() -> str:
    return os.environ.get("TIEPDAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _create_pg_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_pg_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _prepare(url: str) -> None:
    db = Database(url)
    try:
        await db.upgrade()
        await load_reference_data(db, ROOT / "data")
    finally:
        await db.close()


@pytest.fixture(scope="session")
def template_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_prepare(f"sqlite:///{path}"))
    return path


_PG_DATABASE: dict[str, str] = {}


def _postgres_url() -> str:
    """A database of our own on the test server, created, migrated and loaded once per session."""
    if "url" not in _PG_DATABASE:
        admin = postgres_admin_url()
        name = f"tiepdan_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        _run_in_thread(_create_pg_database(admin, name))
        url = _with_database(admin, name)
        _run_in_thread(_prepare(url))
        _PG_DATABASE.update(url=url, name=name, admin=admin)
    return _PG_DATABASE["url"]


def _run_in_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from inside a running loop (fixtures are async)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run only when asked for (``-m slow``)."""
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="slow: opt in with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if "name" in _PG_DATABASE:
        asyncio.run(_drop_pg_database(_PG_DATABASE["admin"], _PG_DATABASE["name"]))


async def _reset_postgres(url: str) -> None:
    """Empty what tests write; reload the reference data only if a test changed it."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        changed = await connection.fetchval(
            "SELECT count(*) FROM faq_entries WHERE origin <> 'file' OR extra_questions::text <> '[]'"
        )
        tables = _TABLES_IN_ORDER[:-3] if not changed else _TABLES_IN_ORDER
        await connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    if changed:
        await _prepare(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path, template_sqlite: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        path = tmp_path / "tiepdan.db"
        shutil.copyfile(template_sqlite, path)
        yield f"sqlite:///{path}"
        return
    url = _postgres_url()
    await _reset_postgres(url)
    yield url


def make_config(database_url: str, **sections: dict[str, object]) -> Config:
    """The test configuration; ``sections`` override keys of a section.

    The flood limit is off unless a test turns it on (``dialog={"rate_limit_messages": 12}``):
    the test clock stands still, so anyone sending a dozen messages would hit it.
    """
    data: dict[str, object] = {
        "database": {"url": database_url},
        "deployment": {"data_dir": str(ROOT / "data")},
        "admins": {"telegram_ids": [900001]},
        "dialog": {"rate_limit_messages": 0},
    }
    for name, values in sections.items():
        merged = dict(data.get(name, {}))  # type: ignore[call-overload]
        merged.update(values)
        data[name] = merged
    return from_mapping(data)


@pytest.fixture
def clock() -> FakeClock:
    # A Friday morning in Cầu Ngang: 2026-11-27 09:00 +07.
    return FakeClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))


@pytest.fixture
async def app(database_url: str, clock: FakeClock) -> AsyncIterator[App]:
    application = await open_app(make_config(database_url), clock=clock, migrate=False)
    yield application
    await application.close()
