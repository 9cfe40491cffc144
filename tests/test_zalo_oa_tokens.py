"""The Zalo OA's tokens and reply window, against the fake OA platform, with the test clock.

A refresh token works once: these tests show it is refreshed ahead of expiry, once on an
expired-token error (the send then retried once), once however many senders or workers want it,
and that a process killed mid-refresh never sends it a second time (health fails instead, and
an administrator authorizes again: `python -m bot zalo-oa authorize`, tested here too).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot import cli, health
from bot.config import Config
from bot.dialog.types import Outgoing
from bot.services.cases import public_history
from bot.transports.zalo_oa_tokens import (
    TOKEN_NAME,
    OAuthClient,
    TokenKeeper,
    TokenUnavailable,
    authorization_url,
    pkce_challenge,
)
from storage.models import Case, OAuthTokens, OutboxMessage
from storage.uow import Database
from tests.conftest import ROOT, make_config
from tests.fakes.zalo_oa_api import FakeZaloOa, OaCitizen
from tests.helpers import FakeClock
from tests.test_zalo_oa import _consent, _queue_notice, file_petition
from tests.zalo_oa_helpers import oa_section, running_oa


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa(clock=clock) as server:
        yield server


def _no_refresh_token_twice(fake: FakeZaloOa) -> None:
    repeated = [token for token, count in Counter(fake.refresh_presented).items() if count > 1]
    assert repeated == [], f"refresh tokens sent more than once: {repeated}"


async def _stored(db: Database) -> OAuthTokens:
    async with db.read_only() as uow:
        row = await uow.tokens.get(TOKEN_NAME)
    assert row is not None
    return row


# ------------------------------------------------------------------ refreshing


async def test_tokens_are_refreshed_at_start_and_before_they_expire(
    database_url: str, clock: FakeClock, fake: FakeZaloOa
) -> None:
    async with running_oa(database_url, clock, fake) as bot:
        # The configured first pair is of unknown age: refreshed at start, which proves it works.
        assert len(fake.refresh_presented) == 1
        first = await _stored(bot.app.db)
        assert first.access_expires_at == clock() + timedelta(hours=25)
        clock.advance(hours=19)  # 6 h left: nothing yet (refresh_before_hours = 5)
        await asyncio.sleep(0.3)
        assert len(fake.refresh_presented) == 1
        clock.advance(hours=1, minutes=1)  # under 5 h left: the periodic check refreshes
        await _wait(lambda: len(fake.refresh_presented) == 2)
        second = await _stored(bot.app.db)
        assert second.access_token != first.access_token and second.refresh_token != first.refresh_token
        _no_refresh_token_twice(fake)


async def test_an_expired_token_error_refreshes_once_and_the_send_is_retried_once(
    database_url: str, clock: FakeClock, fake: FakeZaloOa
) -> None:
    async with running_oa(database_url, clock, fake) as bot:
        citizen = OaCitizen(fake)
        await _consent(citizen)
        current = (await _stored(bot.app.db)).access_token
        fake.expire_access(current)  # Zalo ended it early: -220
        refreshes = len(fake.refresh_presented)
        # Five sends at once all meet -220: one refresh, each send retried once and delivered.
        await asyncio.gather(
            *(bot.transport.deliver(Outgoing("zalo_oa", citizen.user_id, f"Tin số {n}")) for n in range(5))
        )
        assert len(fake.refresh_presented) == refreshes + 1
        assert sorted(m.text for m in fake.messages(citizen.user_id) if m.text.startswith("Tin số")) == [
            f"Tin số {n}" for n in range(5)
        ]
        assert [code for path, code in fake.api_calls].count("auth") == 5
        _no_refresh_token_twice(fake)


async def test_two_workers_refresh_once(database_url: str, clock: FakeClock, fake: FakeZaloOa) -> None:
    """Two processes' keepers (no shared lock in memory) want a refresh at once: the claim in the
    database lets one send the refresh token; the other waits and takes the new access token."""
    config = make_config(database_url, zalo_oa=oa_section(fake))
    fake.oauth_delay = 0.3
    first_db, second_db = Database(database_url), Database(database_url)
    async with aiohttp.ClientSession() as session:
        keepers = [
            TokenKeeper(db, config.zalo_oa, clock, OAuthClient(config.zalo_oa, lambda: session), busy_wait=0.05)
            for db in (first_db, second_db)
        ]
        try:
            assert await keepers[0].seed()
            tokens = await asyncio.gather(*(keeper.access_token() for keeper in keepers))
        finally:
            await first_db.close()
            await second_db.close()
    assert tokens[0] == tokens[1] and len(fake.refresh_presented) == 1


async def test_a_refused_refresh_token_stops_sends_and_health_says_to_authorize(
    database_url: str, clock: FakeClock, fake: FakeZaloOa
) -> None:
    async with running_oa(database_url, clock, fake) as bot:
        row = await _stored(bot.app.db)
        fake.refresh[row.refresh_token].used = True  # someone else used it (a copy of the database...)
        clock.advance(hours=21)
        await _wait(lambda: fake.refresh_presented.count(row.refresh_token) == 1)
        await asyncio.sleep(0.3)  # further checks must not send it again
        assert fake.refresh_presented.count(row.refresh_token) == 1
        with pytest.raises(TokenUnavailable, match="authorize"):
            await bot.transport.tokens.access_token()
        report = await health.check(bot.config, now=clock())
        assert any("zalo_oa: the refresh token was refused" in p for p in report.problems)


# ------------------------------------------------------------------ killed mid-refresh

_CHILD = """
import asyncio, sys
from datetime import datetime
import aiohttp
from bot.config import from_mapping
from bot.transports.zalo_oa_tokens import OAuthClient, TokenKeeper
from storage.uow import Database

async def main(url, api, now, app_id, secret):
    config = from_mapping({"database": {"url": url}, "zalo_oa": {
        "enabled": True, "app_id": app_id, "app_secret": secret, "oa_secret_key": "x",
        "api_base": api, "oauth_base": api}}).zalo_oa
    db = Database(url)
    async with aiohttp.ClientSession() as session:
        keeper = TokenKeeper(db, config, lambda: datetime.fromisoformat(now), OAuthClient(config, lambda: session))
        await keeper.refresh(stale=None)
    await db.close()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.parametrize("point", ["zalo_oa.refresh_claimed", "zalo_oa.refresh_answered"])
async def test_killed_mid_refresh_the_refresh_token_is_never_sent_twice(
    database_url: str, clock: FakeClock, fake: FakeZaloOa, point: str
) -> None:
    config = make_config(database_url, zalo_oa=oa_section(fake))
    db = Database(database_url)
    try:
        keeper = TokenKeeper(db, config.zalo_oa, clock, OAuthClient(config.zalo_oa, aiohttp.ClientSession))
        assert await keeper.seed()
        seeded = await _stored(db)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            database_url,
            fake.url,
            clock().isoformat(),
            fake.app_id,
            fake.app_secret,
            cwd=ROOT,
            env=dict(os.environ, TIEPDAN_CRASH_AT=f"{point}:1"),
        )
        assert await asyncio.wait_for(child.wait(), timeout=60) == 137  # killed there, as by SIGKILL
        presented = list(fake.refresh_presented)
        assert presented == ([] if point == "zalo_oa.refresh_claimed" else [seeded.refresh_token])

        # The restarted bot, a minute and more later: the claim says a refresh never finished.
        clock.advance(minutes=2)
        async with aiohttp.ClientSession() as session:
            restarted = TokenKeeper(db, config.zalo_oa, clock, OAuthClient(config.zalo_oa, lambda: session))
            for _ in range(3):
                with pytest.raises(TokenUnavailable, match="never finished"):
                    await restarted.access_token()
        assert fake.refresh_presented == presented
        report = await health.check(config, now=clock())
        assert not report.healthy and any("never finished" in p for p in report.problems)

        # The administrator authorizes again: new tokens, the problem is gone.
        assert await _authorize(config, fake, clock) == 0
        assert (await _stored(db)).problem is None
        assert (await health.check(config, now=clock())).healthy
        _no_refresh_token_twice(fake)
    finally:
        await db.close()


async def _authorize(config: Config, fake: FakeZaloOa, clock: FakeClock) -> int:
    """`python -m bot zalo-oa authorize`: the address, the approval at Zalo, then the code."""
    assert await cli._zalo_oa_authorize(config, None, None) == 0
    async with aiohttp.ClientSession() as session:
        verifier = "v" * 43
        url = urlsplit(authorization_url(config.zalo_oa, pkce_challenge(verifier), "state"))
        async with session.get(f"{fake.url}{url.path}?{url.query}", allow_redirects=False) as response:
            assert response.status == 302
            code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    return await cli._zalo_oa_authorize(config, code, verifier)


async def test_health_fails_when_the_refresh_token_is_about_to_expire(
    database_url: str, clock: FakeClock, fake: FakeZaloOa
) -> None:
    async with running_oa(database_url, clock, fake) as bot:
        report = await health.check(bot.config, now=clock())
        assert report.healthy and report.zalo_oa is not None
        assert "zalo_oa   access token until" in health.as_text(report, bot.config.deployment.tz)
        row = await _stored(bot.app.db)
        report = await health.check(bot.config, now=row.refresh_expires_at - timedelta(days=10))
        assert any("the refresh token expires in 10 days" in p for p in report.problems)


# ------------------------------------------------------------------ the reply window


async def test_a_notice_outside_the_window_is_held_and_sent_when_the_citizen_writes(
    database_url: str, clock: FakeClock, fake: FakeZaloOa
) -> None:
    async with running_oa(database_url, clock, fake) as bot:
        citizen = OaCitizen(fake)
        await _consent(citizen)
        await file_petition(citizen)
        [case] = await bot.rows(Case)

        clock.advance(days=3)  # inside the 7 days: sent (Zalo bills it after 48 h)
        await _queue_notice(bot, case, "Cán bộ sẽ xuống kiểm tra vào thứ Hai.")
        sent = await citizen.expect("xuống kiểm tra vào thứ Hai")
        assert sent.billed

        clock.advance(days=5)  # 8 days after the citizen's last message
        await _queue_notice(bot, case, "Đã thông cống xong, mời bạn kiểm tra.")
        [held] = [row for row in await bot.rows(OutboxMessage) if row.status == "held"]
        assert held.case_id == case.id
        assert not any("thông cống" in m.text for m in fake.messages(citizen.user_id))
        async with bot.app.db.read_only() as uow:
            history = [event.payload.get("text") for event in await public_history(uow, case)]
        assert "Đã thông cống xong, mời bạn kiểm tra." in history  # what /hoso shows

        await citizen.say("alo")  # any message reopens the window: the held notice is sent
        await citizen.expect("Đã thông cống xong, mời bạn kiểm tra.")
        await bot.worker.settle()
        assert [row.status for row in await bot.rows(OutboxMessage) if row.id == held.id] == ["sent"]


async def test_zalo_saying_the_window_is_closed_holds_the_notice(
    database_url: str, clock: FakeClock, fake: FakeZaloOa
) -> None:
    async with running_oa(database_url, clock, fake) as bot:
        citizen = OaCitizen(fake)
        await _consent(citizen)
        await file_petition(citizen)
        [case] = await bot.rows(Case)
        fake.last_interaction[citizen.user_id] = clock() - timedelta(days=8)  # Zalo disagrees with us
        await _queue_notice(bot, case, "Hồ sơ đã được chuyển cho Phòng Tài nguyên.")
        [held] = [row for row in await bot.rows(OutboxMessage) if row.status == "held"]
        assert held.last_error is not None and "-230" in held.last_error
        assert [code for _, code in fake.api_calls].count("-230") == 1  # not retried


async def _wait(condition: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)
