"""The command line: ``python -m bot <command>``.

run          start the configured transports (Telegram and/or Zalo; the console when neither is configured)
console      chat in the terminal with the same flows (no token needed)
web          serve the public transparency page and the Open311 API ([web] listen, port)
db upgrade   apply the database migrations
db backup    back up the database (SQLite online backup, pg_dump for PostgreSQL) to var/backups/
health       is the deployment working: database, migrations, outbox, updates, jobs, map (exit 1 if not)
data load    load or refresh reference data (units, reception schedule, FAQ) from data/
data build-units  regenerate data/units/vinhlong-tinh-2025.toml from the package vietnam-provinces
route        which unit a place name routes to (JSON)
faq search   what the FAQ answers to a question (JSON)
faq check    validate the FAQ data files
report       write a report (digest.txt, chart.png, cases.xlsx, report.docx, annex.xlsx) for a period
staff invite print a one-time code for an officer or admin (--unit, --role), redeemed with /dangky on any channel
staff list   the active staff and the ids /thuhoi and staff revoke take
staff revoke remove a staff member (or revoke an unused invite code)
demo-data    fill the database with synthetic cases (demos, benchmarks)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from bot import config as config_module
from bot import logs
from bot.app import App, load_reference_data, open_app
from bot.config import Config, ConfigError
from bot.services.faq import FaqDataError, check_entries, load_entries
from bot.services.reference import DataError
from storage import private
from storage.uow import Database

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Tiếp dân: citizens talk to local government.")
    parser.add_argument("--config", help="TOML configuration file (default: $TIEPDAN_CONFIG or ./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--log-format", choices=logs.FORMATS, default="text", help="text (default) or json lines")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the bot with the configured transports")
    console = commands.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument(
        "--as",
        dest="person",
        metavar="NAME",
        help="who you are (each name is one person; 'admin' is the console's super-admin): "
        "two terminals with two names are two people",
    )
    commands.add_parser("web", help="serve the public transparency page and Open311 API")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade", "backup"])
    db.add_argument("--out", help="backup: file or directory to write (default: var/backups/, timestamped)")
    health = commands.add_parser("health", help="check the database, outbox, updates and jobs; exit 1 if unhealthy")
    health.add_argument("--json", action="store_true", help="print JSON")
    health.add_argument(
        "--max-pending-minutes",
        type=float,
        default=15.0,
        help="unhealthy when the oldest pending outbox message is older than this (default 15)",
    )
    data = commands.add_parser("data", help="reference data")
    data.add_argument("action", choices=["load", "build-units"])
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
    report = commands.add_parser("report", help="write the report files of a period into a directory")
    report.add_argument("--period", required=True, help="2026-W48 | 2026-H1 | 2026 | 2026-01-01..2026-03-31 | tuan")
    report.add_argument("--out", help="directory for the files (default: a new folder under reports.out_dir)")
    report.add_argument(
        "--send",
        action="store_true",
        help="deliver it now to every recipient: e-mails at once, chats through the running bot's outbox",
    )
    report.add_argument("--unit", help="limit to one unit (its code in the active map)")
    staff = commands.add_parser("staff", help="officers and admins, from the server (no chat admin needed)")
    staff_actions = staff.add_subparsers(dest="action", required=True)
    invite = staff_actions.add_parser("invite", help="print a one-time code, redeemed with /dangky <code>")
    invite.add_argument("--role", required=True, help="canbo | truong | thanhtra | quantri")
    invite.add_argument("--unit", help="the unit's name or code (not for quantri)")
    staff_actions.add_parser("list", help="the active staff")
    revoke = staff_actions.add_parser("revoke", help="remove a staff member (the id staff list shows) or revoke a code")
    revoke.add_argument("target", help="user id (channel:id when several channels share it) or invite code")
    demo = commands.add_parser("demo-data", help="add synthetic cases over the past 12 months")
    demo.add_argument("--cases", type=int, required=True)
    demo.add_argument("--seed", type=int, default=1)
    oa = commands.add_parser("zalo-oa", help="Zalo Official Account")
    oa_actions = oa.add_subparsers(dest="action", required=True)
    authorize = oa_actions.add_parser(
        "authorize", help="print the OAuth v4 address to approve the app; with --code, store the tokens"
    )
    authorize.add_argument("--code", help="the code Zalo put in the callback address after approval")
    authorize.add_argument("--verifier", help="the PKCE verifier printed with the address (or set in the console)")
    return parser


def _settle_garbage_collector() -> None:
    """Tune the cyclic garbage collector for a long-running bot.

    What startup loaded (libraries, the FAQ index, catalogs) lives as long as the process:
    frozen, full collections no longer walk it. Every update allocates thousands of
    short-lived objects (ORM rows, Bot API objects), so young collections run ten times less
    often than Python's default. Together about a tenth more updates a second
    (docs/benchmarks.md, "Load").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)


async def _run(config: Config, stop: asyncio.Event | None = None) -> int:
    """Run every configured channel in this process until SIGINT/SIGTERM (or ``stop`` is set)."""
    telegram_on = bool(config.telegram.token)
    zalo_on = config.zalo.enabled and bool(config.zalo.token)
    if config.zalo.enabled and not config.zalo.token:
        log.warning("zalo.enabled is true but zalo.token is empty: Zalo is not started")
    zalo_oa_on = config.zalo_oa.enabled
    if not telegram_on and not zalo_on and not zalo_oa_on:
        log.info("no Telegram token, no enabled Zalo bot or OA configured: starting the console chat")
        return await _console(config)
    from bot.outbox import OutboxWorker
    from bot.transports.base import Sender
    from bot.transports.email import CHANNEL as EMAIL_CHANNEL
    from bot.transports.email import EmailSender
    from bot.transports.telegram import TelegramTransport
    from bot.transports.zalo import ZaloTransport
    from bot.transports.zalo_oa import ZaloOaTransport

    app = await open_app(config)
    _settle_garbage_collector()
    worker: OutboxWorker | None = None

    def wake() -> None:
        if worker is not None:
            worker.wake()

    transports: list[TelegramTransport | ZaloTransport | ZaloOaTransport] = []
    started: list[TelegramTransport | ZaloTransport | ZaloOaTransport] = []
    try:
        if telegram_on:
            transports.append(TelegramTransport(app, on_queued=wake))
        if zalo_on:
            transports.append(ZaloTransport(app, on_queued=wake))
        if zalo_oa_on:
            transports.append(ZaloOaTransport(app, on_queued=wake))
        # One worker, one sender per channel: a notification goes out on the channel its chat belongs to.
        senders: dict[str, Sender] = {t.channel: t for t in transports}
        if config.email.enabled:
            senders[EMAIL_CHANNEL] = EmailSender(config.email, config.deployment.name)
        worker = OutboxWorker(app.db, senders, app.services.clock, services=app.services)
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        from bot.scheduler import start_scheduler, stop_scheduler

        scheduler = await start_scheduler(app)
        web_page = contextlib.AsyncExitStack()
        try:
            if config.web.enabled:
                from bot.web.server import serving

                await web_page.enter_async_context(serving(app))
            for transport in transports:
                await transport.start()
                started.append(transport)
            outbox_task = asyncio.create_task(worker.run_forever(), name="outbox")
            modes = {"telegram": config.telegram.mode, "zalo": config.zalo.mode, "zalo_oa": "webhook"}
            log.info("tiepdan running on %s", ", ".join(f"{t.channel} ({modes[t.channel]})" for t in transports))
            try:
                await stop.wait()
            finally:
                outbox_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await outbox_task
        finally:
            await web_page.aclose()
            await stop_scheduler(scheduler)
    finally:
        for transport in reversed(started):
            await transport.stop()
        await app.close()
    return 0


async def _web(config: Config, stop: asyncio.Event | None = None) -> int:
    """Serve the public page alone until SIGINT/SIGTERM (or ``stop`` is set)."""
    from bot.web.server import serving

    app = await open_app(config)
    try:
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        async with serving(app):
            await stop.wait()
    finally:
        await app.close()
    return 0


async def _console(config: Config, person: str | None = None) -> int:
    from bot.transports.console import run_console

    app = await open_app(config)
    try:
        await run_console(app, person=person)
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


def _db_backup(config: Config, out: str | None) -> int:
    from storage.backup import BackupError, backup

    try:
        path = backup(config.database.url, out or None)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"backup written to {path}")
    return 0


async def _health(config: Config, as_json: bool, max_pending_minutes: float) -> int:
    from datetime import timedelta

    from bot import health

    logging.getLogger("alembic").setLevel(logging.WARNING)  # its migration-context chatter is noise here
    report = await health.check(config, max_pending_age=timedelta(minutes=max_pending_minutes))
    print(health.render(report, config.deployment.tz, json_output=as_json))
    return 0 if report.healthy else 1


async def _data_load(config: Config) -> int:
    db = Database(config.database.url)
    try:
        await db.upgrade()
        report = await load_reference_data(db, config.data_path)
    finally:
        await db.close()
    print(f"loaded {report}")
    return 0


def _data_build_units(config: Config) -> int:
    from bot.services import province_map

    try:
        text = province_map.build()
    except ImportError:
        print("error: install the data tools first: pip install -e '.[data]'", file=sys.stderr)
        return 2
    path = config.data_path / "units" / f"{province_map.PROFILE}.toml"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


def _faq_check(config: Config) -> int:
    entries = load_entries(config.data_path / "faq")
    problems = check_entries(entries)
    for problem in problems:
        print(problem)
    print(f"{len(entries)} entries, {len(problems)} problems")
    return 1 if problems else 0


async def _report(config: Config, period_text: str, out: str, unit_code: str | None) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from bot.reports import periods, service
    from bot.text import plain_text

    app = await open_app(config)
    try:
        try:
            period = periods.parse(period_text, app.services.local_now().date(), config.reports)
        except periods.PeriodError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        # Read-only, as the scheduled reports: on SQLite a deferred BEGIN, so that a long report
        # never holds the write lock while the bot runs beside it.
        async with app.db.read_only() as uow:
            unit = None
            if unit_code:
                found = await uow.units.by_code(config.deployment.units_profile, unit_code)
                if found is None or found.id is None:
                    print(f"error: no unit {unit_code} in {config.deployment.units_profile}", file=sys.stderr)
                    return 2
                unit = (found.id, found.name)
            with tqdm(desc="report", unit="case", disable=None) as bar:
                progress = _BarProgress(bar)
                bundle = await service.build(
                    uow, app.services, period, Path(out), unit=unit, case_list=True, report=True, progress=progress
                )
        digest = Path(out) / "digest.txt"
        digest.write_text(plain_text(bundle.text) + "\n", encoding="utf-8")
        private.restrict(digest)
        for path in [digest, *(path for path, _, _ in bundle.files)]:
            print(path)
    finally:
        await app.close()
    return 0


async def _report_send(config: Config, period_text: str, out: str | None, unit_code: str | None) -> int:
    """Build a report and deliver it to every configured recipient now.

    It goes through the outbox like a scheduled report (recorded, retried): the e-mails are
    sent by this command before it returns; the chats' rows wait for the running bot.
    """
    from pathlib import Path

    from bot.outbox import OutboxWorker
    from bot.reports import periods, service
    from bot.transports.email import EmailSender

    if not config.email.enabled and config.reports.emails:
        print("warning: [reports] emails is set but [email] host/from_address are not: no e-mail", file=sys.stderr)
    app = await open_app(config)
    try:
        now = app.services.clock()
        try:
            period = periods.parse(period_text, app.services.local_now().date(), config.reports)
        except periods.PeriodError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        async with app.db.read_only() as uow:
            unit = None
            if unit_code:
                found = await uow.units.by_code(config.deployment.units_profile, unit_code)
                if found is None or found.id is None:
                    print(f"error: no unit {unit_code} in {config.deployment.units_profile}", file=sys.stderr)
                    return 2
                unit = (found.id, found.name)
            chats = await service.recipients(uow, config)
            out_dir = Path(out) if out else service.run_directory(config, period, now, "manual")
            long_report = (period.end - period.start).days > 40
            bundle = await service.build(
                uow, app.services, period, out_dir, unit=unit, case_list=not long_report, report=long_report
            )
        if not chats:
            print("error: nobody to send to: no [reports] chats or emails, no district admin", file=sys.stderr)
            return 2
        async with app.db.unit_of_work() as uow:
            queued = await service.enqueue(uow, app.services, chats, bundle)
        print(f"queued {queued} messages for {len(chats)} recipients")
        if config.email.enabled:
            sender = EmailSender(config.email, config.deployment.name)
            worker = OutboxWorker(app.db, {sender.channel: sender}, app.services.clock, services=app.services)
            while await worker.run_once():
                pass
            async with app.db.read_only() as uow:
                pending = await uow.outbox.count_pending(sender.channel)
            emails = sum(1 for channel, _ in chats if channel == sender.channel)
            print(f"e-mailed {emails - pending} of {emails} recipients" + (" (the rest is retried)" if pending else ""))
    finally:
        await app.close()
    return 0


class _BarProgress:
    """Shows a report build on a tqdm bar: stages as its description, cases as its count."""

    def __init__(self, bar: object) -> None:
        self.bar: Any = bar

    def stage(self, name: str, total: int | None = None) -> None:
        self.bar.set_description(name)
        if total is not None:
            self.bar.reset(total=total)

    def advance(self, count: int) -> None:
        self.bar.update(count)


CLI_CHANNEL = "cli"  # the audit trail's channel for what the server's operator did


async def _staff_invite(config: Config, role_word: str, unit_text: str | None) -> int:
    """The operator's /moi: a super-admin's rules, a code printed for whoever will send /dangky."""
    from bot.services import staffing
    from bot.services.access import UNIT_ROLES

    role = staffing.role_of(role_word)
    if role is None:
        print("error: --role must be canbo, truong, thanhtra or quantri", file=sys.stderr)
        return 2
    app = await open_app(config)
    try:
        async with app.db.unit_of_work() as uow:
            unit = None
            if role in UNIT_ROLES:
                unit = await staffing.find_unit(uow, app.services, unit_text or "")
                if unit is None:
                    print(f"error: no unit {unit_text!r} in {config.deployment.units_profile}", file=sys.stderr)
                    return 2
            now = app.services.clock()
            try:
                invite = await staffing.create_invite(uow, role=role, unit=unit, now=now, issued_by=None)
            except staffing.InviteRefused as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            await uow.audit.record(
                channel=CLI_CHANNEL,
                actor=_operator(),
                staff_id=None,
                action="invite",
                target=invite.code,
                allowed=True,
                detail={"role": role, "unit": unit.code if unit else None},
            )
    finally:
        await app.close()
    expires = invite.expires_at.astimezone(config.deployment.tz).strftime("%Y-%m-%d %H:%M")
    print(invite.code)
    print(
        f"role {role}, unit {unit.name if unit else '(whole district)'}, one use, until {expires}: "
        f"send /dangky {invite.code} to the bot from the officer's own account (any channel)",
        file=sys.stderr,
    )
    return 0


def _operator() -> str:
    """Who ran the command, for the audit trail: the system user."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


async def _staff_list(config: Config) -> int:
    from bot.services import staffing

    app = await open_app(config)
    try:
        async with app.db.read_only() as uow:
            lines = await staffing.active_staff(uow)
    finally:
        await app.close()
    for line in lines:
        print(f"{line.id}\t{line.channel}\t{line.role}\t{line.unit or '(whole district)'}\t{line.name}")
    if not lines:
        print("no active staff", file=sys.stderr)
    return 0


async def _staff_revoke(config: Config, target: str) -> int:
    """Remove whoever the id names (as /thuhoi): the record stays, inactive; a code is revoked."""
    from bot.services import staffing

    app = await open_app(config)
    try:
        async with app.db.unit_of_work() as uow:
            now = app.services.clock()
            invite = await uow.invites.get(target.strip().upper())
            removed = []
            if invite is not None:
                invite.revoked_at = invite.revoked_at or now
                await uow.invites.save(invite)
                user = await uow.staff.get(invite.used_by) if invite.used_by is not None else None
                removed = [user] if user is not None and user.active else []
            else:
                removed = await staffing.find_active(uow, target.strip())
                if not removed:
                    print(f"error: no active staff member {target!r} (see: staff list)", file=sys.stderr)
                    return 2
                if len(removed) > 1:
                    choices = ", ".join(f"{s.channel}:{s.channel_user_id}" for s in removed)
                    print(f"error: {target!r} is on several channels, say which: {choices}", file=sys.stderr)
                    return 2
            for staff in removed:
                await staffing.deactivate(uow, staff, now)
            await uow.audit.record(
                channel=CLI_CHANNEL, actor=_operator(), staff_id=None, action="revoke", target=target, allowed=True
            )
    finally:
        await app.close()
    if invite is not None:
        print(f"revoked invite {invite.code}")
    for staff in removed:
        print(f"removed {staff.channel}:{staff.channel_user_id} ({staff.display_name or staff.role})")
    return 0


async def _demo_data(config: Config, cases: int, seed: int) -> int:
    from tqdm import tqdm

    from bot.reports import demo

    app = await open_app(config)
    try:
        with tqdm(total=cases, desc="demo cases", unit="case", disable=None) as bar:
            report = await demo.generate(app, cases, seed, progress=bar.update)
    finally:
        await app.close()
    print(f"added {report}")
    return 0


async def _zalo_oa_authorize(config: Config, code: str | None, verifier: str | None) -> int:
    """Step 1 (no code): print the approval address and the PKCE verifier. Step 2: exchange the code."""
    import secrets

    import aiohttp

    from bot.services.container import system_clock
    from bot.transports.zalo_oa_tokens import (
        OAuthClient,
        OAuthRefused,
        TokenKeeper,
        authorization_url,
        pkce_challenge,
        pkce_pair,
    )

    oa = config.zalo_oa
    for key in ("app_id", "app_secret", "redirect_uri"):
        if not getattr(oa, key):
            raise ConfigError(f"zalo_oa.{key}: empty (see docs/zalo-oa.md)")
    if code is None:
        if verifier is None:
            verifier, challenge = pkce_pair()
        else:
            challenge = pkce_challenge(verifier)
        print("1. Open this address as an administrator of the OA and approve the app:")
        print(f"   {authorization_url(oa, challenge, secrets.token_urlsafe(12))}")
        print("2. Zalo then opens the callback address with ?code=...; within 10 minutes run:")
        print(f"   python -m bot zalo-oa authorize --code <the code> --verifier {verifier}")
        return 0
    if not verifier:
        raise ConfigError("zalo-oa authorize: --verifier is needed with --code (the one printed with the address)")
    db = Database(config.database.url)
    try:
        await db.upgrade()
        async with aiohttp.ClientSession() as session:
            try:
                pair = await OAuthClient(oa, lambda: session).authorize(code, verifier)
            except OAuthRefused as exc:
                print(f"error: Zalo refused the code ({exc}); start again from step 1", file=sys.stderr)
                return 1
        await TokenKeeper(db, oa, system_clock, OAuthClient(oa, lambda: session)).store(pair)
    finally:
        await db.close()
    print("the OA's tokens are stored; the bot refreshes them from now on")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # Whatever the bot and its commands write (the database, reports, exports, backups) holds
    # personal data: readable by this user only, whatever umask the shell or service gave us.
    os.umask(0o077)
    args = _parser().parse_args(argv)
    logs.setup(args.log_format, verbose=args.verbose)
    try:
        config = config_module.load(args.config)
        if args.command == "run":
            return asyncio.run(_run(config))
        if args.command == "console":
            return asyncio.run(_console(config, args.person))
        if args.command == "web":
            return asyncio.run(_web(config))
        if args.command == "db" and args.action == "backup":
            return _db_backup(config, args.out)
        if args.command == "db":
            return asyncio.run(_db_upgrade(config))
        if args.command == "health":
            return asyncio.run(_health(config, args.json, args.max_pending_minutes))
        if args.command == "data" and args.action == "build-units":
            return _data_build_units(config)
        if args.command == "data":
            return asyncio.run(_data_load(config))
        if args.command == "route":
            return asyncio.run(_with_app(config, "route", args.text))
        if args.command == "faq" and args.action == "search":
            return asyncio.run(_with_app(config, "faq-search", args.text, args.limit))
        if args.command == "faq" and args.action == "check":
            return _faq_check(config)
        if args.command == "report":
            if args.send:
                return asyncio.run(_report_send(config, args.period, args.out, args.unit))
            if not args.out:
                print("error: --out DIR is needed (or --send)", file=sys.stderr)
                return 2
            return asyncio.run(_report(config, args.period, args.out, args.unit))
        if args.command == "staff" and args.action == "invite":
            return asyncio.run(_staff_invite(config, args.role, args.unit))
        if args.command == "staff" and args.action == "list":
            return asyncio.run(_staff_list(config))
        if args.command == "staff" and args.action == "revoke":
            return asyncio.run(_staff_revoke(config, args.target))
        if args.command == "demo-data":
            return asyncio.run(_demo_data(config, args.cases, args.seed))
        if args.command == "zalo-oa":
            return asyncio.run(_zalo_oa_authorize(config, args.code, args.verifier))
    except (ConfigError, DataError, FaqDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2
