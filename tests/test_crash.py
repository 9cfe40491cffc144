"""Crash tests: the bot killed at seeded points, restarted, and checked for lost or doubled work.

The bot runs as a separate process against the fake Bot API, with ``TIEPDAN_CRASH_AT`` set to a
seeded crash point (see :mod:`bot.crashpoints`): it dies with ``os._exit(137)``, as with
SIGKILL, the n-th time it passes that point, and is started again with the next point. One long
scenario runs across all those lives:

1. at the first start a weekly digest is due (the scheduler was "installed" eight days ago): it
   is built and fanned out through the outbox to ten recipients (text, chart, spreadsheet each);
   the first life dies just before the digest's commit, the second just after it;
2. then, over and over, a citizen files a petition (intake) and the unit's officer accepts it
   (an officer action whose notice reaches the citizen through the outbox).

A citizen who gets no answer does what a person would: cancels with /huy and starts again, with
a new text. When the kill budget is spent, a last life without a crash point delivers whatever
is left and stops cleanly. Then:

* every update the fake queued was acknowledged and is in ``processed_updates`` (none lost);
* every submission is at most one case, and every case a citizen was told about ("Đã tiếp
  nhận" with its code) exists exactly once, with that citizen's text; no confirmation twice;
* every outbox row is sent, and reached its chat; a chat got it more often than it was queued
  only by as many kills as caught that very row on its way (from its request leaving to the
  commit that records it; the crash log names them): the one window where at-least-once is the
  physical limit (docs/reliability.md);
* the digest has one ``report_runs`` row and reached each recipient once (same exception).

The normal suite kills the bot ``KILLS`` times per database, forking it from a warm interpreter
(:mod:`tests.bot_forkserver`) to keep within CI's time; ``-m slow`` runs ``SLOW_KILLS`` more per
database the same way, and ``SLOW_REAL_KILLS`` with real ``python -m bot`` processes.
``TIEPDAN_CRASH_SEED`` replays another seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.transports.base import split_text
from storage.models import Case, OutboxMessage, ProcessedUpdate, ReportRun, Staff
from storage.uow import Database
from tests.conftest import ROOT
from tests.fakes.telegram_api import FakeTelegram, SentMessage

KILLS = 25  # per database, normal suite
SLOW_KILLS = 200  # per database, -m slow, forked lives
SLOW_REAL_KILLS = 30  # per database, -m slow, real `python -m bot` processes
CITIZENS = (3101, 3102, 3103)
OFFICER = 7003  # an officer of Xã Mỹ Hòa, where every petition is filed
ADMIN = 900001
RECIPIENTS = tuple(range(8001, 8011))  # the digest's extra recipients
DIGEST_KILLS = 6  # at most this many of the kills during the digest fan-out
TIMEOUT = 60.0  # seconds any one expected thing may take, restarts included

DIGEST_POINTS = ("report.flushed", "report.committed", "outbox.sending", "outbox.sent", "outbox.recorded")
CYCLE_POINTS = (
    "telegram.received",
    "telegram.committed",
    "telegram.sent",
    "telegram.replied",
    "outbox.sending",
    "outbox.sent",
    "outbox.recorded",
)
CODE = re.compile(r"CN-\d{4}-\d{5}")


# ------------------------------------------------------------------ starting and killing the bot


class Launcher:
    """Starts one bot process at a time and reports how it ended."""

    async def start(self, env: dict[str, str], log: Path) -> None:
        raise NotImplementedError

    async def ended(self) -> int:
        """The exit code of the current process (negative: killed by that signal)."""
        raise NotImplementedError

    def signal(self, number: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class ForkLauncher(Launcher):
    """Forks bot processes from :mod:`tests.bot_forkserver` (imports paid once)."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.server: asyncio.subprocess.Process | None = None
        self.pid = 0
        self._exit: asyncio.Future[int] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pids: asyncio.Queue[int] = asyncio.Queue()

    async def _open(self) -> None:
        self.server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.bot_forkserver",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        assert self.server.stdout is not None
        ready = json.loads(await asyncio.wait_for(self.server.stdout.readline(), timeout=120))
        assert ready == {"ready": True}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.server is not None and self.server.stdout is not None
        while line := await self.server.stdout.readline():
            message = json.loads(line)
            if "pid" in message:
                self._pids.put_nowait(int(message["pid"]))
            elif "exit" in message and self._exit is not None and not self._exit.done():
                self._exit.set_result(int(message["code"]))

    async def start(self, env: dict[str, str], log: Path) -> None:
        if self.server is None:
            await self._open()
        assert self.server is not None and self.server.stdin is not None
        self._exit = asyncio.get_running_loop().create_future()
        request = {"argv": ["--config", str(self.config), "run"], "env": env, "log": str(log)}
        self.server.stdin.write((json.dumps(request) + "\n").encode())
        await self.server.stdin.drain()
        self.pid = await asyncio.wait_for(self._pids.get(), timeout=30)

    async def ended(self) -> int:
        assert self._exit is not None
        return await self._exit

    def signal(self, number: int) -> None:
        if self._exit is not None and not self._exit.done():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    async def close(self) -> None:
        if self.server is None:
            return
        if self._exit is not None and not self._exit.done():
            self.signal(signal.SIGKILL)
            await self.ended()
        assert self.server.stdin is not None
        self.server.stdin.close()
        await self.server.wait()
        if self._reader is not None:
            await self._reader


class ExecLauncher(Launcher):
    """Starts ``python -m bot --config ... run`` for each life, as production does."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, env: dict[str, str], log: Path) -> None:
        with log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(self.config),
                "run",
                cwd=ROOT,
                env=dict(os.environ, PYTHONUNBUFFERED="1", **env),
                stdout=output,
                stderr=output,
                stdin=asyncio.subprocess.DEVNULL,
            )

    async def ended(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    def signal(self, number: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(number)

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@dataclass
class Kill:
    point: str
    detail: str
    in_flight: frozenset[int]  # outbox messages a kill at this moment may repeat


class Died(Exception):
    """The bot process ended; the scenario restarts it and carries on."""


@dataclass
class CrashingBot:
    """The bot under test: whenever it dies, started again with the next seeded crash point."""

    tg: FakeTelegram
    db: Database
    launcher: Launcher
    workdir: Path
    rng: random.Random
    kills_wanted: int
    phase: str = "digest"
    kills: list[Kill] = field(default_factory=list)
    lives: int = 0
    forced: int = 0  # lives ended from outside because their point could no longer be reached
    spec: str | None = None
    _ended: asyncio.Task[int] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "bot.log"

    @property
    def crash_log(self) -> Path:
        return self.workdir / "crashes.tsv"

    async def _next_spec(self) -> str | None:
        """A seeded crash point that this life will reach in the phase the scenario is in."""
        if self.phase == "final" or len(self.kills) >= self.kills_wanted:
            return None
        if self.phase == "digest" and len(self.kills) < DIGEST_KILLS:
            async with self.db.unit_of_work() as uow:
                committed = await uow.reports.find("weekly", _digest_period()) is not None
                pending = await uow.outbox.count("pending")
            if not committed:
                # Die once before and once right after the digest's commit, then at random.
                firsts = [point for point in DIGEST_POINTS[:2] if point not in {k.point for k in self.kills}]
                point = firsts[0] if firsts else self.rng.choice(DIGEST_POINTS[2:])
                return f"{point}:{1 if point.startswith('report.') else self.rng.randint(1, 30)}"
            if pending:
                point = self.rng.choice(DIGEST_POINTS[2:])
                return f"{point}:{self.rng.randint(1, pending)}"
        point = self.rng.choice(CYCLE_POINTS)
        return f"{point}:{self.rng.randint(1, 8 if point.startswith('telegram.') else 2)}"

    async def force_restart(self) -> None:
        """End a life whose crash point the scenario no longer passes, and start the next one."""
        assert self._ended is not None
        self.launcher.signal(signal.SIGKILL)
        code = await self._ended
        if code == 137:  # it fired after all, just now
            await self._restart_after(code)
            return
        assert code == -signal.SIGKILL, f"the bot exited with {code}\n{self.log_tail()}"
        self.forced += 1
        await self.start()

    async def start(self) -> None:
        self.spec = await self._next_spec()
        env = {"TIEPDAN_CRASH_LOG": str(self.crash_log)}
        if self.spec is not None:
            env["TIEPDAN_CRASH_AT"] = self.spec
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"--- life {self.lives + 1}: crash point {self.spec}\n")
        await self.launcher.start(env, self.log)
        self.lives += 1
        self._ended = asyncio.create_task(self.launcher.ended())

    async def _restart_after(self, code: int) -> None:
        if code != 137:
            raise AssertionError(f"the bot exited with {code} (crash point {self.spec})\n{self.log_tail()}")
        lines = self.crash_log.read_text(encoding="utf-8").splitlines() if self.crash_log.exists() else []
        assert len(lines) == len(self.kills) + 1, f"exit 137 without a crash point record\n{self.log_tail()}"
        point, _count, detail, window = lines[-1].split("\t")
        self.kills.append(Kill(point, detail, frozenset(int(i) for i in window.split(",") if i)))
        await self.start()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def until(self, check: Callable[[], Awaitable[bool]], what: str, timeout: float = TIMEOUT) -> None:
        """Wait for ``check`` to hold, restarting the bot each time it dies meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            assert self._ended is not None
            if self._ended.done():
                await self._restart_after(self._ended.result())
                deadline = loop.time() + timeout
                continue
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what} (crash point {self.spec})\n{self.log_tail()}")
            # Re-check on the bot's next Bot API call (or after 0.1 s, for what only the database shows).
            changed = asyncio.ensure_future(self._next_call(len(self.tg.calls)))
            await asyncio.wait({changed, self._ended}, return_when=asyncio.FIRST_COMPLETED)
            changed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await changed

    async def _next_call(self, seen: int) -> None:
        with contextlib.suppress(AssertionError):
            await self.tg.wait_until(lambda: len(self.tg.calls) != seen, timeout=0.1)

    async def exchange(self, user: int, send: Callable[[], Awaitable[int]]) -> list[SentMessage]:
        """Send an update and return what the bot sent to the chat until it acknowledged it."""
        before = len(self.tg.events(user))
        update_id = await send()

        async def acknowledged() -> bool:
            return self.tg.is_confirmed(update_id)

        await self.until(acknowledged, f"the acknowledgement of update {update_id}")
        return [event.message for event in self.tg.events(user)[before:] if event.kind == "sent"]

    async def stop(self) -> None:
        """A clean stop (SIGTERM) of the last life."""
        assert self._ended is not None
        self.launcher.signal(signal.SIGTERM)
        code = await asyncio.wait_for(asyncio.shield(self._ended), timeout=30)
        assert code == 0, f"the bot stopped with {code}\n{self.log_tail()}"


# ------------------------------------------------------------------ the scenario


@dataclass
class Attempt:
    citizen: int
    token: str
    code: str | None = None  # the code the citizen was told


@dataclass
class Scenario:
    bot: CrashingBot
    db: Database
    attempts: list[Attempt] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    counter: int = 0

    @property
    def tg(self) -> FakeTelegram:
        return self.bot.tg

    async def outbox_settled(self) -> bool:
        async with self.db.unit_of_work() as uow:
            return await uow.outbox.count("pending") == 0

    async def settled(self) -> bool:
        queued = [int(update["update_id"]) for update in self.tg.updates]
        return all(self.tg.is_confirmed(u) for u in queued) and await self.outbox_settled()

    async def digest_delivered(self) -> bool:
        async with self.db.unit_of_work() as uow:
            run = await uow.reports.find("weekly", _digest_period())
        return run is not None and await self.outbox_settled()

    def _text(self, user: int, label: str) -> Callable[[], Awaitable[int]]:
        return lambda: self.tg.send_text(user, label)

    def _press(self, user: int, message: SentMessage, label: str) -> Callable[[], Awaitable[int]]:
        return lambda: self.tg.press(user, message, label)

    async def _cancel(self, citizen: int) -> None:
        """What a person does when the bot stopped answering: /huy until it answers."""
        for _ in range(10):
            replies = await self.bot.exchange(citizen, self._text(citizen, "/huy"))
            if any("hủy" in (m.plain_text or "").lower() or "đang làm dở" in (m.plain_text or "") for m in replies):
                return
        raise AssertionError(f"/huy never answered\n{self.tg.transcript(citizen)}")

    async def file_petition(self, citizen: int) -> str:
        """File one petition, starting over after every lost answer; return the code told."""
        while True:
            self.counter += 1
            attempt = Attempt(citizen, f"mã-{self.counter:04d}")
            self.attempts.append(attempt)
            code = await self._attempt(attempt)
            if code is not None:
                attempt.code = code
                return code
            await self._cancel(citizen)

    async def _attempt(self, attempt: Attempt) -> str | None:
        user = attempt.citizen
        replies = await self.bot.exchange(user, self._text(user, "/phananh"))
        consent = _with_button(replies, "✅ Tôi đồng ý")
        if consent is not None:
            replies = await self.bot.exchange(user, self._press(user, consent, "✅ Tôi đồng ý"))
        steps: list[tuple[str, str | None]] = [
            ("Phản ánh", None),
            ("Xã Mỹ Hòa", None),
            ("✅ Xong", f"Đèn đường ấp Bến Có tắt cả tuần, {attempt.token}"),
            ("✅ Xong", None),
            ("⏭ Bỏ qua", None),
            ("📨 Gửi", None),
        ]
        for label, typed in steps:
            message = _with_button(replies, label)
            if message is None:
                return None
            if typed is not None:
                replies = await self.bot.exchange(user, self._text(user, typed))
                continue
            replies = await self.bot.exchange(user, self._press(user, message, label))
        received = next((m for m in replies if "Đã tiếp nhận" in (m.plain_text or "")), None)
        found = CODE.search(received.plain_text or "") if received is not None else None
        return found.group(0) if found else None

    async def officer_accepts(self, code: str) -> None:
        def notice() -> SentMessage | None:
            return next((m for m in self.tg.messages(OFFICER) if f"Hồ sơ mới {code}" in (m.plain_text or "")), None)

        async def notified() -> bool:
            return notice() is not None

        await self.bot.until(notified, f"the officer's notice of {code}")
        found = notice()
        assert found is not None
        for _ in range(10):
            replies = await self.bot.exchange(OFFICER, self._press(OFFICER, found, "✅ Thụ lý"))
            if any(f"Đã thụ lý {code}" in (m.plain_text or "") for m in replies):
                break
            async with self.db.unit_of_work() as uow:
                case = await uow.cases.by_code(code)
            assert case is not None
            if case.status == "accepted":
                break  # done before the kill; only the answer was lost
        else:
            raise AssertionError(f"{code} was never accepted\n{self.tg.transcript(OFFICER)}")

        async def citizen_told() -> bool:
            return any(code in (m.plain_text or "") and "thụ lý" in (m.plain_text or "") for m in self._all_sent())

        await self.bot.until(citizen_told, f"the citizen's notice that {code} was accepted")
        self.accepted.append(code)

    def _all_sent(self) -> list[SentMessage]:
        return [m for citizen in CITIZENS for m in self.tg.messages(citizen)]


def _with_button(messages: list[SentMessage], label: str) -> SentMessage | None:
    return next((m for m in reversed(messages) if label in m.button_labels()), None)


def _digest_period() -> str:
    from bot.config import Config
    from bot.reports.service import occurrence

    return occurrence("weekly", datetime.now(UTC), Config()).period.key


# ------------------------------------------------------------------ setting up and checking


def _month_day(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).strftime("%m-%d").replace("02-29", "02-28")


def _write_config(path: Path, database_url: str, tg: FakeTelegram, workdir: Path) -> Path:
    """Only the weekly digest falls due: the statutory reports' dates are before the install."""
    chats = ", ".join(f'"telegram:{chat}"' for chat in RECIPIENTS)
    path.write_text(
        f"""
[deployment]
data_dir = "{ROOT / "data"}"
[database]
url = "{database_url}"
[telegram]
token = "{tg.token}"
base_url = "{tg.base_url}"
[admins]
telegram_ids = [{ADMIN}]
[dialog]
rate_limit_messages = 0
[outbox]
messages_per_second = 200
chat_interval_seconds = 0.02
[reports]
chats = [{chats}]
out_dir = "{workdir / "reports"}"
half_year_due = "{_month_day(40)}"
annual_due = "{_month_day(80)}"
""",
        encoding="utf-8",
    )
    return path


async def _seed(db: Database) -> None:
    """An officer for Xã Mỹ Hòa, and a scheduler installed eight days ago (so a digest is due)."""
    async with db.unit_of_work() as uow:
        [unit] = [u for u in await uow.units.in_profile("caungang-2022") if u.name == "Xã Mỹ Hòa"]
        uow.session.add(
            Staff(
                channel="telegram",
                channel_user_id=str(OFFICER),
                chat_id=str(OFFICER),
                display_name="Cán bộ Mỹ Hòa",
                role="officer",
                unit_id=unit.id,
            )
        )
        installed = datetime.now(UTC) - timedelta(days=8)
        await uow.reports.save(
            ReportRun(kind="scheduler", period="installed", status="installed", created_at=installed)
        )


def _row_key(row: OutboxMessage) -> tuple[int, str]:
    """What the chat sees of an outbox row: the first piece of its text, or its caption."""
    return int(row.chat_id), split_text(row.payload["text"], 4096)[0][:1000]


def _sent_key(message: SentMessage) -> tuple[int, str]:
    return message.chat_id, (message.text if message.text is not None else message.caption) or ""


async def _check(scenario: Scenario) -> dict[str, int]:
    bot, tg, db = scenario.bot, scenario.tg, scenario.db
    async with db.unit_of_work() as uow:
        processed = {row.update_id for row in (await uow.session.exec(select(ProcessedUpdate))).all()}
        cases = list((await uow.session.exec(select(Case))).all())
        rows = list((await uow.session.exec(select(OutboxMessage))).all())
        runs = list((await uow.session.exec(select(ReportRun).where(ReportRun.kind == "weekly"))).all())

    # No update lost: each was acknowledged, and handled (claimed) once.
    queued = [int(update["update_id"]) for update in tg.updates]
    assert all(tg.is_confirmed(update_id) for update_id in queued)
    assert {str(update_id) for update_id in queued} <= processed

    # Every submission is at most one case; every case a citizen was told about exists once.
    for attempt in scenario.attempts:
        matching = [case for case in cases if attempt.token in case.description]
        assert len(matching) <= 1, f"{attempt.token} was filed {len(matching)} times"
        if attempt.code is not None:
            assert [case.code for case in matching] == [attempt.code]
            assert matching[0].chat_id == str(attempt.citizen)
    assert all(any(a.token in case.description for a in scenario.attempts) for case in cases)
    for citizen in CITIZENS:
        told = Counter(
            found.group(0)
            for m in tg.messages(citizen)
            if "Đã tiếp nhận" in (m.plain_text or "") and (found := CODE.search(m.plain_text or ""))
        )
        assert all(count == 1 for count in told.values()), told
    accepted = {case.code for case in cases if case.status == "accepted"}
    assert set(scenario.accepted) <= accepted

    # Every outbox row reached its chat; twice only when killed in the window with that row in flight.
    assert {row.status for row in rows} == {"sent"}
    expected = Counter(_row_key(row) for row in rows)
    seen = Counter((chat, text[:1000]) for chat, text in map(_sent_key, _all_sent_messages(tg)))
    # Each kill may repeat each message it caught in flight once (the same one, if killed twice).
    by_id = {row.id: row for row in rows}
    window_keys = Counter(_row_key(by_id[i]) for kill in bot.kills for i in kill.in_flight if i in by_id)
    duplicates = 0
    for key, count in expected.items():
        got = seen.get(key, 0)
        assert got >= count, f"outbox message to {key[0]} never arrived: {key[1][:80]!r}"
        assert got <= count + window_keys.get(key, 0), f"sent {got} times, queued {count}: {key[1][:80]!r}"
        duplicates += got - count

    # The digest: one run, one copy per recipient (unless that very message was in the window).
    assert [(run.status, run.period) for run in runs] == [("sent", _digest_period())]
    digest_rows = [row for row in rows if row.chat_id == str(RECIPIENTS[0])]
    assert len(digest_rows) == 3, [row.payload.get("file_kind") for row in digest_rows]
    return {
        "lives": bot.lives,
        "kills": len(bot.kills),
        "updates": len(queued),
        "cases": len(cases),
        "outbox": len(rows),
        "forced_restarts": bot.forced,
        "duplicates": duplicates,
        "may_repeat": sum(window_keys.values()),
    }


def _all_sent_messages(tg: FakeTelegram) -> list[SentMessage]:
    chats = {*CITIZENS, OFFICER, ADMIN, *RECIPIENTS}
    return [event.message for chat in chats for event in tg.events(chat) if event.kind == "sent"]


@contextlib.asynccontextmanager
async def _crashing_bot(
    database_url: str, tmp_path: Path, tg: FakeTelegram, *, kills: int, fork: bool, seed: str
) -> AsyncIterator[Scenario]:
    config = _write_config(tmp_path / "config.toml", database_url, tg, tmp_path)
    db = Database(database_url)
    await _seed(db)
    launcher: Launcher = ForkLauncher(config) if fork else ExecLauncher(config)
    bot = CrashingBot(tg, db, launcher, tmp_path, random.Random(seed), kills)
    try:
        await bot.start()
        yield Scenario(bot, db)
    finally:
        await launcher.close()
        await db.close()


async def _run(database_url: str, tmp_path: Path, *, kills: int, fork: bool, seed: str) -> dict[str, int]:
    async with (
        FakeTelegram() as tg,
        _crashing_bot(database_url, tmp_path, tg, kills=kills, fork=fork, seed=seed) as scenario,
    ):
        bot = scenario.bot
        await bot.until(scenario.digest_delivered, "the digest fan-out")
        bot.phase = "cycles"
        if bot.spec is not None and not bot.spec.startswith(CYCLE_POINTS):
            await bot.force_restart()
        turn = 0
        life, since = bot.lives, 0
        while len(bot.kills) < kills:
            code = await scenario.file_petition(CITIZENS[turn % len(CITIZENS)])
            await scenario.officer_accepts(code)
            turn += 1
            life, since = bot.lives, (since + 1 if bot.lives == life else 0)
            if since >= 3 and bot.spec is not None:
                await bot.force_restart()
        # The budget is spent, so the life started after the last kill has no crash point: it
        # delivers what is left, then stops cleanly.
        assert bot.spec is None
        await bot.until(scenario.settled, "everything delivered and acknowledged")
        await bot.stop()
        stats = await _check(scenario)
        points = Counter(kill.point for kill in bot.kills)
        print(f"\ncrash test seed={seed}: {stats}; kill points: {dict(sorted(points.items()))}")
        return stats


def _seed_for(backend: str) -> str:
    return os.environ.get("TIEPDAN_CRASH_SEED", f"tiepdan-crash-{backend}")


async def test_kills_at_seeded_points_lose_and_double_nothing(database_url: str, backend: str, tmp_path: Path) -> None:
    stats = await _run(database_url, tmp_path, kills=KILLS, fork=True, seed=_seed_for(backend))
    assert stats["kills"] >= KILLS


@pytest.mark.slow
async def test_many_more_kills(database_url: str, backend: str, tmp_path: Path) -> None:
    stats = await _run(database_url, tmp_path, kills=SLOW_KILLS, fork=True, seed=_seed_for(backend) + "-many")
    assert stats["kills"] >= SLOW_KILLS


@pytest.mark.slow
async def test_kills_with_real_processes(database_url: str, backend: str, tmp_path: Path) -> None:
    stats = await _run(database_url, tmp_path, kills=SLOW_REAL_KILLS, fork=False, seed=_seed_for(backend) + "-real")
    assert stats["kills"] >= SLOW_REAL_KILLS
