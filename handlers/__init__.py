"""The conversation flows. Each module declares one :class:`~bot.dialog.flow.Flow`.

Flows call services in ``bot/`` and return replies; they never touch a chat
platform's types or SQL.
"""

from __future__ import annotations

from bot.dialog.flow import Flow, FlowRegistry
from handlers import (
    faq,
    faq_learn,
    followup,
    home,
    language,
    my_cases,
    officer,
    petition,
    privacy,
    reports,
    schedule,
    staff,
    staff_email,
    supervise,
)

FLOWS: tuple[Flow, ...] = (
    home.flow,
    petition.flow,
    faq.flow,
    my_cases.flow,
    schedule.flow,
    privacy.flow,
    privacy.withdraw_flow,
    language.flow,
    officer.inbox,
    officer.case_flow,
    staff.flow,
    staff.help_flow,
    followup.rate_flow,
    followup.supplement_flow,
    followup.appeal_flow,
    faq_learn.flow,
    reports.flow,
    supervise.flow,
    staff_email.flow,
)


def registry() -> FlowRegistry:
    return FlowRegistry(FLOWS)
