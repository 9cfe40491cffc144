"""What the web application holds: the bot's app (config, services, database) and the cache."""

from __future__ import annotations

from aiohttp import web

from bot.app import App
from bot.reports.public import SnapshotCache

APP: web.AppKey[App] = web.AppKey("app", App)
SNAPSHOT: web.AppKey[SnapshotCache] = web.AppKey("snapshot", SnapshotCache)
