"""Running the real Zalo OA transport against the fake OA platform, for the ``test_zalo_oa*`` modules.

:func:`running_oa` opens the app on the test database with a ``[zalo_oa]`` section pointing
at :class:`~tests.fakes.zalo_oa_api.FakeZaloOa` (API, OAuth and a first token pair it issued),
starts :class:`~bot.transports.zalo_oa.ZaloOaTransport` (its webhook on a free loopback port)
and an outbox worker, and points the fake's webhook emitter at it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from bot.app import App, open_app
from bot.config import Config
from bot.outbox import OutboxWorker
from bot.transports.zalo_oa import ZaloOaTransport
from tests.conftest import make_config
from tests.fakes.zalo_oa_api import FakeZaloOa
from tests.helpers import FakeClock
from tests.zalo_helpers import free_port


def oa_section(fake: FakeZaloOa, **overrides: object) -> dict[str, object]:
    """A ``[zalo_oa]`` section for the fake, with a first token pair it just issued."""
    access, refresh = fake.issue_tokens()
    section: dict[str, object] = {
        "enabled": True,
        "app_id": fake.app_id,
        "app_secret": fake.app_secret,
        "oa_secret_key": fake.oa_secret_key,
        "access_token": access,
        "refresh_token": refresh,
        "api_base": fake.url,
        "oauth_base": fake.url,
        "webhook_listen": "127.0.0.1",
        "webhook_port": free_port(),
        "webhook_path": "/zalo-oa",
        "redirect_uri": "https://tiepdan.example.vn/zalo-oa/callback",
    }
    section.update(overrides)
    return section


@dataclass
class OaBot:
    app: App
    transport: ZaloOaTransport
    worker: OutboxWorker
    fake: FakeZaloOa
    config: Config

    async def rows(self, model: type) -> list[Any]:
        async with self.app.db.unit_of_work() as uow:
            return list((await uow.session.exec(select(model))).all())


@contextlib.asynccontextmanager
async def running_oa(
    database_url: str, clock: FakeClock, fake: FakeZaloOa, **overrides: object
) -> AsyncIterator[OaBot]:
    section = oa_section(fake, **overrides)
    config = make_config(database_url, zalo_oa=section, outbox={"chat_interval_seconds": 0.05})
    app = await open_app(config, clock=clock, migrate=False)
    worker: OutboxWorker | None = None

    def wake() -> None:
        if worker is not None:
            worker.wake()

    transport = ZaloOaTransport(app, on_queued=wake, refresh_check_seconds=0.05)
    worker = OutboxWorker(app.db, {"zalo_oa": transport}, clock, idle_interval=0.05, services=app.services)
    fake.webhook_url = f"http://127.0.0.1:{section['webhook_port']}{section['webhook_path']}"
    outbox: asyncio.Task[None] | None = None
    try:
        await transport.start()
        outbox = asyncio.create_task(worker.run_forever(), name="test-outbox")
        yield OaBot(app, transport, worker, fake, config)
    finally:
        if outbox is not None:
            outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox
        await transport.stop()
        await app.close()
