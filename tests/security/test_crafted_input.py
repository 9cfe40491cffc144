"""Issue #12 item 12: crafted numbers and deeply nested JSON never raise.

Every parse of what a person or a webhook sends is tried with values that ``str.isdigit``
accepts but ``int`` or the database refuse ("²", twenty digits), and with bodies nested
deeper than the JSON parser's recursion allows. The bot answers or refuses; nothing raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlmodel import select

from bot.app import App
from bot.text import parse_id
from bot.transports.base import BodyRefused, parse_json_body
from bot.transports.telegram import SECRET_HEADER as TELEGRAM_SECRET_HEADER
from storage.models import Citizen, Conversation, ProcessedUpdate
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import SECRET_HEADER as ZALO_SECRET_HEADER
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import Chat, FakeClock
from tests.test_officer import ADMIN
from tests.test_telegram_inbound import SECRET as TELEGRAM_SECRET
from tests.test_telegram_inbound import telegram_bot
from tests.zalo_helpers import WEBHOOK_SECRET, running_zalo

CRAFTED = ["²", "①", "١٢", "99999999999999999999", "2147483648", "-1", "1e3", "0x10", " 7 8", "٣"]


@pytest.mark.parametrize("value", CRAFTED)
def test_parse_id_takes_only_bounded_ascii_digits(value: str) -> None:
    assert parse_id(value) is None


def test_parse_id_reads_plain_ids() -> None:
    assert parse_id("42") == 42
    assert parse_id(" 0007 ") == 7
    assert parse_id("2147483647") == 2147483647


@pytest.mark.parametrize("value", CRAFTED)
async def test_a_crafted_question_number_gets_an_ordinary_petition(app: App, value: str) -> None:
    chat = Chat(app)
    await chat.say("/start")
    await chat.press("Tôi đồng ý")
    await chat.say(f"/phananh question:{value}")
    assert "Bạn muốn gửi loại nào?" in chat.text


@pytest.mark.parametrize("value", CRAFTED)
@pytest.mark.parametrize("command", ["/xem", "/hopthu", "/xem accept:", "/hoso", "/faq them", "/lich"])
async def test_crafted_numbers_in_command_arguments_are_answered(app: App, command: str, value: str) -> None:
    admin = Chat(app, user_id=ADMIN, channel="telegram", name="Quản trị")
    separator = "" if command.endswith(":") else " "
    await admin.say(f"{command}{separator}{value}")
    assert admin.text  # an answer, not an exception


def _nested(depth: int) -> bytes:
    return b'{"update_id": 5, "message": ' + b"[" * depth + b"]" * depth + b"}"


DEEP_BODIES = [
    b"[" * 200_000 + b"]" * 200_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    _nested(5_000),
    _nested(500),
]


@pytest.mark.parametrize("body", DEEP_BODIES, ids=["arrays", "objects", "in-update-5000", "in-update-500"])
def test_parse_json_body_refuses_deep_nesting(body: bytes) -> None:
    with pytest.raises(BodyRefused):
        parse_json_body(body)


def test_parse_json_body_reads_ordinary_updates() -> None:
    assert parse_json_body(b'{"update_id": 5, "message": {"chat": {"id": 1}, "entities": [{"a": [1]}]}}') == {
        "update_id": 5,
        "message": {"chat": {"id": 1}, "entities": [{"a": [1]}]},
    }
    with pytest.raises(BodyRefused):
        parse_json_body(b"not json")
    with pytest.raises(BodyRefused):
        parse_json_body(b'"\xff"')


async def _post_raw(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers | {"Content-Type": "application/json"}) as response,
    ):
        return response.status


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_retry_delay=0.05) as fake:
        yield fake


async def _stored(app: App) -> list[object]:
    async with app.db.unit_of_work() as uow:
        rows: list[object] = []
        for model in (ProcessedUpdate, Citizen, Conversation):
            rows.extend((await uow.session.exec(select(model))).all())
        return rows


@pytest.mark.parametrize("body", DEEP_BODIES, ids=["arrays", "objects", "in-update-5000", "in-update-500"])
async def test_telegram_webhook_refuses_deep_json_with_4xx(
    database_url: str, clock: FakeClock, tg: FakeTelegram, body: bytes
) -> None:
    async with telegram_bot(database_url, clock, tg, mode="webhook") as bot:
        status = await _post_raw(bot.webhook_url, body, {TELEGRAM_SECRET_HEADER: TELEGRAM_SECRET})
        assert 400 <= status < 500
        assert await _stored(bot.app) == []
        await asyncio.sleep(0)


@pytest.mark.parametrize("body", DEEP_BODIES, ids=["arrays", "objects", "in-update-5000", "in-update-500"])
async def test_zalo_webhook_refuses_deep_json_with_4xx(database_url: str, clock: FakeClock, body: bytes) -> None:
    async with FakeZalo() as zalo, running_zalo(database_url, clock, zalo, mode="webhook") as bot:
        status = await _post_raw(bot.webhook_url, body, {ZALO_SECRET_HEADER: WEBHOOK_SECRET})
        assert 400 <= status < 500
        assert await _stored(bot.app) == []
