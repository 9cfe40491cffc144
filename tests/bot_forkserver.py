"""A warm interpreter that forks bot processes, for tests that start and kill the bot many times.

Why it exists: the crash tests kill the bot dozens of times. Starting ``python -m bot`` costs
about two seconds of imports (python-telegram-bot, SQLAlchemy, matplotlib, the holiday tables)
before the bot even opens its database, which would make those tests far too slow for CI. This
server imports all of that once, then for each request forks a child that runs exactly what
``python -m bot <argv>`` runs (``bot.cli.main``) in a fresh process: its own database
connections, event loop, scheduler and crash point, and a real death when it is killed.

Protocol: JSON lines. The server prints ``{"ready": true}``, then for each request
``{"argv": [...], "env": {...}, "log": "path"}`` on stdin it prints ``{"pid": N}`` when the child
runs and ``{"exit": N, "code": C}`` when it has ended (``C`` negative for a signal, as in
:mod:`subprocess`). One child at a time. ``python -m tests.bot_forkserver``.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def _preload() -> None:
    """Import what every bot start imports, and build the tables libraries build lazily."""
    import aiosqlite  # noqa: F401
    import alembic.command  # noqa: F401
    import asyncpg  # noqa: F401
    import holidays
    import sqlalchemy.dialects.postgresql.asyncpg
    import sqlalchemy.dialects.sqlite.aiosqlite  # noqa: F401

    import bot.cli
    import bot.outbox
    import bot.reports.chart
    import bot.reports.service
    import bot.scheduler
    import bot.services.reminders
    import bot.transports.telegram
    import bot.transports.zalo  # noqa: F401
    import handlers  # noqa: F401

    holidays.country_holidays("VN")


def _die_with_parent() -> None:
    """Linux: be killed when the parent dies, so that no bot outlives an interrupted test run."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(request: dict[str, object]) -> None:
    """Become ``python -m bot <argv>``; never returns."""
    code = 70
    try:
        _die_with_parent()
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        env = request.get("env") or {}
        assert isinstance(env, dict)
        os.environ.update({str(key): str(value) for key, value in env.items()})
        from bot import cli, crashpoints

        crashpoints.configure(os.environ.get(crashpoints.ENV))
        argv = request["argv"]
        assert isinstance(argv, list)
        code = cli.main([str(arg) for arg in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 70
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    _die_with_parent()
    _preload()
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        out.write(json.dumps({"exit": pid, "code": code}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
