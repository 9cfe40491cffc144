"""Running the real Zalo transport against the fake Zalo Bot API, and playing a citizen on it.

Shared by the ``test_zalo*.py`` modules: :func:`running_zalo` opens the app on the test
database with a ``[zalo]`` section pointing at :class:`~tests.fakes.zalo_api.FakeZalo`,
starts :class:`~bot.transports.zalo.ZaloTransport` (polling or webhook) and an outbox worker,
and stops everything afterwards. :class:`ZaloCitizen` types into the fake and reads what the
bot answered, as plain text the way the person sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from bot.app import App, open_app
from bot.outbox import OutboxWorker
from bot.transports.zalo import ZaloTransport
from tests.conftest import make_config
from tests.fakes.zalo_api import FakeZalo, ZaloSentMessage
from tests.helpers import FakeClock

WEBHOOK_SECRET = "s3cret-for-the-zalo-webhook"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class ZaloBot:
    app: App
    transport: ZaloTransport
    worker: OutboxWorker
    fake: FakeZalo
    webhook_url: str = ""

    async def rows(self, model: type) -> list[Any]:
        async with self.app.db.unit_of_work() as uow:
            return list((await uow.session.exec(select(model))).all())


@contextlib.asynccontextmanager
async def running_zalo(
    database_url: str,
    clock: FakeClock,
    fake: FakeZalo,
    *,
    mode: str = "polling",
    admins: dict[str, object] | None = None,
    **zalo: object,
) -> AsyncIterator[ZaloBot]:
    section: dict[str, object] = {"enabled": True, "token": fake.token, "base_url": fake.url, "mode": mode}
    if mode == "webhook":
        port = free_port()
        section.update(
            webhook_url=f"http://127.0.0.1:{port}/zalo/hook",
            webhook_secret=WEBHOOK_SECRET,
            webhook_listen="127.0.0.1",
            webhook_port=port,
        )
    section.update(zalo)
    # Notices to one chat are paced a second apart in production; tests need not wait that long.
    extra = {"admins": admins} if admins is not None else {}
    config = make_config(database_url, zalo=section, outbox={"chat_interval_seconds": 0.05}, **extra)
    app = await open_app(config, clock=clock, migrate=False)
    worker: OutboxWorker | None = None

    def wake() -> None:
        if worker is not None:
            worker.wake()

    transport = ZaloTransport(app, on_queued=wake, poll_timeout=1, retry_delay=0.02, max_retry_delay=0.1)
    worker = OutboxWorker(app.db, {"zalo": transport}, clock, idle_interval=0.05, services=app.services)
    outbox: asyncio.Task[None] | None = None
    try:
        await transport.start()
        outbox = asyncio.create_task(worker.run_forever(), name="test-outbox")
        yield ZaloBot(app, transport, worker, fake, str(section.get("webhook_url", "")))
    finally:
        if outbox is not None:
            outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox
        await transport.stop()
        await app.close()


@dataclass
class ZaloCitizen:
    """A person on Zalo: types into the fake, reads the bot's messages."""

    fake: FakeZalo
    user_id: str = "a0f3b2c4d5e6f7a8b9c0"
    name: str = "Trần Thị Zalo"

    async def say(self, text: str) -> str:
        return await self.fake.send_text(self.user_id, text, display_name=self.name)

    async def image(self, url: str, caption: str | None = None) -> str:
        return await self.fake.send_image(self.user_id, url, caption, display_name=self.name)

    async def sticker(self) -> str:
        return await self.fake.send_sticker(self.user_id)

    async def expect(self, fragment: str, timeout: float = 5.0) -> ZaloSentMessage:
        """The next bot message containing ``fragment`` (earlier ones are skipped)."""
        return await self.fake.next_containing(self.user_id, fragment, timeout=timeout)

    def seen(self) -> list[str]:
        return [message.body for message in self.fake.messages(self.user_id)]

    async def consent(self) -> None:
        """/start, then "1" for "Tôi đồng ý"; ends when the main menu arrived."""
        await self.say("/start")
        await self.expect("Bạn có đồng ý không?")
        await self.say("1")
        await self.expect("Cảm ơn bạn đã đồng ý")
        await self.expect("Bạn cần gì?")

    async def file_petition(self, description: str = "Cống ở ấp Cầu Xây bị nghẹt") -> str:
        """A kiến nghị at Hiệp Mỹ Đông, every choice typed; returns the confirmation text."""
        await self.say("một")  # 1. Gửi phản ánh, kiến nghị
        await self.expect("Bạn muốn gửi loại nào?")
        await self.say("hai")  # 2. Kiến nghị
        await self.expect("xã, thị trấn nào")
        await self.say("hiep my dong")
        await self.expect("Bạn kể lại sự việc")
        await self.say(description)
        await self.expect("Đã ghi nhận: 1 tin nhắn, 0 ảnh")
        await self.say("1")  # 1. Xong
        await self.expect("không bắt buộc")
        await self.say("bo qua")  # the label "⏭ Bỏ qua", typed without accents
        await self.expect("Kiểm tra lại trước khi gửi")
        await self.say("gui")  # "📨 Gửi"
        received = await self.expect("Đã tiếp nhận")
        await self.expect("Bạn cần gì thêm không?")
        return received.body
