"""How rare a repeated notice is: the outbox's duplicate window, measured during a fan-out.

Why this exists: an outbox message is marked sent after Telegram accepted it. A kill between
the two repeats the message at the next start; no design avoids that without an idempotency key,
which the Bot API does not have. This script measures how long that window is open while the
worker fans out notifications at the configured pace, and so how likely a kill at a random
moment of a fan-out is to repeat one message:

* ``window``: from Telegram's answer to the commit that records it (the part after the send);
* ``exposed``: from the request leaving to that commit (an upper bound: the fake, like Telegram,
  may have stored the message at any point of the round trip);
* ``P(repeat | kill during fan-out)`` = messages per second x mean exposed time (the expected
  number of messages inside their window at a random moment).

Usage (the fake Bot API runs in-process)::

    .venv/bin/python -m bench.outbox_window [--messages 600] [--rate 30] [--database URL]

The default database is a fresh SQLite file; for PostgreSQL pass ``postgresql://...`` of a
database of its own (it is migrated, given the reference data, and its outbox is emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bot.app import load_reference_data, open_app
from bot.config import from_mapping
from bot.dialog.types import Reply
from bot.outbox import OutboxWorker
from bot.services import notify
from bot.transports.telegram import TelegramTransport
from storage.uow import Database
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent


async def measure(database_url: str, messages: int, rate: float) -> dict[str, float]:
    db = Database(database_url)
    try:
        await db.upgrade()
        async with db.unit_of_work() as uow:
            empty = not await uow.units.all()
            await uow.session.exec(text("DELETE FROM outbox"))  # type: ignore[call-overload]
        if empty:
            await load_reference_data(db, ROOT / "data")
    finally:
        await db.close()
    async with FakeTelegram() as tg:
        config = from_mapping(
            {
                "database": {"url": database_url},
                "deployment": {"data_dir": str(ROOT / "data")},
                "telegram": {"token": tg.token, "base_url": tg.base_url},
                "outbox": {"messages_per_second": rate},
            }
        )
        app = await open_app(config)
        transport = TelegramTransport(app, poll_timeout=1)
        worker = OutboxWorker(app.db, {"telegram": transport}, app.services.clock, services=app.services)
        try:
            await transport.start()
            async with app.db.unit_of_work() as uow:
                now = app.services.clock()
                for chat in range(1, messages + 1):
                    await notify.enqueue(uow, "telegram", str(10_000 + chat), Reply(f"Thông báo số {chat}"), now=now)
            started = time.monotonic()
            runner = asyncio.create_task(worker.run_forever())
            await tg.wait_until(lambda: len(tg.send_times()) >= messages, timeout=messages / rate * 3 + 30)
            elapsed = time.monotonic() - started
            runner.cancel()  # the worker lets the deliveries in flight record their outcome first
            await asyncio.gather(runner, return_exceptions=True)
        finally:
            await transport.stop()
            await app.close()
        stats = worker.stats
        sent = stats.sent
        per_second = sent / elapsed
        exposed = stats.exposed_total / sent
        return {
            "messages": sent,
            "seconds": round(elapsed, 2),
            "per_second": round(per_second, 2),
            "fake_max_per_second": tg.max_per_second(),
            "window_mean_ms": round(stats.window_total / sent * 1000, 3),
            "window_max_ms": round(stats.window_max * 1000, 3),
            "exposed_mean_ms": round(exposed * 1000, 3),
            "p_repeat_per_kill_during_fan_out": round(per_second * exposed, 4),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--database", help="sqlite:///... or postgresql://... (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{folder}/outbox-window.db"
        result = asyncio.run(measure(url, args.messages, args.rate))
    for key, value in result.items():
        print(f"{key:34} {value}")


if __name__ == "__main__":
    main()
