"""Load benchmark of the bot as it runs in production, against a bare python-telegram-bot echo bot.

Run from the repository root:

    .venv/bin/python bench/load_bench.py [--repeats 3] [--citizens 200] [--rate 50,10] [--open-seconds 60]
                                         [--fanout 10000] [--fanout-postgresql 3000] [--targets ...] [--json PATH]
    .venv/bin/python bench/load_bench.py --quick      # small numbers, about a minute (smoke run)

This process hosts the loopback fake Bot API (tests/fakes/telegram_api.py) and plays the
citizens on it; each bot is a separate process polling it over HTTP, exactly as in production:
``python -m bot --config <tmp> run`` (SQLite in a temporary directory, then PostgreSQL on
$TIEPDAN_TEST_POSTGRES_URL's server, default postgresql://postgres@127.0.0.1:5432/test, in a
database of its own that is dropped afterwards), and ``bench/echo_bot.py``, a bare PTB
``Application`` that echoes texts and answers button presses: the ceiling, with PTB's defaults
(updates one after the other) and with ``concurrent_updates``.

A citizen files a petition the way a person does: /start, consent, "Gửi phản ánh" on the menu,
the type, the commune typed without accents, a description, "Xong", skips the phone number,
"Gửi", then asks 2-3 questions from tests/data/faq_eval.tsv (11-12 updates). Each step waits
for the bot's last reply to the previous one; the echo bots get the same sequence of texts and
button presses. Latency runs from the moment an update is queued at the fake to the moment the
fake accepted the bot's last reply to it (both on this process's monotonic clock).

Per repetition and per bot (echo bots, tiepdan on SQLite, on PostgreSQL; a fresh database
each time, copied from a template that ``python -m bot data load`` made):

* a few citizens to warm the process up (not counted);
* closed loop: ``--citizens`` citizens at once, each going through its steps as fast as the bot
  answers; throughput = updates / (last reply - first send), latency percentiles, and the CPU
  time the bot process used per update (Linux /proc);
* open loop, for each ``--rate``: that many updates a second on a fixed schedule for
  ``--open-seconds``, spread over ``--citizens`` citizens taking turns (a citizen who finishes
  starts again as a new one), so the bot sees a steady offered load whatever its speed.

Afterwards every case code a citizen was told must be in the database. Then, once per
database, the fan-out: ``--fanout`` (SQLite) / ``--fanout-postgresql`` notices to distinct
chats are queued with ``bot.services.notify.enqueue`` before the bot starts, and its outbox
worker delivers them; the fake's timestamps give the most messages in any one-second window
(the limit is [outbox] messages_per_second, 30) and the time from the first to the last
message against the shortest time that keeps to 30 a second. Prints Markdown tables (medians
over the repetitions, ratios to the echo bots of the same repetition).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import dataclasses
import itertools
import json
import math
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dialog.catalog import Catalog  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram, SentMessage, max_in_window  # noqa: E402

EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"
ECHO_BOT = ROOT / "bench" / "echo_bot.py"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TOKEN = "123456:TEST"
STEP_TIMEOUT = 60.0  # seconds a citizen waits for a reply before giving up on the bot
START_TIMEOUT = 180.0  # seconds a bot process gets to start polling
STOP_TIMEOUT = 20.0
FANOUT_RATE = 30.0  # [outbox] messages_per_second, the default
FANOUT_FIRST_CHAT = 700_000_000
TARGETS = ("echo", "echo-concurrent", "sqlite", "postgresql")
NAMES = {
    "echo": "PTB echo bot, PTB defaults (the ceiling)",
    "echo-concurrent": "PTB echo bot, concurrent_updates",
    "sqlite": "tiepdan, SQLite",
    "postgresql": "tiepdan, PostgreSQL",
}
BOT_COMMAND = ["-m", "bot"]  # --bot-script replaces it (profiling, experiments)
COMMUNES = (
    "my hoa",
    "vinh kim",
    "kim hoa",
    "hiep hoa",
    "thuan hoa",
    "long son",
    "nhi truong",
    "truong tho",
    "hiep my dong",
    "hiep my tay",
    "thanh hoa son",
    "my long bac",
    "my long nam",
)
DESCRIPTIONS = (
    "Đèn đường trước chợ xã tắt cả tuần nay, buổi tối rất tối, đề nghị sửa giúp.",
    "Bãi rác tự phát bên bờ kênh ấp Sóc Chuối bốc mùi, ruồi nhặng nhiều.",
    "Đường đal vào ấp bị sụt lún một đoạn dài, xe máy đi ngang rất nguy hiểm.",
    "Nhà bên cạnh mở loa karaoke tới khuya, nhiều lần nhắc mà không giảm.",
    "Cống thoát nước trước trường tiểu học bị nghẹt, mưa xuống ngập cả sân.",
    "Trụ điện nghiêng sắp đổ cạnh nhà văn hóa ấp, xin kiểm tra gấp.",
)


# --------------------------------------------------------------------------------------------
# The fake Bot API, with a mailbox per chat
# --------------------------------------------------------------------------------------------


class Mailbox:
    """What the bot sent to one chat, and when it answered the chat's button presses."""

    def __init__(self) -> None:
        self.messages: list[SentMessage] = []
        self.answers: list[float] = []  # monotonic times of answerCallbackQuery
        self._changed = asyncio.Event()

    def changed(self) -> None:
        self._changed.set()

    async def wait(self, ready: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``ready()`` holds (re-checked at every change of this chat); False after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True


class LoadFake(FakeTelegram):
    """The fake Bot API, telling each chat's mailbox about what arrives (no fake-wide wake-ups)."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.mailboxes: dict[int, Mailbox] = {}
        self.sent_log: list[tuple[float, int]] = []  # (fake's monotonic time, chat id) of every send
        self.polls = 0  # getUpdates calls so far

    def mailbox(self, chat_id: int) -> Mailbox:
        box = self.mailboxes.get(chat_id)
        if box is None:
            box = self.mailboxes[chat_id] = Mailbox()
        return box

    def _record(self, chat_id: int, kind: str, message: SentMessage) -> None:
        super()._record(chat_id, kind, message)
        if kind == "sent":
            self.sent_log.append((message.sent_at, chat_id))
            box = self.mailboxes.get(chat_id)
            if box is not None:
                box.messages.append(self._events[chat_id][-1].message)
                box.changed()

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        result = super()._answer_callback_query(params)
        box = self.mailboxes.get(int(self.callback_answers[-1]["chat_id"]))
        if box is not None:
            box.answers.append(time.monotonic())
            box.changed()
        return result

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.polls += 1
        return await super()._get_updates(params)

    def forget(self, chat_ids: Sequence[int]) -> None:
        """Drop what was kept for finished chats (messages, transcripts), so memory stays flat."""
        gone = set(chat_ids)
        for chat_id in gone:
            self.mailboxes.pop(chat_id, None)
            for store in (self._chats, self._events, self._transcripts, self._send_times):
                store.pop(chat_id, None)  # type: ignore[attr-defined]
        self._by_id = {key: value for key, value in self._by_id.items() if key[0] not in gone}


# --------------------------------------------------------------------------------------------
# Citizens
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    action: str  # "text" (typed, commands included) or "press" (an inline button)
    value: str  # the text, or the button's label
    replies: int  # messages tiepdan sends for it; the last one ends the step
    expect: str = ""  # a text one of those replies must hold


@dataclasses.dataclass(frozen=True)
class Sample:
    sent: float  # monotonic: the update was queued
    replied: float  # monotonic: the fake accepted the bot's last reply to it
    late: float = 0.0  # open loop: how long after its scheduled time the update was sent

    @property
    def latency_ms(self) -> float:
        return (self.replied - self.sent) * 1000


def faq_queries() -> list[str]:
    queries: list[str] = []
    with EVAL.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 2 and row[0].strip() and not row[0].startswith("#") and row[0] != "query":
                queries.append(row[0].strip())
    return queries


class Scripts:
    """The steps of one citizen: a petition, then two or three FAQ questions."""

    def __init__(self, seed: int) -> None:
        catalog = Catalog.load(default="vi")

        def label(key: str) -> str:
            return str(catalog.text("vi", key))

        self.labels = {
            key: label(key)
            for key in (
                "consent.yes",
                "menu.petition",
                "case_type.phan_anh",
                "petition.done_button",
                "petition.skip_button",
                "petition.send_button",
            )
        }
        self.queries = faq_queries()
        self.rng = random.Random(seed)

    def next(self) -> list[Step]:
        rng, labels = self.rng, self.labels
        steps = [
            Step("text", "/start", 2),
            Step("press", labels["consent.yes"], 2),
            Step("press", labels["menu.petition"], 1),
            Step("press", labels["case_type.phan_anh"], 1),
            Step("text", rng.choice(COMMUNES), 2),
            Step("text", rng.choice(DESCRIPTIONS), 1),
            Step("press", labels["petition.done_button"], 1),
            Step("press", labels["petition.skip_button"], 1),
            Step("press", labels["petition.send_button"], 2, expect="CN-"),
        ]
        steps += [Step("text", query, 1) for query in rng.sample(self.queries, rng.choice((2, 3)))]
        return steps


class StepFailed(Exception):
    """The bot did not answer a step as a citizen expects (or not in time)."""


class Citizen:
    """One person in one chat, going through a script; ``echo`` plays it against the echo bot."""

    def __init__(self, fake: LoadFake, user_id: int, steps: list[Step], *, echo: bool) -> None:
        self.fake = fake
        self.user_id = user_id
        self.steps = steps
        self.echo = echo
        self.box = fake.mailbox(user_id)
        self.position = 0
        self.filed = False

    @property
    def finished(self) -> bool:
        return self.position >= len(self.steps)

    async def step(self, late: float = 0.0) -> Sample:
        """Send the next step and wait for the bot's last reply to it."""
        step = self.steps[self.position]
        self.position += 1
        box, fake, user = self.box, self.fake, self.user_id
        seen = len(box.messages)
        if self.echo:
            answered = len(box.answers)
            sent = time.monotonic()
            if step.action == "text":
                await fake.send_text(user, step.value)
                ready = lambda: len(box.messages) > seen  # noqa: E731
            else:
                last = box.messages[-1].message_id if box.messages else 1
                await fake.press_data(user, last, "load-bench")
                ready = lambda: len(box.answers) > answered  # noqa: E731
            if not await box.wait(ready, STEP_TIMEOUT):
                raise StepFailed(f"no echo to {step.action} within {STEP_TIMEOUT:.0f} s")
            replied = box.messages[seen].sent_at if step.action == "text" else box.answers[answered]
            return Sample(sent, replied, late)
        if step.action == "text":
            sent = time.monotonic()
            await fake.send_text(user, step.value)
        else:
            target = next((m for m in reversed(box.messages) if step.value in m.button_labels()), None)
            if target is None:
                raise StepFailed(f"no button {step.value!r} to press")
            sent = time.monotonic()
            await fake.press(user, target, step.value)
        if not await box.wait(lambda: len(box.messages) >= seen + step.replies, STEP_TIMEOUT):
            got = len(box.messages) - seen
            raise StepFailed(f"{got} of {step.replies} replies to {step.value[:20]!r} within {STEP_TIMEOUT:.0f} s")
        replies = box.messages[seen : seen + step.replies]
        if step.expect and not any(step.expect in (m.text or "") for m in replies):
            raise StepFailed(f"no {step.expect!r} in the replies to {step.value[:20]!r}")
        if step.expect == "CN-":
            self.filed = True
        return Sample(sent, replies[-1].sent_at, late)


@dataclasses.dataclass
class LoadResult:
    samples: list[Sample]
    errors: list[str]
    filed: int  # petitions that got a case code
    chats: list[int]
    cpu_seconds: float = 0.0  # CPU time the bot process used during the run (user + system)

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds * 1000 / self.updates if self.updates else 0.0

    @property
    def updates(self) -> int:
        return len(self.samples)

    def latency(self, share: float) -> float:
        return percentile([s.latency_ms for s in self.samples], share)

    @property
    def throughput(self) -> float:
        """Updates a second over the whole run: from the first send to the last reply."""
        if not self.samples:
            return 0.0
        span = max(s.replied for s in self.samples) - min(s.sent for s in self.samples)
        return len(self.samples) / span if span > 0 else 0.0

    @property
    def offered_rate(self) -> float:
        """Updates a second actually sent (open loop): from the first send to the last."""
        sends = sorted(s.sent for s in self.samples)
        return (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 and sends[-1] > sends[0] else 0.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


class Users:
    """Fresh user ids for every run: nothing carries over from one run to the next."""

    def __init__(self) -> None:
        self._ids = itertools.count(10_000_001)

    def new(self) -> int:
        return next(self._ids)


async def closed_loop(
    fake: LoadFake, scripts: Scripts, users: Users, citizens: int, *, echo: bool, stagger: float = 0.0
) -> LoadResult:
    """``citizens`` at once, each step sent as soon as the previous one is answered."""
    samples: list[Sample] = []
    errors: list[str] = []
    people = [Citizen(fake, users.new(), scripts.next(), echo=echo) for _ in range(citizens)]

    async def play(number: int, citizen: Citizen) -> None:
        if stagger:
            await asyncio.sleep(stagger * number / citizens)
        while not citizen.finished:
            try:
                samples.append(await citizen.step())
            except StepFailed as exc:
                errors.append(str(exc))
                return

    await asyncio.gather(*(play(number, citizen) for number, citizen in enumerate(people)))
    chats = [c.user_id for c in people]
    return LoadResult(samples, errors, sum(c.filed for c in people), chats)


async def open_loop(
    fake: LoadFake, scripts: Scripts, users: Users, citizens: int, rate: float, seconds: float, *, echo: bool
) -> LoadResult:
    """``rate`` updates a second on a fixed schedule; turn k belongs to citizen slot k mod ``citizens``."""
    samples: list[Sample] = []
    errors: list[str] = []
    chats: list[int] = []
    filed = 0
    total = max(1, round(rate * seconds))
    start = time.monotonic() + 0.2

    async def slot(first_turn: int) -> None:
        nonlocal filed
        citizen: Citizen | None = None
        for turn in range(first_turn, total, citizens):
            if citizen is None or citizen.finished:
                if citizen is not None:
                    filed += citizen.filed
                citizen = Citizen(fake, users.new(), scripts.next(), echo=echo)
                chats.append(citizen.user_id)
            due = start + turn / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                samples.append(await citizen.step(late=max(0.0, time.monotonic() - due)))
            except StepFailed as exc:
                errors.append(str(exc))
                citizen = None
        if citizen is not None:
            filed += citizen.filed

    await asyncio.gather(*(slot(first) for first in range(min(citizens, total))))
    return LoadResult(samples, errors, filed, chats)


# --------------------------------------------------------------------------------------------
# Bot processes and databases
# --------------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    """This environment without TIEPDAN_* settings (the config file decides), output unbuffered."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIEPDAN_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_config(path: Path, database_url: str, fake: LoadFake) -> Path:
    path.write_text(
        f'[deployment]\ndata_dir = "{ROOT / "data"}"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'
        # A scripted citizen answers as fast as the bot does, beyond any person's pace: the
        # per-user flood limit (12 messages in 10 s) would refuse the last steps of a script.
        "[dialog]\nrate_limit_messages = 0\n",
        encoding="utf-8",
    )
    return path


class BotProcess:
    """A bot as a child process, its output in a log file; stopped with SIGTERM (SIGKILL if stuck)."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    async def start(self, fake: LoadFake) -> None:
        polls = fake.polls
        with self.log.open("ab") as out:
            self.started_at = time.monotonic()
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, cwd=ROOT, env=_env(), stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while fake.polls == polls:
            if self.process.returncode is not None or time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError(f"{' '.join(self.argv[1:3])} did not start polling:\n{self.tail()}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc; 0 elsewhere)."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Databases:
    """Fresh databases from a template made once per backend (migrated, reference data loaded)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.admin = os.environ.get("TIEPDAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
        self.suffix = f"{os.getpid()}"
        self._templates: set[str] = set()
        self._created: set[str] = set()

    def _pg(self, name: str) -> str:
        return self.admin.rpartition("/")[0] + "/" + name

    async def _admin(self, *statements: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(self.admin)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    async def _template(self, backend: str) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{self.workdir / 'template.db'}"
        else:
            name = f"tiepdan_load_template_{self.suffix}"
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            self._created.add(name)
            url = self._pg(name)
        config = self.workdir / f"template-{backend}.toml"
        config.write_text(f'[deployment]\ndata_dir = "{ROOT / "data"}"\n[database]\nurl = "{url}"\n', "utf-8")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "data", "load", cwd=ROOT, env=_env(),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
        if process.returncode != 0:
            raise RuntimeError(f"data load failed on {backend}: {stderr.decode(errors='replace')[-2000:]}")
        return url

    async def fresh(self, backend: str, name: str) -> str:
        """A new database ``name`` (a copy of the template), its URL."""
        if backend not in self._templates:
            await self._template(backend)
            self._templates.add(backend)
        if backend == "sqlite":
            target = self.workdir / f"{name}.db"
            await asyncio.to_thread(_copy_sqlite, self.workdir / "template.db", target)
            return f"sqlite:///{target}"
        database = f"tiepdan_load_{name}_{self.suffix}"
        template = f"tiepdan_load_template_{self.suffix}"
        await self._admin(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}" TEMPLATE "{template}"'
        )
        self._created.add(database)
        return self._pg(database)

    async def drop_all(self) -> None:
        if self._created:
            await self._admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in sorted(self._created)))
            self._created.clear()


def _copy_sqlite(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


async def count_cases(url: str) -> int:
    from sqlalchemy import text

    from storage.uow import Database

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM cases"))).scalar_one())
    finally:
        await db.close()


# --------------------------------------------------------------------------------------------
# One bot under load
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class TargetResult:
    target: str  # echo, sqlite, postgresql
    closed: LoadResult
    opened: dict[float, LoadResult]  # open-loop runs by offered rate (updates/s)
    cases_missing: int = 0  # petitions told a case code that the database does not hold

    def summary(self) -> dict[str, Any]:
        c = self.closed
        return {
            "target": self.target,
            "closed": {
                "updates": c.updates,
                "throughput": round(c.throughput, 1),
                "p50": round(c.latency(0.50), 1),
                "p95": round(c.latency(0.95), 1),
                "p99": round(c.latency(0.99), 1),
                "cpu_ms_per_update": round(c.cpu_ms_per_update, 2),
                "errors": len(c.errors),
            },
            "open": {
                f"{rate:g}": {
                    "updates": o.updates,
                    "offered": round(o.offered_rate, 1),
                    "p50": round(o.latency(0.50), 1),
                    "p95": round(o.latency(0.95), 1),
                    "p99": round(o.latency(0.99), 1),
                    "max": round(o.latency(1.0), 1),
                    "late_sends": sum(1 for s in o.samples if s.late > 0.05),
                    "cpu_ms_per_update": round(o.cpu_ms_per_update, 2),
                    "errors": len(o.errors),
                }
                for rate, o in self.opened.items()
            },
            "cases_missing": self.cases_missing,
        }


@contextlib.asynccontextmanager
async def running(
    fake: LoadFake, target: str, dbs: Databases, workdir: Path, name: str
) -> AsyncIterator[tuple[BotProcess, str | None]]:
    """A bot polling the fake: the echo bot, or tiepdan on a fresh database of ``target``."""
    url: str | None = None
    if target.startswith("echo"):
        argv = [sys.executable, str(ECHO_BOT), "--token", fake.token, "--base-url", fake.base_url]
        if target == "echo-concurrent":
            argv.append("--concurrent")
    else:
        url = await dbs.fresh(target, name)
        config = write_config(workdir / f"{name}.toml", url, fake)
        argv = [sys.executable, *BOT_COMMAND, "--config", str(config), "run"]
    bot = BotProcess(argv, workdir / f"{name}.log")
    await bot.start(fake)
    try:
        yield bot, url
    finally:
        await bot.stop()
        stale = fake.pending_updates
        if stale:  # a bot that did not confirm its last updates must not hand them to the next one
            print(f"  ({len(stale)} unconfirmed updates left by {target}; dropped)", file=sys.stderr)
            fake._pending.clear()


async def measure_target(
    fake: LoadFake,
    target: str,
    dbs: Databases,
    workdir: Path,
    name: str,
    args: argparse.Namespace,
    scripts: Scripts,
    users: Users,
) -> TargetResult:
    echo = target.startswith("echo")
    async with running(fake, target, dbs, workdir, name) as (bot, url):
        warm = await closed_loop(fake, scripts, users, args.warmup, echo=echo)
        cpu = bot.cpu_seconds()
        closed = await closed_loop(fake, scripts, users, args.citizens, echo=echo)
        closed.cpu_seconds, cpu = bot.cpu_seconds() - cpu, bot.cpu_seconds()
        opened: dict[float, LoadResult] = {}
        for rate in args.rate:
            await asyncio.sleep(0.5)
            cpu = bot.cpu_seconds()
            opened[rate] = await open_loop(fake, scripts, users, args.citizens, rate, args.open_seconds, echo=echo)
            opened[rate].cpu_seconds = bot.cpu_seconds() - cpu
        results = [warm, closed, *opened.values()]
        for result in results:
            fake.forget(result.chats)
        if any(result.errors for result in results):
            print(f"  {target}: errors, last log lines:\n{bot.tail(10)}", file=sys.stderr)
    missing = 0
    if url is not None:
        missing = sum(result.filed for result in results) - await count_cases(url)
    return TargetResult(target, closed, opened, missing)


# --------------------------------------------------------------------------------------------
# Fan-out through the outbox
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class FanoutResult:
    backend: str
    count: int
    delivered: int
    seconds: float  # first to last message, at the fake
    startup: float  # bot process start to its first message
    max_per_second: int
    duplicates: int
    pending_after: int

    @property
    def ideal(self) -> float:
        """The shortest first-to-last time that keeps to the rate: a full second per ``rate`` messages."""
        return float((self.count - 1) // int(FANOUT_RATE))

    def summary(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            "ideal": round(self.ideal, 1),
            "over_ideal": round(self.seconds / self.ideal - 1, 4),
        }


async def queue_notices(url: str, count: int) -> None:
    """``count`` notices to distinct chats, through the code path the product uses."""
    from bot.dialog.types import Reply
    from bot.services import notify
    from bot.services.container import system_clock
    from storage.uow import Database

    db = Database(url)
    try:
        now = system_clock()
        for first in range(0, count, 1000):
            async with db.unit_of_work() as uow:
                for number in range(first, min(count, first + 1000)):
                    text = f"Thông báo số {number + 1}: lịch tiếp công dân tuần tới đổi sang thứ Năm."
                    await notify.enqueue(uow, "telegram", str(FANOUT_FIRST_CHAT + number), Reply(text), now=now)
    finally:
        await db.close()


async def pending_outbox(url: str) -> int:
    from sqlalchemy import text

    from storage.uow import Database

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            query = text("SELECT count(*) FROM outbox WHERE status = 'pending'")
            return int((await connection.execute(query)).scalar_one())
    finally:
        await db.close()


async def fanout(fake: LoadFake, backend: str, count: int, dbs: Databases, workdir: Path) -> FanoutResult:
    name = f"fanout-{backend}"
    url = await dbs.fresh(backend, name)
    await queue_notices(url, count)
    chats = range(FANOUT_FIRST_CHAT, FANOUT_FIRST_CHAT + count)
    mark = len(fake.sent_log)
    config = write_config(workdir / f"{name}.toml", url, fake)
    bot = BotProcess([sys.executable, *BOT_COMMAND, "--config", str(config), "run"], workdir / f"{name}.log")
    patience = round(count / FANOUT_RATE * 1.5 + START_TIMEOUT)  # seconds

    def delivered() -> list[float]:
        return [at for at, chat in fake.sent_log[mark:] if chat in chats]

    await bot.start(fake)
    try:
        for _ in range(patience):
            if len(delivered()) >= count:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(2.0)  # anything sent twice would show up now
    finally:
        await bot.stop()
    times = sorted(delivered())
    per_chat: dict[int, int] = {}
    for _, chat in fake.sent_log[mark:]:
        if chat in chats:
            per_chat[chat] = per_chat.get(chat, 0) + 1
    fake.forget(list(per_chat))
    return FanoutResult(
        backend=backend,
        count=count,
        delivered=len(per_chat),
        seconds=times[-1] - times[0] if times else 0.0,
        startup=times[0] - bot.started_at if times else 0.0,
        max_per_second=max_in_window(times),
        duplicates=sum(n - 1 for n in per_chat.values()),
        pending_after=await pending_outbox(url),
    )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _ratio(rows: Sequence[TargetResult], runs: Sequence[Sequence[TargetResult]], echo: str) -> str:
    """Median over repetitions of throughput ÷ that of ``echo`` in the same repetition."""
    ratios = []
    for row, run in zip(rows, runs, strict=True):
        ceiling = next((r for r in run if r.target == echo), None)
        if ceiling is not None and ceiling.closed.throughput:
            ratios.append(row.closed.throughput / ceiling.closed.throughput)
    return f"{median(ratios):.0%}" if ratios else "-"


def print_report(runs: list[list[TargetResult]], fanouts: list[FanoutResult], args: argparse.Namespace) -> None:
    if runs:
        print_load(runs, args)
    if fanouts:
        print_fanout(fanouts)


def print_load(runs: list[list[TargetResult]], args: argparse.Namespace) -> None:
    targets = [result.target for result in runs[0]]
    table = {target: [next(r for r in run if r.target == target) for run in runs] for target in targets}
    echoes = [echo for echo in ("echo", "echo-concurrent") if echo in targets]
    print(
        f"\n### Closed loop: {args.citizens} citizens at once, petition + 2-3 FAQ questions each "
        f"(median of {len(runs)} repetitions)\n"
    )
    print(
        "| bot | updates | throughput (updates/s) | "
        + "".join(f"÷ {echo} | " for echo in echoes)
        + "p50 (ms) | p95 (ms) | p99 (ms) | bot CPU per update (ms) | errors |"
    )
    print("|---|---:|---:|" + "---:|" * len(echoes) + "---:|---:|---:|---:|---:|")
    for target, rows in table.items():
        closed = [r.closed for r in rows]
        print(
            f"| {NAMES[target]} | {closed[0].updates} | {median([c.throughput for c in closed]):.0f} | "
            + "".join(f"{_ratio(rows, runs, echo)} | " for echo in echoes)
            + f"{median([c.latency(0.5) for c in closed]):.0f} | {median([c.latency(0.95) for c in closed]):.0f} "
            f"| {median([c.latency(0.99) for c in closed]):.0f} | {median([c.cpu_ms_per_update for c in closed]):.1f} "
            f"| {sum(len(c.errors) for c in closed)} |"
        )
    for rate in args.rate:
        print(
            f"\n### Open loop: {rate:g} updates/s on a fixed schedule for {args.open_seconds:g} s over "
            f"{args.citizens} citizens (median of {len(runs)} repetitions)\n"
        )
        print(
            "| bot | updates | offered (updates/s) | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) "
            "| bot CPU per update (ms) | sends > 50 ms late | errors |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for target, rows in table.items():
            opened = [r.opened[rate] for r in rows]
            print(
                f"| {NAMES[target]} | {opened[0].updates} | {median([o.offered_rate for o in opened]):.1f} "
                f"| {median([o.latency(0.5) for o in opened]):.0f} | {median([o.latency(0.95) for o in opened]):.0f} "
                f"| {median([o.latency(0.99) for o in opened]):.0f} | {median([o.latency(1.0) for o in opened]):.0f} "
                f"| {median([o.cpu_ms_per_update for o in opened]):.1f} "
                f"| {sum(sum(1 for s in o.samples if s.late > 0.05) for o in opened)} "
                f"| {sum(len(o.errors) for o in opened)} |"
            )
    rates = " and ".join(f"{rate:g}/s" for rate in args.rate)
    print(f"\nEach repetition (closed-loop throughput in updates/s; open-loop p99 in ms at {rates}):\n")
    for target, rows in table.items():
        closed_runs = ", ".join(f"{r.closed.throughput:.0f}" for r in rows)
        open_runs = "; ".join(", ".join(f"{r.opened[rate].latency(0.99):.0f}" for r in rows) for rate in args.rate)
        missing = sum(r.cases_missing for r in rows)
        note = f"; {missing} case codes told to citizens are not in the database" if missing else ""
        print(f"- {NAMES[target]}: {closed_runs}; {open_runs}{note}")


def print_fanout(fanouts: list[FanoutResult]) -> None:
    if fanouts:  # one table for all of them
        print(f"\n### Fan-out through the outbox ([outbox] messages_per_second = {FANOUT_RATE:g})\n")
        print(
            "| database | notices | delivered | first → last (s) | ideal ⌊(n-1)/30⌋ (s) | over ideal | most in any 1 s "
            "| duplicates | still pending |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for f in fanouts:
            print(
                f"| {f.backend} | {f.count} | {f.delivered} | {f.seconds:.1f} | {f.ideal:.1f} "
                f"| {f.seconds / f.ideal - 1:+.1%} | {f.max_per_second} | {f.duplicates} | {f.pending_after} |"
            )


def machine() -> str:
    import telegram

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (
        f"{date.today()} · Python {platform.python_version()} · python-telegram-bot {telegram.__version__} · "
        f"{platform.machine()} · {os.cpu_count()} CPUs · load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    print(machine(), flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="tiepdan-load-"))
    dbs = Databases(workdir)
    users = Users()
    runs: list[list[TargetResult]] = []
    fanouts: list[FanoutResult] = []
    targets = args.targets
    try:
        async with LoadFake() as fake:
            for repetition in range(args.repeats):
                results: list[TargetResult] = []
                for target in targets:
                    started = time.monotonic()
                    result = await measure_target(
                        # The same citizens, saying the same things, for every bot of a repetition.
                        fake,
                        target,
                        dbs,
                        workdir,
                        f"{target}-{repetition}",
                        args,
                        Scripts(args.seed + repetition),
                        users,
                    )
                    results.append(result)
                    closed = result.closed
                    opened = "; ".join(
                        f"open {o.offered_rate:.1f}/s p99 {o.latency(0.99):.0f} ms" for o in result.opened.values()
                    )
                    print(
                        f"  repetition {repetition + 1} {target}: closed {closed.throughput:.1f} updates/s "
                        f"p99 {closed.latency(0.99):.0f} ms; {opened} ({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                runs.append(results)
            for backend, count in (("sqlite", args.fanout), ("postgresql", args.fanout_postgresql)):
                if count and backend in args.targets:
                    started = time.monotonic()
                    fanouts.append(await fanout(fake, backend, count, dbs, workdir))
                    print(f"  fan-out {backend}: {fanouts[-1].summary()}", file=sys.stderr, flush=True)
    finally:
        await dbs.drop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}", file=sys.stderr)
    print(machine().split(" · ")[-1] + " at the end")
    print_report(runs, fanouts, args)
    return {
        "machine": machine(),
        "args": vars(args),
        "runs": [[result.summary() for result in results] for results in runs],
        "fanout": [f.summary() for f in fanouts],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run (about a minute)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10, help="citizens run before measuring (not counted)")
    parser.add_argument("--rate", default="50", help="open loop: updates a second; several: 50,10")
    parser.add_argument("--open-seconds", type=float, default=60.0)
    parser.add_argument("--fanout", type=int, default=10_000, help="notices for the SQLite fan-out (0: none)")
    parser.add_argument("--fanout-postgresql", type=int, default=3_000, help="notices for PostgreSQL (0: none)")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated, from {','.join(TARGETS)}; the first echo is what ratios refer to",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (configs, logs)")
    parser.add_argument("--bot-script", help="run this script instead of python -m bot (profiling, experiments)")
    args = parser.parse_args()
    if args.bot_script:
        BOT_COMMAND[:] = [args.bot_script]
    if args.quick:
        args.repeats, args.citizens, args.warmup = 1, 10, 2
        args.rate, args.open_seconds = "10", 3.0
        args.fanout, args.fanout_postgresql = 90, 0
        args.targets = ",".join(t for t in args.targets.split(",") if t != "echo-concurrent")
    args.rate = [float(rate) for rate in args.rate.split(",") if rate]
    args.targets = [t for t in args.targets.split(",") if t]
    if not args.targets or any(t not in TARGETS for t in args.targets):
        parser.error(f"--targets takes some of {','.join(TARGETS)}")
    result = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
