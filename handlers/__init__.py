"""The conversation flows. Each module declares one :class:`~bot.dialog.flow.Flow`.

Flows call services in ``bot/`` and return replies; they never touch a chat
platform's types or SQL.
"""

from __future__ import annotations

from bot.dialog.flow import Flow, FlowRegistry
from handlers import faq, home, my_cases, petition, privacy, schedule

FLOWS: tuple[Flow, ...] = (home.flow, petition.flow, faq.flow, my_cases.flow, schedule.flow, privacy.flow)


def registry() -> FlowRegistry:
    return FlowRegistry(FLOWS)
