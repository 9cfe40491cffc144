"""``python -m bot health`` on both databases: what it reports, and when it says unhealthy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot import cli, health
from bot.app import App
from bot.scheduler import jobs, next_run
from storage.migrate import head_revision, upgrade
from storage.models import OutboxMessage
from storage.uow import Database
from tests.conftest import ROOT, make_config, postgres_admin_url
from tests.helpers import Chat

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def _queue(app: App, *, created: datetime, status: str = "pending", attempt: datetime | None = None) -> int:
    async with app.db.unit_of_work() as uow:
        message = OutboxMessage(
            channel="telegram",
            chat_id="900001",
            payload={"text": "x"},
            status=status,
            created_at=created,
            next_attempt_at=attempt or created,
        )
        await uow.outbox.add(message)
        assert message.id is not None
        return message.id


async def test_a_working_database_is_healthy(app: App) -> None:
    async with app.db.unit_of_work() as uow:
        units = len(await uow.units.in_profile("caungang-2022"))

    report = await health.check(app.config, now=NOW)

    assert report.healthy, report.problems
    assert report.reachable and report.revision == report.head == head_revision()
    assert report.outbox is not None and report.outbox.pending == 0 and report.outbox.failed_since == 0
    assert (report.profile, report.units) == ("caungang-2022", units) and units > 20
    text = health.render(report, app.config.deployment.tz, json_output=False)
    assert text.startswith("tiepdan health: OK")
    assert f"caungang-2022: {units} units" in text


async def test_a_stuck_outbox_makes_it_unhealthy_and_shows_in_the_output(app: App) -> None:
    zone = app.config.deployment.tz
    await _queue(app, created=NOW - timedelta(minutes=3))
    await _queue(app, created=NOW - timedelta(days=3), status="failed")  # failed long ago: not counted
    await _queue(app, created=NOW - timedelta(days=2), status="failed", attempt=NOW - timedelta(hours=1))
    await _queue(app, created=NOW - timedelta(hours=5), status="sent")
    fresh = await health.check(app.config, now=NOW)
    assert fresh.healthy, fresh.problems
    assert fresh.outbox is not None and (fresh.outbox.pending, fresh.outbox.failed_since) == (1, 1)

    stuck_id = await _queue(app, created=NOW - timedelta(hours=2))
    stuck = await health.check(app.config, now=NOW)

    assert not stuck.healthy
    assert stuck.problems == ["outbox stuck: the oldest pending message has waited 2 h (threshold 15 min)"]
    data = health.as_json(stuck, zone)
    assert data["healthy"] is False
    assert data["outbox"] == {
        "pending": 2,
        "oldest_pending_at": "2026-11-27T07:00:00+07:00",
        "oldest_pending_age_seconds": 7200,
        "max_pending_age_seconds": 900,
        "failed_last_24h": 1,
    }
    assert "outbox    2 pending, oldest waiting 2 h; 1 failed" in health.as_text(stuck, zone)
    # A higher threshold tolerates it; delivering the message clears it.
    assert (await health.check(app.config, now=NOW, max_pending_age=timedelta(hours=3))).healthy
    async with app.db.unit_of_work() as uow:
        message = await uow.outbox.get(stuck_id)
        assert message is not None
        message.status = "sent"
        await uow.outbox.save(message)
    assert (await health.check(app.config, now=NOW)).healthy


async def test_exit_status_and_json_of_the_command(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli._health(app.config, True, 15.0) == 0
    assert json.loads(capsys.readouterr().out)["healthy"] is True

    await _queue(app, created=datetime.now(UTC) - timedelta(hours=1))

    assert await cli._health(app.config, True, 15.0) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["healthy"] is False and data["problems"][0].startswith("outbox stuck")
    assert await cli._health(app.config, False, 90.0) == 0
    assert capsys.readouterr().out.startswith("tiepdan health: OK")


async def test_last_processed_update_per_channel(app: App) -> None:
    before = datetime.now(UTC)
    await Chat(app, user_id="5401", channel="zalo").say("/start")
    await Chat(app, user_id="5402", channel="telegram").say("/start")
    after = datetime.now(UTC)

    report = await health.check(app.config)

    assert sorted(report.last_updates) == ["telegram", "zalo"]
    assert all(before <= at <= after for at in report.last_updates.values())
    assert "updates   last processed: telegram " in health.as_text(report, app.config.deployment.tz)


async def test_scheduler_jobs_and_their_next_runs(database_url: str) -> None:
    """The jobs' next runs, as the running bot computes them (nothing stored to read)."""
    config = make_config(database_url)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 16:00 in Cầu Ngang, a Friday

    report = await health.check(config, now=now)

    expected = {job.name: next_run(job, now) for job in jobs(config)}
    found = {job.id: job.next_run_at for job in report.jobs}
    assert found == expected and {"reminders", "report_weekly"} <= set(found)
    assert [job.next_run_at for job in report.jobs] == sorted(expected.values())
    listed = health.as_json(report, config.deployment.tz)["jobs"]
    assert listed[0] == {"id": "retention", "next_run_at": "2026-11-28T03:30:00+07:00"}
    assert (
        "jobs      next runs: retention 2026-11-28 03:30:00, reminders 2026-11-28 07:00:00, report_weekly"
        in health.as_text(report, config.deployment.tz)
    )


@pytest.fixture
async def fresh_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of its own (no migrations, no data)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"tiepdan_health_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(postgres_admin_url())
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield f"{postgres_admin_url().rpartition('/')[0]}/{name}"
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def _migrate(url: str, revision: str) -> None:
    db = Database(url)
    try:
        await upgrade(db.engine, revision)
    finally:
        await db.close()


async def test_a_database_behind_the_code_or_without_units_is_unhealthy(fresh_url: str) -> None:
    config = make_config(fresh_url)
    await _migrate(fresh_url, "0001")

    behind = await health.check(config)

    assert behind.reachable and behind.revision == "0001"
    assert behind.problems[0] == (
        f"database at revision 0001, this code expects {head_revision()}: run `python -m bot db upgrade`"
    )
    await _migrate(fresh_url, "head")
    empty = await health.check(config)
    assert empty.problems == ["no units in the map in force caungang-2022: run `python -m bot data load`"]
    assert health.as_json(empty, config.deployment.tz)["map"] == {"profile": "caungang-2022", "units": 0}


async def test_an_unmigrated_database_is_unhealthy(fresh_url: str, backend: str) -> None:
    if backend == "sqlite":
        await asyncio.to_thread(Path(fresh_url.removeprefix("sqlite:///")).touch)  # reachable, no tables
    report = await health.check(make_config(fresh_url))
    assert report.reachable and report.revision is None
    assert report.problems == [
        f"database at revision none, this code expects {head_revision()}: run `python -m bot db upgrade`"
    ]
    assert report.outbox is None


async def test_an_unreachable_database_is_unhealthy(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        missing = tmp_path / "gone" / "tiepdan.db"
        url = f"sqlite:///{missing}"
    else:
        url = "postgresql://tiepdan:hunter2@127.0.0.1:1/tiepdan"  # nothing listens on port 1

    report = await health.check(make_config(url), connect_timeout=5)

    assert not report.reachable and not report.healthy
    assert report.problems[0].startswith("database unreachable: ")
    text = health.as_text(report, make_config(url).deployment.tz)
    assert "UNREACHABLE" in text and "hunter2" not in text
    if backend == "sqlite":
        assert not missing.exists() and not missing.parent.exists()  # checking created nothing


def test_health_command_line(database_url: str, backend: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{database_url}"\n[deployment]\ndata_dir = "{ROOT / "data"}"\n', encoding="utf-8"
    )
    command = [sys.executable, "-m", "bot", "--config", str(config), "health", "--json"]

    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["database"]["revision"] == head_revision()
    if backend != "sqlite":
        return
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "missing.db"}"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(bad), "health"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stdout.startswith("tiepdan health: UNHEALTHY")
