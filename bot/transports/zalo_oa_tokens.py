"""The Zalo OA's OAuth v4 tokens: kept in the database, refreshed so that a refresh token is sent once.

Why this needs care: the OA's access token lasts 25 hours and its refresh token 3 months, and
the refresh token **works once**: Zalo answers a refresh with a new pair and invalidates the old
refresh token. Sent twice (two workers, or a restart that did not know the first use happened),
the second use fails and the OA is cut off until an administrator signs in again in a browser;
some OAuth servers even revoke the whole grant when a used refresh token comes back.

So a refresh goes like this (:meth:`TokenKeeper.refresh`):

1. **claim**: in one transaction that holds the token row (``SELECT ... FOR UPDATE`` on
   PostgreSQL; on SQLite the write transaction, ``BEGIN IMMEDIATE``), check that nobody has
   refreshed meanwhile and that no claim is there, write a claim (a random id and the time) and
   commit. Only then does the refresh token leave the process;
2. **exchange** at ``{oauth_base}/v4/oa/access_token``;
3. **save**: in one transaction, the new access and refresh tokens with their expiry, and the
   claim cleared.

A claim found by anyone else means a refresh is under way (younger than :data:`CLAIM_LEASE`:
wait for it) or was interrupted (older: the process died, or the exchange's answer was lost).
In the interrupted case Zalo may already have rotated the pair, so the old refresh token is
**not** sent again: the row records the problem, sends stop, ``python -m bot health`` fails
and says to run ``python -m bot zalo-oa authorize``. The window in which that can happen is
the exchange's round trip plus one small commit; a connection that never opened (nothing was
sent) and an answer that says Zalo refused (nothing was rotated) clear the claim instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot import crashpoints
from bot.config import ZaloOaConfig
from storage.models import OAuthTokens
from storage.uow import Database

log = logging.getLogger(__name__)

TOKEN_NAME = "zalo_oa"
ACCESS_LIFETIME = timedelta(hours=25)  # what Zalo documents; its answer's expires_in wins
REFRESH_LIFETIME = timedelta(days=90)  # "3 months" from when it was issued
CLAIM_LEASE = timedelta(seconds=60)  # longer than an exchange can take (its timeout is 20 s)
EXCHANGE_TIMEOUT = 20.0
PKCE_VERIFIER_LENGTH = 43


class TokenUnavailable(Exception):
    """No usable token: an administrator must authorize the OA again (the reason says why)."""


class TokenBusy(Exception):
    """Another process is refreshing right now: try again shortly."""


class OAuthUnreachable(TokenBusy):
    """The OAuth server could not be reached (nothing was sent): try again later, not at once."""


class OAuthRefused(Exception):
    """The OAuth server answered with an error (nothing was issued or rotated)."""

    def __init__(self, code: object, name: str) -> None:
        super().__init__(f"{code} {name}")
        self.code = code
        self.name = name


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: timedelta


def pkce_pair() -> tuple[str, str]:
    """A PKCE (verifier, challenge): 43 characters, and base64url(sha256(verifier)) without padding."""
    verifier = secrets.token_urlsafe(48)[:PKCE_VERIFIER_LENGTH]
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def authorization_url(config: ZaloOaConfig, challenge: str, state: str) -> str:
    """Where the OA's administrator approves the app (OAuth v4 for an Official Account)."""
    query = urlencode(
        {"app_id": config.app_id, "redirect_uri": config.redirect_uri, "code_challenge": challenge, "state": state}
    )
    return f"{config.oauth_base.rstrip('/')}/v4/oa/permission?{query}"


class OAuthClient:
    """The token endpoint: form-encoded, the app secret in a ``secret_key`` header."""

    def __init__(self, config: ZaloOaConfig, session: Callable[[], aiohttp.ClientSession]) -> None:
        self.config = config
        self.session = session

    async def refresh(self, refresh_token: str) -> TokenPair:
        return await self._exchange(
            {"refresh_token": refresh_token, "app_id": self.config.app_id, "grant_type": "refresh_token"}
        )

    async def authorize(self, code: str, verifier: str) -> TokenPair:
        return await self._exchange(
            {"code": code, "app_id": self.config.app_id, "grant_type": "authorization_code", "code_verifier": verifier}
        )

    async def _exchange(self, form: dict[str, str]) -> TokenPair:
        url = f"{self.config.oauth_base.rstrip('/')}/v4/oa/access_token"
        headers = {"secret_key": self.config.app_secret}
        timeout = aiohttp.ClientTimeout(total=EXCHANGE_TIMEOUT)
        async with self.session().post(url, data=form, headers=headers, timeout=timeout) as response:
            status = response.status
            try:
                body: Any = await response.json(content_type=None)
            except ValueError:
                body = None
        if not isinstance(body, dict):
            raise OAuthRefused(status, "no JSON answer")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            # Zalo answers errors with HTTP 200 and {error, error_name, error_description}.
            name = body.get("error_name") or body.get("error_description") or body.get("message") or "no token"
            raise OAuthRefused(body.get("error", status), str(name)[:200])
        return TokenPair(access, refresh, _seconds(body.get("expires_in")))


def _seconds(value: object) -> timedelta:
    """``expires_in`` is documented as a string ("90000"); an integer is accepted too."""
    try:
        seconds = int(str(value))
    except ValueError:
        return ACCESS_LIFETIME
    return timedelta(seconds=seconds) if seconds > 0 else ACCESS_LIFETIME


@dataclass(frozen=True)
class TokenStatus:
    """What ``health`` reports."""

    access_expires_at: datetime
    refresh_expires_at: datetime
    problem: str | None
    refreshing_since: datetime | None


class TokenKeeper:
    """The current access token, refreshed before it expires and when Zalo says it expired."""

    def __init__(
        self,
        db: Database,
        config: ZaloOaConfig,
        clock: Callable[[], datetime],
        oauth: OAuthClient,
        *,
        busy_wait: float = 1.0,
    ) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.oauth = oauth
        self.busy_wait = busy_wait
        self.refresh_before = timedelta(hours=config.refresh_before_hours)
        self._lock = asyncio.Lock()  # one refresh at a time in this process
        self._access: tuple[str, datetime] | None = None

    async def seed(self) -> bool:
        """Store the configured first tokens when the database has none; True if it did.

        Their age is unknown, so the access token is taken as due for a refresh: the first
        refresh happens at start, which also proves the refresh token works.
        """
        if not (self.config.access_token and self.config.refresh_token):
            return False
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            if await uow.tokens.get(TOKEN_NAME, lock=True) is not None:
                return False
            await uow.tokens.save(
                OAuthTokens(
                    name=TOKEN_NAME,
                    access_token=self.config.access_token,
                    access_expires_at=now,
                    refresh_token=self.config.refresh_token,
                    refresh_expires_at=now + REFRESH_LIFETIME,
                    updated_at=now,
                )
            )
        return True

    async def store(self, pair: TokenPair) -> None:
        """Save a pair obtained by authorizing (``zalo-oa authorize``): any old problem is gone."""
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            row = await uow.tokens.get(TOKEN_NAME, lock=True)
            row = row or OAuthTokens(
                name=TOKEN_NAME, access_token="", access_expires_at=now, refresh_token="", refresh_expires_at=now
            )
            _apply(row, pair, now)
            await uow.tokens.save(row)
        self._access = None

    async def status(self) -> TokenStatus | None:
        async with self.db.read_only() as uow:
            row = await uow.tokens.get(TOKEN_NAME)
        if row is None:
            return None
        return TokenStatus(row.access_expires_at, row.refresh_expires_at, row.problem, row.refresh_claimed_at)

    async def access_token(self) -> str:
        """The access token to call the API with, refreshed first when it is due."""
        now = self.clock()
        if self._access is not None and self._access[1] - self.refresh_before > now:
            return self._access[0]
        async with self.db.read_only() as uow:
            row = await uow.tokens.get(TOKEN_NAME)
        if row is None:
            raise TokenUnavailable("no OA tokens: run `python -m bot zalo-oa authorize`")
        if row.problem:
            raise TokenUnavailable(row.problem)
        if row.access_expires_at - self.refresh_before > now:
            self._access = (row.access_token, row.access_expires_at)
            return row.access_token
        return await self.refresh(stale=None)

    async def refresh_if_due(self) -> None:
        """The periodic check: refresh ahead of expiry (errors are logged, the sends will say)."""
        try:
            await self.access_token()
        except (TokenUnavailable, TokenBusy, OSError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("zalo oa token refresh: %s", exc)

    async def refresh(self, *, stale: str | None) -> str:
        """Refresh the pair once, whoever asks; ``stale`` is the access token Zalo refused.

        Returns the access token to use: a new one, or one another worker got meanwhile.
        """
        async with self._lock:
            for _ in range(int(CLAIM_LEASE.total_seconds() / max(self.busy_wait, 0.01)) + 1):
                try:
                    return await self._refresh_once(stale)
                except OAuthUnreachable:
                    raise  # the next send or periodic check tries again
                except TokenBusy:
                    await asyncio.sleep(self.busy_wait)
            raise TokenBusy("another process is still refreshing the zalo oa tokens")

    async def _refresh_once(self, stale: str | None) -> str:
        claimed = await self._claim(stale)
        if isinstance(claimed, str):
            return claimed  # fresh already: someone else refreshed
        claim, refresh_token = claimed
        crashpoints.reached("zalo_oa.refresh_claimed")
        try:
            pair = await self.oauth.refresh(refresh_token)
        except aiohttp.ClientConnectorError as exc:
            # The connection never opened: the refresh token did not leave, it is still good.
            await self._release(claim, problem=None)
            raise OAuthUnreachable(f"oauth server unreachable: {type(exc).__name__}") from exc
        except OAuthRefused as exc:
            # Zalo answered with an error: nothing was rotated, and this token will not work again.
            problem = f"the refresh token was refused ({exc}): run `python -m bot zalo-oa authorize`"
            await self._release(claim, problem=problem)
            raise TokenUnavailable(problem) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # Sent, answer lost: Zalo may have rotated the pair. Never send the old token again.
            problem = (
                f"a token refresh got no answer ({type(exc).__name__}); the old refresh token may be used up: "
                "run `python -m bot zalo-oa authorize`"
            )
            await self._release(claim, problem=problem)
            raise TokenUnavailable(problem) from exc
        crashpoints.reached("zalo_oa.refresh_answered")
        await self._save(claim, pair)
        crashpoints.reached("zalo_oa.refresh_saved")
        log.info("zalo oa tokens refreshed")
        return pair.access_token

    async def _claim(self, stale: str | None) -> str | tuple[str, str]:
        """Take the refresh: (claim id, refresh token), or the access token when none is needed."""
        outcome = await self._try_claim(stale)
        if isinstance(outcome, TokenUnavailable):
            raise outcome  # raised after the commit that recorded it
        return outcome

    async def _try_claim(self, stale: str | None) -> str | tuple[str, str] | TokenUnavailable:
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            row = await uow.tokens.get(TOKEN_NAME, lock=True)
            if row is None:
                raise TokenUnavailable("no OA tokens: run `python -m bot zalo-oa authorize`")
            if row.problem:
                raise TokenUnavailable(row.problem)
            if row.refresh_claim is not None and row.refresh_claimed_at is not None:
                if row.refresh_claimed_at + CLAIM_LEASE > now:
                    raise TokenBusy("a refresh is under way")
                row.problem = (
                    f"a token refresh started at {row.refresh_claimed_at:%Y-%m-%d %H:%M} UTC never finished "
                    "(the process stopped); the old refresh token may be used up: "
                    "run `python -m bot zalo-oa authorize`"
                )
                await uow.tokens.save(row)
                log.error("zalo oa: %s", row.problem)
                return TokenUnavailable(row.problem)
            fresh = row.access_expires_at - self.refresh_before > now
            if (stale is not None and row.access_token != stale) or (stale is None and fresh):
                self._access = (row.access_token, row.access_expires_at)
                return row.access_token
            if row.refresh_expires_at <= now:
                row.problem = "the refresh token has expired: run `python -m bot zalo-oa authorize`"
                await uow.tokens.save(row)
                return TokenUnavailable(row.problem)
            claim = secrets.token_hex(8)
            row.refresh_claim, row.refresh_claimed_at = claim, now
            await uow.tokens.save(row)
            return claim, row.refresh_token

    async def _save(self, claim: str, pair: TokenPair) -> None:
        now = self.clock()
        async with self.db.unit_of_work() as uow:
            row = await uow.tokens.get(TOKEN_NAME, lock=True)
            assert row is not None
            if row.refresh_claim != claim:
                # Declared interrupted meanwhile (this exchange took longer than the lease): the
                # pair just issued is the valid one, so it is saved all the same.
                log.warning("zalo oa: a refresh outlived its claim; its tokens are kept")
            _apply(row, pair, now)
            await uow.tokens.save(row)
        self._access = (pair.access_token, now + pair.expires_in)

    async def _release(self, claim: str, *, problem: str | None) -> None:
        async with self.db.unit_of_work() as uow:
            row = await uow.tokens.get(TOKEN_NAME, lock=True)
            if row is None or row.refresh_claim != claim:
                return
            row.refresh_claim = row.refresh_claimed_at = None
            row.problem = problem
            row.updated_at = self.clock()
            await uow.tokens.save(row)
        self._access = None


def _apply(row: OAuthTokens, pair: TokenPair, now: datetime) -> None:
    row.access_token = pair.access_token
    row.access_expires_at = now + pair.expires_in
    row.refresh_token = pair.refresh_token
    row.refresh_expires_at = now + REFRESH_LIFETIME
    row.refresh_claim = row.refresh_claimed_at = None
    row.problem = None
    row.updated_at = now
