"""Backups of the database: SQLite's online backup API, ``pg_dump`` for PostgreSQL.

Both are safe while the bot runs. SQLite is copied page by page through the
``sqlite3`` backup API on a synchronous connection: in WAL mode a reader never
blocks the writer, and the copy holds every committed transaction (including
those still in the ``-wal`` file) and nothing uncommitted. PostgreSQL is dumped
with ``pg_dump --format=custom`` (a consistent snapshot; restore it with
``pg_restore``); the password goes to ``pg_dump`` through ``PGPASSWORD`` in its
environment, never on its command line, where any local user could read it.

A backup is written to a temporary file next to its destination and renamed
into place only once complete, so a file with the final name is always a whole
backup. Backups hold personal data: files are created readable by their owner
only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from storage.db import sync_url

DEFAULT_DIRECTORY = Path("var/backups")


class BackupError(Exception):
    """A backup could not be made; the message says why in one line."""


def backup(database_url: str, out: str | Path | None = None, *, now: datetime | None = None) -> Path:
    """Back up the database at ``database_url``; return the path of the backup file.

    ``out`` is the file to write, or a directory (existing, or written with a
    trailing slash) to put a timestamped file in; by default ``var/backups/``.
    """
    url = sync_url(database_url)
    moment = now or datetime.now(UTC)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_file(url)
        target = _destination(out, source.stem or "tiepdan", "db", moment)
        _write_atomically(target, lambda partial: _backup_sqlite(source, partial))
    else:
        target = _destination(out, url.database or "tiepdan", "dump", moment)
        _write_atomically(target, lambda partial: _backup_postgres(url, partial))
    return target


def _sqlite_file(url: URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError(f"cannot back up the SQLite database {database or '(in memory)'!r}: not a plain file")
    path = Path(database)
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    return path


def _destination(out: str | Path | None, stem: str, suffix: str, moment: datetime) -> Path:
    stamp = moment.astimezone(UTC).strftime("%Y%m%d-%H%M%SZ")
    if out is not None and not (Path(out).is_dir() or str(out).endswith(("/", os.sep))):
        return Path(out)
    directory = DEFAULT_DIRECTORY if out is None else Path(out)
    candidate = directory / f"{stem}-{stamp}.{suffix}"
    counter = 2
    while candidate.exists():
        candidate = directory / f"{stem}-{stamp}-{counter}.{suffix}"
        counter += 1
    return candidate


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    # Created empty and private first: both writers keep the mode of an existing file.
    descriptor = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(descriptor)
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _backup_sqlite(source: Path, destination: Path) -> None:
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30, isolation_level=None)) as reader,
            contextlib.closing(sqlite3.connect(destination, isolation_level=None)) as copy,
        ):
            # All pages in one step: a single read transaction, so the copy is one consistent state.
            reader.backup(copy, pages=-1)
            # A self-contained file (no -wal beside it); the bot switches it back to WAL when opened.
            copy.execute("PRAGMA journal_mode=DELETE")
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {source} failed: {exc}") from None
    if verdict != "ok":
        raise BackupError(f"the backup of {source} does not pass quick_check: {verdict}")


def _backup_postgres(url: URL, destination: Path) -> None:
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupError("pg_dump is not installed (Debian/Ubuntu: apt install postgresql-client)")
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    # The same database without its password (URL.set cannot remove one).
    bare = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    target = bare.render_as_string(hide_password=False)
    command = [program, "--format=custom", "--no-password", f"--file={destination}", f"--dbname={target}"]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise BackupError(f"pg_dump failed: {detail}")
