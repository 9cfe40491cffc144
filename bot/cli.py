"""The command line: ``python -m bot <command>``.

run          start the configured transports (Telegram and/or Zalo; the console when neither is configured)
console      chat in the terminal with the same flows (no token needed)
db upgrade   apply the database migrations
data load    load or refresh reference data (units, reception schedule, FAQ) from data/
route        which unit a place name routes to (JSON)
faq search   what the FAQ answers to a question (JSON)
faq check    validate the FAQ data files
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence

from bot import config as config_module
from bot.app import App, load_reference_data, open_app
from bot.config import Config, ConfigError
from bot.services.faq import FaqDataError, check_entries, load_entries
from bot.services.reference import DataError
from storage.uow import Database

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Tiếp dân: citizens talk to local government.")
    parser.add_argument("--config", help="TOML configuration file (default: $TIEPDAN_CONFIG or ./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the bot with the configured transports")
    commands.add_parser("console", help="chat with the bot in this terminal")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    data = commands.add_parser("data", help="reference data")
    data.add_argument("action", choices=["load"])
    route = commands.add_parser("route", help="route a place name to a unit")
    route.add_argument("--json", action="store_true", help="print JSON (the default)")
    route.add_argument("text")
    faq = commands.add_parser("faq", help="procedure FAQ")
    faq_actions = faq.add_subparsers(dest="action", required=True)
    search = faq_actions.add_parser("search", help="search the FAQ")
    search.add_argument("--json", action="store_true", help="print JSON (the default)")
    search.add_argument("--limit", type=int, default=3)
    search.add_argument("text")
    faq_actions.add_parser("check", help="validate data/faq")
    return parser


async def _run(config: Config, stop: asyncio.Event | None = None) -> int:
    """Run every configured channel in this process until SIGINT/SIGTERM (or ``stop`` is set)."""
    telegram_on = bool(config.telegram.token)
    zalo_on = config.zalo.enabled and bool(config.zalo.token)
    if config.zalo.enabled and not config.zalo.token:
        log.warning("zalo.enabled is true but zalo.token is empty: Zalo is not started")
    if not telegram_on and not zalo_on:
        log.info("no Telegram token and no enabled Zalo bot configured: starting the console chat")
        return await _console(config)
    from bot.outbox import OutboxWorker
    from bot.transports.telegram import TelegramTransport
    from bot.transports.zalo import ZaloTransport

    app = await open_app(config)
    worker: OutboxWorker | None = None

    def wake() -> None:
        if worker is not None:
            worker.wake()

    transports: list[TelegramTransport | ZaloTransport] = []
    started: list[TelegramTransport | ZaloTransport] = []
    try:
        if telegram_on:
            transports.append(TelegramTransport(app, on_committed=wake))
        if zalo_on:
            transports.append(ZaloTransport(app, on_committed=wake))
        # One worker, one sender per channel: a notification goes out on the channel its chat belongs to.
        worker = OutboxWorker(app.db, {t.channel: t for t in transports}, app.services.clock)
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        for transport in transports:
            await transport.start()
            started.append(transport)
        outbox_task = asyncio.create_task(worker.run_forever(), name="outbox")
        modes = {"telegram": config.telegram.mode, "zalo": config.zalo.mode}
        log.info("tiepdan running on %s", ", ".join(f"{t.channel} ({modes[t.channel]})" for t in transports))
        try:
            await stop.wait()
        finally:
            outbox_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox_task
    finally:
        for transport in reversed(started):
            await transport.stop()
        await app.close()
    return 0


async def _console(config: Config) -> int:
    from bot.transports.console import run_console

    app = await open_app(config)
    try:
        await run_console(app)
    finally:
        await app.close()
    return 0


async def _with_app(config: Config, action: str, text: str = "", limit: int = 3) -> int:
    app: App = await open_app(config)
    try:
        if action == "route":
            print(json.dumps(app.services.routing.route(text).as_json(), ensure_ascii=False))
        elif action == "faq-search":
            result = app.services.faq.search(text, limit=limit)
            answer = result.answer
            print(
                json.dumps(
                    {
                        "answer": None
                        if answer is None
                        else {"id": answer.id, "title": answer.title, "score": round(answer.score, 1)},
                        "suggestions": [
                            {"id": m.id, "title": m.title, "score": round(m.score, 1)} for m in result.suggestions
                        ],
                    },
                    ensure_ascii=False,
                )
            )
    finally:
        await app.close()
    return 0


async def _db_upgrade(config: Config) -> int:
    db = Database(config.database.url)
    try:
        await db.upgrade()
    finally:
        await db.close()
    print("database is up to date")
    return 0


async def _data_load(config: Config) -> int:
    db = Database(config.database.url)
    try:
        await db.upgrade()
        report = await load_reference_data(db, config.data_path)
    finally:
        await db.close()
    print(f"loaded {report}")
    return 0


def _faq_check(config: Config) -> int:
    entries = load_entries(config.data_path / "faq")
    problems = check_entries(entries)
    for problem in problems:
        print(problem)
    print(f"{len(entries)} entries, {len(problems)} problems")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "apscheduler", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = config_module.load(args.config)
        if args.command == "run":
            return asyncio.run(_run(config))
        if args.command == "console":
            return asyncio.run(_console(config))
        if args.command == "db":
            return asyncio.run(_db_upgrade(config))
        if args.command == "data":
            return asyncio.run(_data_load(config))
        if args.command == "route":
            return asyncio.run(_with_app(config, "route", args.text))
        if args.command == "faq" and args.action == "search":
            return asyncio.run(_with_app(config, "faq-search", args.text, args.limit))
        if args.command == "faq" and args.action == "check":
            return _faq_check(config)
    except (ConfigError, DataError, FaqDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
