"""``python -m bot db backup``: a backup restores into a fresh database and holds the rows.

SQLite is restored by opening the copy; PostgreSQL by ``pg_restore`` into a database created
for the test and dropped after it. Backups are taken while the bot's own engine has the
database open, and for SQLite while another connection is in the middle of a write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlmodel import select

from bot import cli
from bot.app import App
from storage import backup as backup_module
from storage.backup import BackupError, backup
from storage.migrate import current_revision, head_revision
from storage.models import Case, CaseContact
from storage.uow import Database
from tests.conftest import ROOT, make_config, postgres_admin_url
from tests.helpers import Chat
from tests.test_officer import file_petition

MOMENT = datetime(2026, 11, 27, 2, 30, 15, tzinfo=UTC)


def _database_named(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(postgres_admin_url())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _read_case(url: str, code: str) -> tuple[Case, CaseContact | None, str | None]:
    db = Database(url)
    try:
        async with db.unit_of_work() as uow:
            case = (await uow.session.exec(select(Case).where(Case.code == code))).one()
            contact = (await uow.session.exec(select(CaseContact).where(CaseContact.case_id == case.id))).first()
        return case, contact, await current_revision(db.engine)
    finally:
        await db.close()


async def _restore_and_read(backend: str, dump: Path, code: str) -> tuple[Case, CaseContact | None, str | None]:
    """Restore ``dump`` into a fresh database and read the case back from it."""
    if backend == "sqlite":
        return await _read_case(f"sqlite:///{dump}", code)
    name = f"tiepdan_restore_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = _database_named(postgres_admin_url(), name)
        restored = await asyncio.to_thread(
            subprocess.run,
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={url}", str(dump)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert restored.returncode == 0, restored.stderr
        return await _read_case(url, code)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_backup_restores_into_a_fresh_database_with_the_rows(app: App, backend: str, tmp_path: Path) -> None:
    code = await file_petition(app, Chat(app, user_id="5301"), "Kim Hòa", kind="Khiếu nại", text="Thu hồi đất sai")

    path = backup(app.config.database.url, f"{tmp_path}/backups/", now=MOMENT)

    suffix = "db" if backend == "sqlite" else "dump"
    assert path.parent == tmp_path / "backups" and path.name.endswith(f"-20261127-023015Z.{suffix}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds personal data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left behind
    case, contact, revision = await _restore_and_read(backend, path, code)
    assert case.type == "khieu_nai" and case.description == "Thu hồi đất sai"
    assert contact is not None
    assert (contact.full_name, contact.phone, contact.address) == ("Lâm Văn Tố", "0909123456", "ấp Chợ")
    assert revision == head_revision()


async def test_cli_backup_writes_where_asked_and_says_so(app: App, backend: str, tmp_path: Path) -> None:
    code = await file_petition(app, Chat(app, user_id="5302"), "Mỹ Hòa")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{app.config.database.url}"\n[deployment]\ndata_dir = "{ROOT / "data"}"\n',
        encoding="utf-8",
    )
    target = tmp_path / "nightly.backup"

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "--config", str(config), "db", "backup", "--out", str(target)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"backup written to {target}"
    case, contact, _ = await _restore_and_read(backend, target, code)
    assert case.type == "phan_anh" and contact is None


def _wal_database(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # committed rows stay in the -wal file
    connection.execute("CREATE TABLE cases (code TEXT PRIMARY KEY)")
    return connection


def test_sqlite_backup_while_another_connection_is_writing(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    writer = _wal_database(source)
    try:
        writer.executemany("INSERT INTO cases VALUES (?)", [("CN-2026-00001",), ("CN-2026-00002",)])
        assert (tmp_path / "live.db-wal").stat().st_size > 0  # the committed rows are only in the WAL
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO cases VALUES ('CN-2026-00003')")  # holds the write lock, uncommitted

        path = backup(f"sqlite:///{source}", tmp_path / "copy.db")

        writer.execute("COMMIT")
    finally:
        writer.close()
    with sqlite3.connect(path) as copy:
        codes = [code for (code,) in copy.execute("SELECT code FROM cases ORDER BY code")]
        (mode,) = copy.execute("PRAGMA journal_mode").fetchone()
    assert codes == ["CN-2026-00001", "CN-2026-00002"]
    assert mode == "delete"  # one self-contained file
    assert not (tmp_path / "copy.db-wal").exists()


def test_default_location_is_var_backups_with_distinct_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _wal_database(tmp_path / "tiepdan.db").close()
    url = f"sqlite:///{tmp_path / 'tiepdan.db'}"

    first = backup(url, now=MOMENT)
    second = backup(url, now=MOMENT)

    assert first == Path("var/backups/tiepdan-20261127-023015Z.db")
    assert second == Path("var/backups/tiepdan-20261127-023015Z-2.db")
    assert first.is_file() and second.is_file()


def test_missing_sqlite_database_is_an_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "tiepdan.db"
    with pytest.raises(BackupError, match="no SQLite database"):
        backup(f"sqlite:///{missing}", tmp_path / "out.db")
    assert not missing.exists() and not (tmp_path / "out.db").exists()

    config = make_config(f"sqlite:///{missing}")
    assert cli._db_backup(config, str(tmp_path / "out.db")) == 1
    assert capsys.readouterr().err.startswith("error: no SQLite database at")


def test_pg_dump_gets_the_password_from_its_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def spy(command: list[str], **kwargs: Any) -> Any:
        calls.append((list(command), dict(kwargs["env"])))
        return real_run(command, **kwargs)

    monkeypatch.setattr(backup_module.subprocess, "run", spy)
    admin = postgres_admin_url()
    scheme, _, rest = admin.partition("://")
    user, _, host = rest.partition("@")
    with_password = f"{scheme}://{user}:S3cr3t-pw@{host}"  # the test server trusts local connections

    path = backup(with_password, tmp_path / "dump")

    [(command, environment)] = calls
    assert not any("S3cr3t-pw" in part for part in command)
    assert environment["PGPASSWORD"] == "S3cr3t-pw"
    assert "--format=custom" in command
    assert path.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format


def test_pg_dump_failure_is_reported_and_leaves_no_file(tmp_path: Path) -> None:
    missing = _database_named(postgres_admin_url(), f"tiepdan_missing_{uuid.uuid4().hex[:8]}")
    with pytest.raises(BackupError, match=r"pg_dump failed: .*does not exist"):
        backup(missing, f"{tmp_path}/")
    assert list(tmp_path.iterdir()) == []
