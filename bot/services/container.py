"""The services a flow step can use, built once at start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.config import Config
from bot.dialog.catalog import Catalog
from bot.dialog.types import Inbound
from bot.services.deadlines import DeadlineService
from bot.services.faq import FaqIndex
from bot.services.routing import RoutingService


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    config: Config
    catalog: Catalog
    routing: RoutingService
    deadlines: DeadlineService
    faq: FaqIndex
    clock: Callable[[], datetime] = system_clock
    # Channels that may answer a person only for a while after their last message (the Zalo OA),
    # as declared by their transport: the engine records when each person last wrote there.
    reply_windows: dict[str, timedelta] = field(default_factory=dict)
    # Channels that, outside that window, can still reach a person by a template notice to the
    # phone number they gave for a case (the Zalo OA with a ZNS template configured).
    template_notices: set[str] = field(default_factory=set)

    def is_super_admin(self, inbound: Inbound) -> bool:
        """A bootstrap super-admin: the person's id is listed for the channel they write on."""
        return inbound.user_id in self.config.admins.ids(inbound.channel)

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.config.deployment.tz)
