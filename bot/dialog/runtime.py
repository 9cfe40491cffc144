"""The dialog runtime: one inbound event, one transaction.

For each event the runtime marks the update as processed (a duplicate stops
there), loads and locks the chat's conversation, resolves a pressed or typed
option, runs the current step of the current flow (or starts a flow for a
command), stores the new state with every effect of the step, and commits.
Only then does the transport send the replies, so a person is never told
something that the database does not hold.

Before any of that, a person who sends faster than the flood limit allows
(``[dialog] rate_limit_messages`` in ``rate_limit_seconds``) is answered
once per window that they send too fast, and their other messages are
dropped without being processed or recorded. Officers, the bootstrap admins
and the local console are not limited.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.dialog import choices, smalltalk
from bot.dialog.flood import FloodLimiter, Verdict
from bot.dialog.flow import VIA, AfterCommit, Flow, FlowRegistry, Turn
from bot.dialog.types import Inbound, Next, Option, Outgoing, Reply
from bot.services.container import Services
from storage.models import Conversation
from storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

CANCEL_COMMANDS = ("huy", "cancel")
# The two answers to "you typed 'Huy': cancel, or is it what you meant to send?"
CANCEL_TYPED = "dialog:cancel"
KEEP_TYPED = "dialog:keep"
TYPED_KEY = "dialog:typed"  # in the conversation's data while that question is open
HOME_FLOW = "home"  # free text outside any flow, and the main menu
# Staff commands that work typed without the slash (Zalo's keyboard hides it), by staff and the
# bootstrap admins, where no free text is expected: besides these, every staff-only flow's
# commands. Never "roi" (leave), which is "rồi" typed without accents.
BARE_STAFF_COMMANDS = frozenset({"moi", "thuhoi", "dscanbo", "trogiup", "help"})
# "dangky ABCD2345" typed bare by anyone: the word and a code-shaped argument, nothing else.
_BARE_JOIN = re.compile(r"^dangky\s+([A-Za-z0-9]{6,32})$", re.IGNORECASE)
MAX_CHAINED_FLOWS = 6
# The terminal chat of whoever runs the bot: trusted, and scripts pipe whole conversations into it.
UNLIMITED_CHANNELS = frozenset({"console"})
MAX_TEXT = 10_000  # more than any channel delivers (Telegram: 4,096); a description part keeps 4,000
MAX_ID = 64  # the width of the chat, user and update id columns
MAX_NAME = 200  # the width of display_name
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Result:
    messages: list[Outgoing]
    duplicate: bool = False
    notice: str | None = None  # a short text for the transport's button acknowledgement
    limited: bool = False  # refused by the flood limit: nothing was processed or stored
    queued: bool = False  # the transaction put messages in the outbox (officers' notices...)


class DialogEngine:
    def __init__(self, db: Database, services: Services, registry: FlowRegistry) -> None:
        self.db = db
        self.services = services
        self.registry = registry
        dialog = services.config.dialog
        self.flood = (
            FloodLimiter(dialog.rate_limit_messages, dialog.rate_limit_seconds) if dialog.rate_limit_messages else None
        )

    async def handle(self, inbound: Inbound) -> Result:
        """Process one inbound event; retried when two transactions collide."""
        checked = sanitized(inbound)
        if checked is None:
            log.warning("refused a %s update whose ids cannot be stored", inbound.channel)
            return Result([])
        inbound = checked
        refused = await self._flood_check(inbound)
        if refused is not None:
            return refused
        for attempt in range(4):
            try:
                async with self.db.unit_of_work() as uow:
                    result, later = await self._handle(uow, inbound)
                break
            except (IntegrityError, DBAPIError) as exc:
                if attempt == 3 or not _is_conflict(exc):
                    raise
                log.info("transaction conflict on %s, retrying", inbound.channel)
        else:
            raise AssertionError("unreachable")
        if later:
            result = await self._after_commit(inbound, result, later)
        return result

    async def _after_commit(self, inbound: Inbound, result: Result, later: list[AfterCommit]) -> Result:
        """Run the turn's after-commit jobs (Turn.after_commit); their replies follow the turn's."""
        messages = list(result.messages)
        for job in later:
            try:
                replies = await job(self.db)
            except Exception:
                # The turn is committed and its update claimed: say so now, it will not come back.
                log.exception("error in the after-commit work of a %s update", inbound.channel)
                language = self.services.config.deployment.language
                replies = [Reply(self.services.catalog.text(language, "dialog.error"))]
            messages.extend(Outgoing(inbound.channel, inbound.chat_id, reply.text) for reply in replies)
        return dataclasses.replace(result, messages=messages, queued=True)

    async def _flood_check(self, inbound: Inbound) -> Result | None:
        """None to process the event; else what to answer a person over the flood limit."""
        if self.flood is None or inbound.channel in UNLIMITED_CHANNELS:
            return None
        key = (inbound.channel, inbound.user_id)
        now = self.services.clock().timestamp()
        verdict = self.flood.take(key, now)
        if verdict is Verdict.PASS:
            return None
        if self.services.is_super_admin(inbound):
            self.flood.exempt(key, now)
            return None
        if verdict is Verdict.DROP:
            # The warning earlier in this window looked the person up: not an officer. A flood
            # costs no database work.
            log.info("flood limit on %s: update %s dropped", inbound.channel, inbound.update_id)
            return Result([], limited=True)
        async with self.db.unit_of_work() as uow:
            staff = await uow.staff.find(inbound.channel, inbound.user_id)
            citizen = await uow.citizens.find(inbound.channel, inbound.user_id) if staff is None else None
        if staff is not None:
            self.flood.exempt(key, now)
            return None
        log.info("flood limit on %s: update %s answered with a warning", inbound.channel, inbound.update_id)
        text = self.services.catalog.text(
            citizen.language if citizen else self.services.catalog.default, "dialog.rate_limited"
        )
        if inbound.kind == "choice":
            # A pressed button is acknowledged with the text, and its message keeps its buttons.
            return Result([], notice=text, limited=True)
        return Result([Outgoing(inbound.channel, inbound.chat_id, text)], limited=True)

    async def _handle(self, uow: UnitOfWork, inbound: Inbound) -> tuple[Result, list[AfterCommit]]:
        if not await uow.updates.claim(inbound.channel, inbound.update_id):
            return Result([], duplicate=True), []
        now = self.services.clock()
        released = 0
        if inbound.channel in self.services.reply_windows:
            # The person wrote: the channel's reply window opens again, and what was held for
            # them (notices sent while it was closed) goes out now.
            await uow.presence.seen(inbound.channel, inbound.chat_id, now)
            released = await uow.outbox.release(inbound.channel, inbound.chat_id, now)
        ttl = timedelta(hours=self.services.config.dialog.draft_ttl_hours)
        stored = await uow.conversations.load(inbound.channel, inbound.chat_id, lock=uow.dialect == "postgresql")
        conversation = stored or Conversation(channel=inbound.channel, chat_id=inbound.chat_id, user_id=inbound.user_id)
        last_exchange = stored.updated_at if stored is not None else None
        citizen = await uow.citizens.get_or_create(
            inbound.channel, inbound.user_id, inbound.chat_id, inbound.display_name
        )
        staff = await uow.staff.find(inbound.channel, inbound.user_id)
        t = self.services.catalog.bind(citizen.language)
        data = copy.deepcopy(conversation.data)
        turn = Turn(inbound, uow, self.services, t, citizen, staff, now, data, reader=self.db.read_only)
        preface: list[Reply] = []
        if conversation.flow and conversation.updated_at < now - ttl:
            preface.append(Reply(t("dialog.expired")))
            _reset(conversation)
            turn.data = {}

        place, shown = (conversation.flow, conversation.step), conversation.options
        if TYPED_KEY in turn.data:
            # "Hủy or keep 'Huy'?" is answered by this event, whatever it is: its options go.
            shown = []
        next_, flow_name, notice = await self._dispatch(turn, conversation, last_exchange)
        replies, flow_name, step_name = await self._follow(turn, next_, flow_name)
        flow, step = (flow_name, step_name) if flow_name and step_name else (None, None)
        messages, options = await self._render(uow, inbound, preface + replies, flow, step)
        # The conversation changes only now, so that it is written once, with all its changes.
        conversation.flow, conversation.step = flow, step
        conversation.data = turn.data if flow else {}
        # Still at the same step and shown no new options (a refusal, a stale button): the options
        # shown before still stand, so typing their numbers keeps working.
        stayed = flow is not None and (flow, step) == place
        conversation.options = options or (shown if stayed else [])
        conversation.updated_at = now
        await uow.conversations.save(conversation)
        return Result(messages, notice=notice, queued=uow.outbox.added > 0 or released > 0), turn.later

    async def _dispatch(
        self, turn: Turn, conversation: Conversation, last_exchange: datetime | None
    ) -> tuple[Next, str | None, str | None]:
        """Decide what runs for this event: a command, a pressed option, or the current step.

        ``last_exchange``: when this chat last got the bot's answer (None: never, or forgotten).
        """
        bare = self._bare_command(turn, conversation)
        if bare is not None:
            turn.inbound = bare
        inbound = turn.inbound
        t = turn.t
        if inbound.kind == "command" and inbound.command:
            if inbound.command in CANCEL_COMMANDS:
                return self._cancel(turn, conversation, typed=False), None, None
            flow = self.registry.commands.get(inbound.command)
            if flow is None and conversation.flow:
                # A mistyped command (on Zalo, any text starting with "/") does not throw away
                # what the person is in the middle of.
                replies = [Reply(t("dialog.unknown_command")), Reply(t("busy.reminder"))]
                return Next(replies, step=conversation.step), conversation.flow, None
            if flow is None:
                return Next([Reply(t("dialog.unknown_command"))], flow=HOME_FLOW, carry={VIA: "menu"}), None, None
            if conversation.flow and not self._may_open(turn, flow):
                refusal = await self._refuse(turn, flow)
                replies = [*refusal.replies, Reply(t("busy.reminder"))]
                return Next(replies, step=conversation.step), conversation.flow, None
            turn.data = {}
            return Next(flow=flow.name, arg=inbound.args.strip() or None), None, None

        token = inbound.token
        if token is None and inbound.kind == "text" and inbound.text:
            if conversation.flow is None:
                # Idle chat: a notice delivered after the last exchange is what a typed number answers.
                token = await self._pick_from_last_notice(turn, conversation, last_exchange)
            if token is None:
                token = choices.pick(inbound.text, conversation.options)
        if token is not None:
            resolved = await self._resolve(turn, conversation, token)
            if isinstance(resolved, Next):
                return resolved, conversation.flow, t("dialog.stale_button_short")
            if choices.is_global(resolved):
                name, _, arg = resolved.removeprefix(choices.GLOBAL_PREFIX).partition(":")
                turn.data = {}
                return Next(flow=name, arg=arg or None), None, None
            if resolved == CANCEL_TYPED:
                return self._cancel(turn, conversation, typed=False), None, None
            if resolved == KEEP_TYPED:
                # "Huy" was a name after all: the step gets it as if just typed.
                kept = str(turn.data.get(TYPED_KEY, ""))
                turn.inbound = dataclasses.replace(inbound, kind="text", text=kept, token=None)
            else:
                turn.choice = resolved
        elif inbound.kind == "text" and (went := await self._go_back(turn, conversation)) is not None:
            # "quay lại" in a flow that knows its previous question: one step back, nothing lost.
            return went, conversation.flow, None
        elif inbound.kind == "text" and (intent := smalltalk.cancel_intent(inbound.text or "")):
            # "hủy", "thôi", "quay lại" typed without the slash: no option of this step says so.
            if intent == "sure" or TYPED_KEY in turn.data or not self._takes_free_text(conversation):
                return self._cancel(turn, conversation, typed=True), None, None
            turn.data[TYPED_KEY] = turn.text
            return Next([self._cancel_or_keep(turn)], step=conversation.step), conversation.flow, None

        turn.data.pop(TYPED_KEY, None)
        if conversation.flow and conversation.step:
            flow = self.registry.get(conversation.flow)
            step = flow.steps.get(conversation.step) if flow else None
            if flow is not None and step is not None:
                if not self._may_open(turn, flow):
                    # Access is checked before every step, not only when the flow opened: an
                    # officer removed in the middle of an action cannot finish it.
                    _reset(conversation)
                    turn.data = {}
                    return await self._refuse(turn, flow, at=f"{flow.name}.{conversation.step}"), None, None
                return await step(turn), conversation.flow, None
            log.warning("conversation in unknown step %s.%s, resetting", conversation.flow, conversation.step)
            _reset(conversation)
            turn.data = {}
        return Next(flow=HOME_FLOW, carry={VIA: "free_text"}), None, None

    async def _go_back(self, turn: Turn, conversation: Conversation) -> Next | None:
        if not smalltalk.is_back(turn.inbound.text or "") or not conversation.flow or not conversation.step:
            return None
        flow = self.registry.get(conversation.flow)
        if flow is None or flow.back_step is None or not self._may_open(turn, flow):
            return None
        return await flow.back_step(turn, conversation.step)

    def _bare_command(self, turn: Turn, conversation: Conversation) -> Inbound | None:
        """A command typed without the slash ("hopthu", "xem CN-2026-00001"), when unambiguous.

        Only where the current step does not take free text (an officer's reply may begin with
        "xem"), only the exact ASCII command word, and, but for joining with a code, only for
        staff and the bootstrap admins: to a citizen "xem" or "lich" are just words.
        """
        inbound = turn.inbound
        text = (inbound.text or "").strip()
        if inbound.kind != "text" or not text or self._takes_free_text(conversation):
            return None
        word, _, args = text.partition(" ")
        word = word.lower()
        if not word.isascii():
            return None
        if _BARE_JOIN.match(text):
            return dataclasses.replace(inbound, kind="command", text="/" + text, command="dangky", args=args.strip())
        flow = self.registry.commands.get(word)
        if flow is None or not (flow.staff_only or word in BARE_STAFF_COMMANDS):
            return None
        if turn.staff is None and not self.services.is_super_admin(inbound):
            return None
        return dataclasses.replace(inbound, kind="command", text="/" + text, command=word, args=args.strip())

    def _takes_free_text(self, conversation: Conversation) -> bool:
        flow = self.registry.get(conversation.flow) if conversation.flow else None
        return flow is not None and conversation.step in flow.free_text

    def _cancel_or_keep(self, turn: Turn) -> Reply:
        """'Huy' typed where a name or a description is expected: a cancel, or what they meant to send?"""
        typed = turn.data[TYPED_KEY]
        return Reply(
            turn.t("dialog.cancel_or_keep", typed=typed),
            (
                Option(turn.t("dialog.cancel_button"), CANCEL_TYPED),
                Option(turn.t("dialog.keep_button", typed=typed), KEEP_TYPED),
            ),
        )

    def _cancel(self, turn: Turn, conversation: Conversation, *, typed: bool) -> Next:
        """Drop what is in progress and show the menu; a typed word when idle just gets the menu."""
        was_busy = conversation.flow is not None
        flow = self.registry.get(conversation.flow) if conversation.flow else None
        said = flow.cancelled.get(conversation.step or "", "dialog.cancelled") if flow else "dialog.cancelled"
        _reset(conversation)
        turn.data = {}
        if was_busy:
            return Next([Reply(turn.t(said))], flow=HOME_FLOW, carry={VIA: "menu"})
        if typed:
            return Next(flow=HOME_FLOW, carry={VIA: "menu"})
        return Next([Reply(turn.t("dialog.nothing_to_cancel"))], flow=HOME_FLOW, carry={VIA: "menu"})

    async def _resolve(self, turn: Turn, conversation: Conversation, token: str) -> str | Next:
        """The value behind a token, or a reply saying the button can no longer be used."""
        inbound = turn.inbound
        record = await turn.uow.choices.get(token)
        valid = (
            record is not None
            and record.channel == inbound.channel
            and record.chat_id == inbound.chat_id
            and record.expires_at >= turn.now
        )
        if record is None or not valid:
            log.warning("refused button token on %s chat %s", inbound.channel, inbound.chat_id)
            return Next([Reply(turn.t("dialog.stale_button"))], step=conversation.step)
        if record.flow is not None and (record.flow, record.step) != (conversation.flow, conversation.step):
            return Next([Reply(turn.t("dialog.stale_button"))], step=conversation.step)
        return record.value

    async def _pick_from_last_notice(
        self, turn: Turn, conversation: Conversation, last_exchange: datetime | None
    ) -> str | None:
        """Numbered answers to the newest notice with options delivered after the last exchange.

        A typed number answers the newest list the person saw. A notice is seen when the channel
        delivered it, which may be after an exchange that showed the menu even though the notice
        was queued before it (an officer resolved a case while the citizen was at the menu):
        "4" then rates the case, it does not open the fourth menu entry. Delivered at the very
        moment of the exchange (a clock too coarse to tell), the exchange's own list wins.
        """
        latest, sent_at = await turn.uow.outbox.last_delivered_options(
            turn.inbound.channel, turn.inbound.chat_id, since=last_exchange
        )
        if not latest or (sent_at is not None and sent_at == last_exchange and conversation.options):
            return None
        token = choices.pick(turn.inbound.text or "", latest)
        record = await turn.uow.choices.get(token) if token is not None else None
        # An expired notice (someone back after weeks) is no answer: their words go on as typed.
        return token if record is not None and record.expires_at >= turn.now else None

    async def _follow(
        self, turn: Turn, next_: Next, flow_name: str | None
    ) -> tuple[list[Reply], str | None, str | None]:
        """Apply a step's decision, starting the flows it hands over to; return the new (flow, step)."""
        replies: list[Reply] = []
        for _ in range(MAX_CHAINED_FLOWS):
            replies.extend(next_.replies)
            if next_.flow is None:
                return replies, flow_name, next_.step
            flow = self.registry.get(next_.flow)
            if flow is None:
                raise LookupError(f"no flow named {next_.flow}")
            # A flow starts with what the previous one handed over, never with what was typed.
            turn.data = copy.deepcopy(next_.carry)
            turn.arg = next_.arg
            turn.entered = True
            turn.choice = None
            flow_name = flow.name
            if not self._may_open(turn, flow):
                next_ = await self._refuse(turn, flow)
                continue
            next_ = await flow.steps[flow.entry](turn)
        raise RuntimeError("flows handed over to each other too many times")

    def _may_open(self, turn: Turn, flow: Flow) -> bool:
        """Whether this person may be in this flow now: asked when it opens and before each step."""
        return not flow.staff_only or turn.staff is not None or self.services.is_super_admin(turn.inbound)

    async def _refuse(self, turn: Turn, flow: Flow, *, at: str | None = None) -> Next:
        """An officer's flow opened, or one of its steps reached, by someone else: a plain refusal, audited."""
        await turn.uow.audit.record(
            channel=turn.inbound.channel,
            actor=turn.inbound.user_id,
            staff_id=None,
            action=f"step:{at}" if at else f"open:{flow.name}",
            target=None,
            allowed=False,
        )
        return Next([Reply(turn.t("staff.not_allowed"))])

    async def _render(
        self, uow: UnitOfWork, inbound: Inbound, replies: list[Reply], flow: str | None, step: str | None
    ) -> tuple[list[Outgoing], list[list[str]]]:
        ttl = timedelta(days=self.services.config.dialog.button_ttl_days)
        messages: list[Outgoing] = []
        options: list[list[str]] = []
        for reply in replies:
            message, pairs = await choices.render(
                uow,
                inbound.channel,
                inbound.chat_id,
                reply,
                flow=flow,
                step=step,
                now=self.services.clock(),
                ttl=ttl,
            )
            messages.append(message)
            if pairs:
                options = pairs
        return messages, options


def sanitized(inbound: Inbound) -> Inbound | None:
    """The event as the database can store it, or None when its ids cannot be anyone's.

    Channels deliver what people type, and a hostile webhook body anything: NUL characters
    (PostgreSQL refuses them in text) are removed, lone surrogates (no encoding holds them)
    become U+FFFD, texts are cut at :data:`MAX_TEXT` and names at :data:`MAX_NAME`, and a
    location that is not on Earth is treated as an unsupported message.
    """
    ids = [_storable(value) for value in (inbound.update_id, inbound.chat_id, inbound.user_id)]
    if not all(ids) or any(len(value) > MAX_ID for value in ids):
        return None
    changes: dict[str, object] = {}
    if ids != [inbound.update_id, inbound.chat_id, inbound.user_id]:
        changes.update(update_id=ids[0], chat_id=ids[1], user_id=ids[2])
    for name in ("text", "command", "args", "token", "attachment", "phone", "display_name", "other"):
        value = getattr(inbound, name)
        if value is None:
            continue
        fixed = _storable(value)[: MAX_NAME if name == "display_name" else MAX_TEXT]
        if fixed != value:
            changes[name] = fixed
    if inbound.location is not None:
        lat, lon = inbound.location
        if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
            changes.update(kind="other", other="location", location=None)
    return dataclasses.replace(inbound, **changes) if changes else inbound  # type: ignore[arg-type]


def _storable(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def _reset(conversation: Conversation) -> None:
    conversation.flow = None
    conversation.step = None
    conversation.data = {}
    conversation.options = []


def _is_conflict(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    text = str(exc).lower()
    return any(word in text for word in ("deadlock", "could not serialize", "database is locked"))
