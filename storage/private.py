"""Files and folders that only the bot's own user may read.

Why this module exists: the database, its SQLite companions (-wal, -shm), the scheduler's job
file, report files and backups hold personal data (names, phone numbers, denunciations). Made
with the process's umask (usually 022) they are readable by every local user, so they are
created private here whatever the umask: folders 0700, files 0600. ``python -m bot`` also sets
the umask to 077 (bot/cli.py), so that whatever a library writes for us is private too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_folders(path: Path) -> None:
    """Create ``path`` and its missing parents as private folders (existing ones are left as they are)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask


def restrict(path: Path) -> None:
    """Take away the group's and others' access to an existing file (no-op when absent)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        os.chmod(path, current & 0o700)


def prepare_sqlite_file(path: Path) -> None:
    """Before SQLite opens ``path``: its folder exists (private when we create it), the file
    exists readable by its owner only, and so do the -wal and -shm files left by an earlier
    run. SQLite gives the -wal and -shm files it creates the database file's mode."""
    make_folders(path.parent)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    os.close(descriptor)
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        restrict(file)


def delete_with_empty_folders(path: Path) -> None:
    """Delete a delivered (or withdrawn) report file, then its run's and its period's folders once empty."""
    path.unlink(missing_ok=True)
    for folder in (path.parent, path.parent.parent):
        try:
            folder.rmdir()
        except OSError:  # not empty (other files, other runs), or gone
            return
