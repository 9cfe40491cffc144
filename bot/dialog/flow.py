"""Flows and steps: how ``handlers/`` declares a conversation.

A flow is a named set of small async steps. A step receives a :class:`Turn`
(the inbound event, the conversation's saved data, the unit of work and the
services) and returns a :class:`~bot.dialog.types.Next`. The entry step of a
flow is called when the flow starts and should ask its first question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from bot.dialog.catalog import Translator
from bot.dialog.types import Inbound, Next, Option, Reply
from bot.text import clean

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from bot.services.container import Services
    from storage.models import Citizen, Staff
    from storage.uow import Database, UnitOfWork

# Work done after the turn's commit, outside its unit of work (see Turn.after_commit).
AfterCommit = Callable[["Database"], Awaitable[list[Reply]]]


@dataclass
class Turn:
    inbound: Inbound
    uow: UnitOfWork
    services: Services
    t: Translator
    citizen: Citizen
    staff: Staff | None
    now: datetime
    data: dict[str, Any] = field(default_factory=dict)
    choice: str | None = None
    arg: str | None = None  # a typed command's argument or a button's: user input, never internal state
    entered: bool = False  # True when the step runs because its flow just started
    # Opens a unit of work that only reads, beside the turn's own (Database.read_only).
    reader: Callable[[], AbstractAsyncContextManager[UnitOfWork]] | None = None
    later: list[AfterCommit] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What the person typed, without invisible and control characters (empty for photos, buttons, ...)."""
        return clean(self.inbound.text or "")

    def read_only(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work that only reads, beside the turn's own, for long reads (a report).

        On SQLite the turn's statements run in the event loop's thread; this one's run in
        threads of their own, so a report on a large database does not stop the loop.
        """
        if self.reader is None:
            raise RuntimeError("this turn has no read-only unit of work")
        return self.reader()

    def after_commit(self, job: AfterCommit) -> None:
        """Run ``job`` once this turn has committed, outside its unit of work; its replies
        (text only, no buttons) follow the turn's.

        For long work (a report): on SQLite a turn holds the process's write slot until it
        commits, and every other chat would wait behind it. The job opens its own short units of
        work on the database it is given. If the process dies between the commit and the job,
        the job is lost (the update is not handled again): use it for what can be asked again.
        """
        self.later.append(job)

    def say(self, key: str, *options: Option, columns: int = 1, **values: object) -> Reply:
        return Reply(self.t(key, **values), tuple(options), columns)

    def option(self, key: str, value: str, *, means: Literal["yes", "no"] | None = None, **values: object) -> Option:
        """A button; ``means`` makes it the one a typed yes or no picks."""
        return Option(self.t(key, **values), value, means)

    async def audit(
        self,
        action: str,
        target: str | None,
        *,
        allowed: bool = True,
        detail: dict[str, Any] | None = None,
        staff_id: int | None = None,
    ) -> None:
        """Record who did (or tried) what, for the audit trail of officer actions."""
        await self.uow.audit.record(
            channel=self.inbound.channel,
            actor=self.inbound.user_id,
            staff_id=staff_id if staff_id is not None else (self.staff.id if self.staff else None),
            action=action,
            target=target,
            allowed=allowed,
            detail=detail,
        )


Step = Callable[[Turn], Awaitable[Next]]
# "quay lại" at a step (named): the question before it, or None when there is none (it cancels).
BackStep = Callable[[Turn, str], Awaitable[Next | None]]

# The key of the carried data saying why the home and FAQ flows start: "menu" or "free_text".
VIA = "via"


def goto(step: str, *replies: Reply) -> Next:
    return Next(list(replies), step=step)


def done(*replies: Reply) -> Next:
    return Next(list(replies), step=None)


def start(flow: str, *replies: Reply, arg: str | None = None, carry: dict[str, Any] | None = None) -> Next:
    """Hand over to ``flow``: ``carry`` becomes its data; ``arg`` is only what a typed command could say too."""
    return Next(list(replies), step=None, flow=flow, arg=arg, carry=dict(carry or {}))


class Flow:
    def __init__(self, name: str, *, entry: str, commands: Iterable[str] = (), staff_only: bool = False) -> None:
        self.name = name
        self.entry = entry
        self.commands = tuple(commands)
        # Staff-only: the runtime checks it when the flow opens AND before each of its steps, so
        # that someone removed in the middle of an action cannot finish it.
        self.staff_only = staff_only
        self.steps: dict[str, Step] = {}
        # Steps whose answer is the person's own words (a name, a description, a reply): a word
        # such as "Huy" or "thôi" may be what they mean to send, so it does not cancel unasked.
        self.free_text: set[str] = set()
        # What cancelling at a step says, when "Đã hủy, chưa được lưu" would not be true.
        self.cancelled: dict[str, str] = {}
        # Where "quay lại" goes in this flow; without one it cancels, as "hủy" does.
        self.back_step: BackStep | None = None

    def step(self, name: str, *, free_text: bool = False, cancelled: str | None = None) -> Callable[[Step], Step]:
        def register(function: Step) -> Step:
            if name in self.steps:
                raise ValueError(f"flow {self.name}: step {name} defined twice")
            self.steps[name] = function
            if free_text:
                self.free_text.add(name)
            if cancelled is not None:
                self.cancelled[name] = cancelled
            return function

        return register

    def back(self, function: BackStep) -> BackStep:
        """Register where "quay lại" typed at one of this flow's steps goes."""
        self.back_step = function
        return function

    def __repr__(self) -> str:
        return f"Flow({self.name!r}, steps={sorted(self.steps)})"


class FlowRegistry:
    def __init__(self, flows: Iterable[Flow]) -> None:
        self.flows: dict[str, Flow] = {}
        self.commands: dict[str, Flow] = {}
        for flow in flows:
            if flow.entry not in flow.steps:
                raise ValueError(f"flow {flow.name}: entry step {flow.entry} is not defined")
            self.flows[flow.name] = flow
            for command in flow.commands:
                if command in self.commands:
                    raise ValueError(f"command /{command} belongs to two flows")
                self.commands[command] = flow

    def get(self, name: str) -> Flow | None:
        return self.flows.get(name)
