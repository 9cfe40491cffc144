"""Hostile inputs (issue 7, item 4): what a public bot receives from phones, copy-paste and attackers.

Inputs: the hand-written corpus in ``tests/data/hostile_inputs.toml`` (blank and invisible
texts, right-to-left and control characters, emoji floods, HTML and Markdown injection,
SQL-looking text, odd numbers and case codes, command look-alikes), texts of more than
4,096 characters built here, hypothesis-generated texts, photos, documents, voice, stickers,
contacts and locations where text is expected, forged, replayed and expired button data,
other citizens' case codes, officer commands from citizens, commands with missing or extra
arguments, and webhook calls without or with a wrong secret on Zalo and Telegram.

For every one: the engine answers (no exception), with at least one message that is valid
for every channel (Telegram HTML that the fake Bot API accepts, within its length limits once
the transport has cut it; Zalo text within 2,000 characters), and the database holds nothing
it should not (no case made of junk, no consent from forged data, the conversation still at a
sensible step). After each batch the same person files a normal petition, which must work.
The flood limit has its own module, ``tests/test_flood.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from bot.app import App, open_app
from bot.dialog import choices
from bot.dialog.types import Outgoing
from bot.outbox import OutboxWorker
from bot.text import clean, fold, plain_text
from bot.transports import zalo
from bot.transports.telegram import TelegramTransport, text_pieces
from storage.models import AuditEntry, Case, Citizen, Conversation, Invite, ProcessedUpdate, Staff
from tests.conftest import make_config
from tests.fakes.telegram_api import BotApiError, FakeTelegram, SentMessage, render
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import Chat, FakeClock
from tests.zalo_helpers import WEBHOOK_SECRET, ZaloCitizen, free_port, running_zalo

ADMIN = "900001"
CORPUS_FILE = Path(__file__).parent / "data" / "hostile_inputs.toml"
CORPUS: dict[str, list[str]] = {
    name: table["texts"] for name, table in tomllib.loads(CORPUS_FILE.read_text(encoding="utf-8")).items()
}
# Texts TOML cannot hold, or that are too long to write out.
LONG = [
    "a" * 4097,
    "<" * 4096,  # 16,384 characters once escaped as &lt;
    "&" * 5000,
    "😀" * 4096,  # 8,192 UTF-16 units: Telegram counts those
    ("Nước ngập <b>ấp</b> & đường 😀 " * 700)[:20_000],
    ("x" * 99) + " " + ("y" * 99_900),
    "\u200b" * 5000,
    "lone \ud800 surrogates \udfff",
]
# Everything typed where a step expects something else (commands are tested on their own).
TYPED = [text for name, texts in CORPUS.items() if name != "commands" for text in texts] + LONG
HINT = "Gõ số thứ tự"
TELEGRAM_LIMIT = 4096


# ------------------------------------------------------------------ what a valid answer is


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def assert_valid_message(message: Outgoing) -> None:
    """What Telegram and Zalo would both accept, and a person can read."""
    assert message.text.strip(), "an empty message"
    assert plain_text(message.text).strip(), f"a message with nothing to read: {message.text!r}"
    pieces = text_pieces(message.text)
    assert pieces, "the Telegram transport sends nothing"
    for piece in pieces:
        try:
            shown = render(piece, "HTML")
        except BotApiError as error:  # what Telegram answers for broken markup: the reply is lost
            raise AssertionError(f"Telegram refuses {piece[:300]!r}: {error.description}") from None
        assert shown.strip(), "Telegram refuses an empty text"
        assert utf16_len(shown) <= TELEGRAM_LIMIT, f"{utf16_len(shown)} UTF-16 units for Telegram"
    for button in message.flat_buttons:
        assert plain_text(button.label).strip() and len(button.token.encode()) <= 64
    for call in zalo.render(message, HINT):
        text = call.params.get("text") or call.params.get("caption") or ""
        assert 1 <= len(text) <= zalo.MAX_TEXT_LENGTH, f"{len(text)} characters for Zalo"


def assert_answered(messages: list[Outgoing], what: object) -> None:
    assert messages, f"no answer to {what!r}"
    for message in messages:
        try:
            assert_valid_message(message)
        except AssertionError as error:
            raise AssertionError(f"answer to {str(what)[:200]!r}: {error}") from None


def assert_short(messages: list[Outgoing], what: object) -> None:
    """A clear answer: a junk argument quoted back is cut short, so each answer is one message."""
    for message in messages:
        assert len(text_pieces(message.text)) == 1, f"the answer to {str(what)[:80]!r} fills several messages"


# ------------------------------------------------------------------ the database


async def count(app: App, model: type, *conditions: Any) -> int:
    async with app.db.unit_of_work() as uow:
        query = select(func.count()).select_from(model)
        for condition in conditions:
            query = query.where(condition)
        return int((await uow.session.exec(query)).one())


async def position(app: App, chat: Chat) -> tuple[str | None, str | None, dict[str, Any]]:
    async with app.db.unit_of_work() as uow:
        conversation = await uow.conversations.load(chat.channel, chat.user_id, lock=False)
    if conversation is None:
        return None, None, {}
    return conversation.flow, conversation.step, conversation.data


async def consent_of(app: App, chat: Chat) -> object:
    async with app.db.unit_of_work() as uow:
        citizen = await uow.citizens.find(chat.channel, chat.user_id)
    return citizen.consent_at if citizen else None


# ------------------------------------------------------------------ walking to a step

# Where junk may leave a chat that was at each step: the same step, or the next one when what
# was sent happens to be acceptable there (any text of two letters is a name).
STEPS: dict[str, set[tuple[str | None, str | None]]] = {
    # A photo at home is offered as the start of a petition (home.photo), asked, not filed.
    "home": {(None, None), ("faq", "offer"), ("faq", "pick"), ("faq", "feedback"), ("home", "photo")},
    "consent": {("home", "consent")},
    "petition_consent": {("petition", "consent")},
    "type": {("petition", "type"), ("petition", "unit")},  # a text naming a type ("tố cáo") is understood
    "unit": {("petition", "unit"), ("petition", "describe")},
    "describe": {("petition", "describe")},
    "phone": {("petition", "phone"), ("petition", "confirm")},
    "name": {("petition", "name"), ("petition", "phone")},
    "address": {("petition", "address"), ("petition", "confirm")},
    "confirm": {("petition", "confirm")},
}
WHERE = {
    "home": (None, None),
    "consent": ("home", "consent"),
    "petition_consent": ("petition", "consent"),
    "type": ("petition", "type"),
    "unit": ("petition", "unit"),
    "describe": ("petition", "describe"),
    "phone": ("petition", "phone"),
    "name": ("petition", "name"),
    "address": ("petition", "address"),
    "confirm": ("petition", "confirm"),
}


async def walk(chat: Chat, step: str) -> None:
    """Bring ``chat`` to ``step`` the way a person would (consenting unless the step is a consent)."""
    await chat.say("/huy")
    if step == "consent":
        await chat.say("/start")
    elif step == "petition_consent":
        await chat.say("/phananh")
    else:
        if "Tôi đồng ý" in " ".join(chat.labels) or not await consent_of(chat.app, chat):
            await chat.say("/start")
            await chat.press("Tôi đồng ý")
        if step != "home":
            await chat.say("/phananh")
        if step not in ("home", "type"):
            await chat.press("Khiếu nại" if step in ("name", "address") else "Kiến nghị")
        if step not in ("home", "type", "unit"):
            await chat.say("kim hoa")
        if step in ("phone", "name", "address", "confirm"):
            await chat.say(WALKED)
            await chat.press("Xong")
        if step == "address":
            await chat.say("Lâm Văn Tố")
            await chat.say("0909123456")
        if step == "confirm":
            await chat.press("Bỏ qua")
    flow, where, _ = await position(chat.app, chat)
    assert (flow, where) == WHERE[step], f"walked to {flow}.{where}, not {step}\n{chat.text}"


async def file_normal_petition(chat: Chat, text: str) -> str:
    """After the junk: a plain petition from the start must still work; returns its code."""
    await chat.say("/huy")
    if not await consent_of(chat.app, chat):
        await chat.say("/start")
        await chat.press("Tôi đồng ý")
    await chat.say("/phananh")
    await chat.press("Kiến nghị")
    await chat.say("hiep my dong")
    await chat.say(text)
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    await chat.press("Gửi")
    match = re.search(r"CN-\d{4}-\d{5}", chat.text)
    assert match and "Đã tiếp nhận" in chat.text, chat.text
    return match.group(0)


# ------------------------------------------------------------------ sending anything


@dataclass(frozen=True)
class Junk:
    kind: str  # text, photo, location, contact, other
    value: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.value[:80]!r}"


MEDIA = [
    Junk("photo", "<b>ảnh</b> & chú thích <script>"),
    Junk("photo", ""),
    Junk("photo", "\u200b\u200d\x00"),
    Junk("other", "document"),
    Junk("other", "voice"),
    Junk("other", "sticker"),
    Junk("other", "video_note"),
    Junk("other", "animation"),
    Junk("other", "poll"),
    Junk("other", "contact"),  # someone else's contact
    Junk("contact", "+84 909 123 456"),  # one's own
    Junk("contact", "<b>0909</b>"),
    Junk("location", ""),
    Junk("other", "unknown"),
]


async def send(chat: Chat, junk: Junk) -> list[Outgoing]:
    if junk.kind == "text":
        return await chat._send(kind="text", text=junk.value)
    if junk.kind == "photo":
        return await chat.photo("AgACAgIAAxkBAAIhostile", caption=junk.value or None)
    if junk.kind == "location":
        return await chat.location(9.75, 106.5)
    if junk.kind == "contact":
        return await chat._send(kind="contact", phone=junk.value)
    return await chat.other(junk.value)


DONE_WORDS = {"xong", "het", "done", "gui"}


@dataclass
class State:
    flow: str | None
    step: str | None
    data: dict[str, Any]
    options: list[list[str]]
    cases: int
    consent: object


async def _state(app: App, chat: Chat) -> State:
    """Where the chat is, what it was shown, how many cases exist, the person's consent: one read."""
    async with app.db.unit_of_work() as uow:
        conversation = await uow.conversations.load(chat.channel, chat.user_id, lock=False)
        citizen = await uow.citizens.find(chat.channel, chat.user_id)
        cases = int((await uow.session.exec(select(func.count()).select_from(Case))).one())
    if conversation is None:
        return State(None, None, {}, [], cases, citizen.consent_at if citizen else None)
    return State(
        conversation.flow,
        conversation.step,
        conversation.data,
        conversation.options,
        cases,
        citizen.consent_at if citizen else None,
    )


async def check_junk(app: App, chat: Chat, step: str, junk: Junk) -> bool:
    """Send one junk input at ``step``; check the answer, what is stored, where the chat is now.

    A text that designates one of the options on screen ("1", "-1", "٣", an option's label)
    is a choice, not junk: it may take the chat anywhere (even file the case at the
    confirmation). Anything else must leave the chat at the step, or at the next one when it
    was an acceptable answer. Returns whether the chat is still at ``step``.
    """
    before = await _state(app, chat)
    choice = junk.kind == "text" and (
        choices.pick(junk.value, before.options) is not None or (step == "describe" and fold(junk.value) in DONE_WORDS)
    )
    assert_answered(await send(chat, junk), junk)
    after = await _state(app, chat)
    flow, where, data = after.flow, after.step, after.data
    if not choice:
        assert (flow, where) in STEPS[step], f"{junk} at {step} left the chat at {flow}.{where}"
        assert after.cases == before.cases, f"{junk} at {step} made a case"
        assert after.consent == before.consent, f"{junk} at {step} changed the consent"
    draft = data.get("draft", {})
    stored = [*data.get("parts", []), *(draft.get(key) for key in ("full_name", "address") if draft.get(key))]
    for value in stored:  # what was typed, without invisible characters (a cut may leave a space at the end)
        assert value.strip() and clean(value) == value.strip(), f"{junk} at {step} stored {value[:200]!r}"
    return (flow, where) == WHERE[step]


# ------------------------------------------------------------------ the corpus at every step


def _share(step: str) -> list[Junk]:
    """A third of the typed corpus (each text goes to three or four of the ten steps), and every medium."""
    offset = sorted(STEPS).index(step) % 3
    return [Junk("text", text) for text in TYPED[offset::3]] + MEDIA


WALKED = "Cống ở ấp Chợ bị nghẹt"  # the description walk() types


@pytest.mark.parametrize("step", sorted(STEPS))
async def test_corpus_at_every_step_of_the_petition(app: App, step: str) -> None:
    people = iter(range(100))

    def person() -> Chat:
        index = f"{sorted(STEPS).index(step):02d}{next(people):02d}"
        return Chat(app, user_id=f"7{index}", channel="telegram", name="<b>Tên</b> &amp; 😀\u202e")

    chat = person()
    await walk(chat, step)
    saved = await _save(app, chat)
    for junk in _share(step):
        if not await check_junk(app, chat, step, junk):
            if step in ("consent", "petition_consent") and await consent_of(app, chat):
                chat = person()  # consent was chosen: only someone new can be asked again
                await walk(chat, step)
                saved = await _save(app, chat)
            else:  # an acceptable answer (a name, a phone) or a choice: back to the step
                await _restore(app, chat, saved)
    descriptions = {case.description for case in await _rows(app, Case)}
    assert descriptions <= {WALKED}, "a case was made of junk"
    code = await file_normal_petition(chat, "Đèn đường ấp Bà Nhì tắt cả tuần")
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
    assert case is not None and case.description == "Đèn đường ấp Bà Nhì tắt cả tuần"


async def _save(app: App, chat: Chat) -> Conversation:
    """The chat's conversation row as it is now, to put the chat back at the same step later."""
    async with app.db.unit_of_work() as uow:
        saved = await uow.conversations.load(chat.channel, chat.user_id, lock=False)
    assert saved is not None
    return Conversation(**saved.model_dump())


async def _restore(app: App, chat: Chat, saved: Conversation) -> None:
    """Put the chat back where it was saved (quicker than walking there again)."""
    async with app.db.unit_of_work() as uow:
        conversation = await uow.conversations.load(chat.channel, chat.user_id, lock=True)
        assert conversation is not None
        for field in ("flow", "step", "data", "options", "updated_at"):
            setattr(conversation, field, copy.deepcopy(getattr(saved, field)))
        await uow.conversations.save(conversation)


async def _rows(app: App, model: type) -> list[Any]:
    async with app.db.unit_of_work() as uow:
        return list((await uow.session.exec(select(model))).all())


# ------------------------------------------------------------------ generated texts

# Characters that break naive code: markup, quotes, escapes, invisible and direction marks,
# controls, combining marks, emoji and their joiners, non-ASCII digits.
DANGEROUS = [
    *"<>&\"'`*_[]()~|#\\/%$;{}:=\n\t\r ",
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\u00a0", "\u00ad", "\u200b", "\u200c", "\u200d", "\u200e",
    "\u200f", "\u2028", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff", "\ufffd", "\u0301", "\u0323",
    "😀", "👨", "\u200d", "🏿", "🇻", "🇳", "²", "①", "١", "٣", "đ", "Ư", "ấ", "ỹ",
]  # fmt: skip
WORDS = [
    "phản ánh", "khiếu nại", "tố cáo", "xong", "gửi", "bỏ qua", "kim hoa", "hiệp mỹ", "1", "2", "hai",
    "CN-2026-00001", "<b>", "</b>", "<script>", "&amp;", "DROP TABLE", "' OR 1=1 --", "*", "_", "`",
    "😀", "\u202e", "\u200b", "\x00", "/huy", "0909123456",
]  # fmt: skip
hostile_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from(DANGEROUS), min_size=1, max_size=120),
    st.lists(st.sampled_from(WORDS + DANGEROUS), min_size=1, max_size=25).map(" ".join),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=25).map("".join),
    st.tuples(st.sampled_from(["<", "&", "😀", "a ", "\u200b", "ấ"]), st.integers(1000, 6000)).map(
        lambda pair: pair[0] * pair[1]
    ),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),  # lone surrogates too
)
GENERATED_EXAMPLES = 60
_snapshots: dict[tuple[int, str], tuple[Chat, Conversation]] = {}


async def _at(app: App, step: str) -> Chat:
    """A chat put back at ``step`` before each example (its conversation row as first saved there)."""
    key = (id(app), step)
    if key not in _snapshots:
        chat = Chat(app, user_id=f"8{sorted(STEPS).index(step):02d}01", channel="zalo")
        await walk(chat, step)
        _snapshots[key] = (chat, await _save(app, chat))
    chat, saved = _snapshots[key]
    await _restore(app, chat, saved)
    return chat


@settings(
    max_examples=GENERATED_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(step=st.sampled_from(sorted(STEPS)), text=hostile_text)
async def test_generated_text_at_any_step(app: App, step: str, text: str) -> None:
    chat = await _at(app, step)
    await check_junk(app, chat, step, Junk("text", text))


async def test_after_generated_texts_a_petition_still_works(app: App) -> None:
    chat = Chat(app, user_id="89901", channel="zalo")
    for text in ["\u202e\x00<b>", "😀" * 3000, "' OR 1=1 --", "\u200b", "²"]:
        for step in ("describe", "unit", "confirm"):
            await walk(chat, step)
            await check_junk(app, chat, step, Junk("text", text))
    code = await file_normal_petition(chat, "Cầu khỉ ấp Sóc Cụt gãy tay vịn")
    assert code == "CN-2026-00001"


# ------------------------------------------------------------------ commands


async def _officers(app: App) -> dict[str, Chat]:
    admin = Chat(app, user_id=ADMIN, channel="telegram", name="Quản trị")
    await admin.say("/moi Hiệp Mỹ Đông canbo")  # where file_normal_petition sends its cases
    code = re.search(r"/dangky ([A-Z0-9]{8})", admin.text)
    assert code, admin.text
    officer = Chat(app, user_id="7001", channel="telegram", name="Cán bộ Hiệp Mỹ Đông")
    await officer.say(f"/dangky {code.group(1)}")
    assert "đã được ghi nhận" in officer.text, officer.text
    return {"admin": admin, "officer": officer}


CITIZEN_COMMANDS = [
    *CORPUS["commands"],
    "/xem CN-2026-00001 thêm chữ",
    "/xem 1",
    "/xem " + "A" * 300,
    "/xem \x00",
    "/xem ²",
    "/xem 99999999999999",
    "/hopthu 2",
    "/hopthu ²",
    "/moi Kim Hòa canbo",
    "/moi " + "x" * 5000 + " canbo",
    "/dangky ABCDEFGH",
    "/dangky " + "C" * 300,
    "/dangky \x00",
    "/dangky ' OR '1'='1",
    "/thuhoi 7001",
    "/thuhoi " + "B" * 300,
    "/faq them CN-2026-00001",
    "/faq gan CN-2026-00001 ho-tich-khai-sinh",
    "/baocao tuan",
    "/hoso",
    "/hoso CN-2026-00001",
    "/hoso cn-2026-00001 CN-2026-00001",
    "/hoso <b>CN-2026-00001</b>",
    "/hoso " + "CN-2026-00001 " * 400,
    "/hoso \u202eCN-2026-00001",
    "/hoi",
    "/hoi " + "<&>" * 2000,
    "/lichtiepdan kim hoa thêm chữ",
    "/lichtiepdan ' OR 1=1",
    "/dulieu xoa het",
    "/start " + "payload" * 20,
    "/huy huy huy",
    "/" + "x" * 5000,
    "/phananh@tiepdan_bot",
    "/tocao " + "\u200b" * 50,
]
OFFICER_COMMANDS = [
    "/xem",
    "/xem   ",
    "/xem ²",
    "/xem ①",
    "/xem 99999999999",
    "/xem -1",
    "/xem 0",
    "/xem \x00",
    "/xem " + "Z" * 300,
    "/xem CN-2026-00001 CN-2026-00002",
    "/xem accept:1",
    "/xem flow:case:accept:1",
    "/hopthu ²",
    "/hopthu 99999999999",
    "/hopthu -3",
    "/hopthu abc",
    "/faq",
    "/faq them",
    "/faq them 99999999999",
    "/faq them ²",
    "/faq gan",
    "/faq gan CN-2026-00001",
    "/faq gan CN-2026-00001 " + "e" * 300,
    "/baocao " + "<b>" * 100,
    "/roi extra words",
    "/dangky",
    "/dangky " + "\x00" * 3,
]
ADMIN_COMMANDS = [
    "/moi",
    "/moi canbo",
    "/moi Kim Hòa",
    "/moi Kim Hòa vua",
    "/moi " + "x" * 5000 + " canbo",
    "/moi <script>alert(1)</script> canbo",
    "/moi \x00 canbo",
    "/moi Kim Hòa canbo thêm chữ",
    "/thuhoi",
    "/thuhoi " + "B" * 300,
    "/thuhoi \x00",
    "/thuhoi 99999999999999999999",
    "/thuhoi <b>x</b>",
    "/dscanbo extra",
]


async def test_commands_with_missing_extra_or_junk_arguments(app: App) -> None:
    people = await _officers(app)
    owner = Chat(app, user_id="70501", channel="telegram")
    code = await file_normal_petition(owner, "Rác ở chợ Cầu Ngang không ai dọn")
    citizen = Chat(app, user_id="70502", channel="telegram")
    await citizen.say("/start")
    await citizen.press("Tôi đồng ý")
    staff_before, invites_before = await count(app, Staff), await count(app, Invite)
    for text in CITIZEN_COMMANDS:
        messages = await citizen.say(text)
        assert_answered(messages, text)
        assert_short(messages, text)
        assert "Rác ở chợ" not in citizen.text, f"{text!r} showed another citizen's case"
    assert await count(app, Staff) == staff_before, "a citizen became staff"
    assert await count(app, Invite) == invites_before, "a citizen made an invite"
    refused = await count(app, AuditEntry, AuditEntry.actor == "70502", AuditEntry.allowed == False)  # noqa: E712
    assert refused >= 10, "refusals are audited"
    assert await count(app, AuditEntry, AuditEntry.actor == "70502", AuditEntry.allowed == True) == 0  # noqa: E712
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
    assert case is not None and case.status == "received", "a citizen's commands changed the case"
    for who, commands in (("officer", OFFICER_COMMANDS), ("admin", ADMIN_COMMANDS)):
        for text in commands:
            messages = await people[who].say(text)
            assert_answered(messages, f"{who} {text}")
            assert_short(messages, f"{who} {text}")
    assert await count(app, Staff) == staff_before, "junk /moi, /dangky or /thuhoi changed the staff"
    assert await file_normal_petition(citizen, "Cống thoát nước ấp Chợ bị vỡ") != code


async def test_commands_in_the_middle_of_a_petition_keep_the_draft(app: App) -> None:
    """An unknown command or an officer command from a citizen answers, and the draft goes on."""
    chat = Chat(app, user_id="70601", channel="zalo")
    await walk(chat, "describe")
    await chat.say("Đường ấp Chợ ngập sâu")
    for text in ("/khongcolenhnay", "/xem CN-2026-00001", "/hopthu", "/ấp 3 cũng ngập", "/baocao", "/faq them 1"):
        assert_answered(await chat.say(text), text)
        flow, step, data = await position(app, chat)
        assert (flow, step) == ("petition", "describe"), f"{text!r} dropped the petition"
        assert data["parts"] == ["Đường ấp Chợ ngập sâu"]
    await chat.say("1")  # the "Xong" option, typed as its number, still works
    assert "không bắt buộc" in chat.text, chat.text


# ------------------------------------------------------------------ other citizens' case codes


async def test_other_citizens_case_codes_reveal_nothing(app: App) -> None:
    owner = Chat(app, user_id="71001", channel="telegram")
    code = await file_normal_petition(owner, "Tôi tố giác ông hàng xóm lấn đất")
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
    assert case is not None
    await owner.say("/hoso")
    own_token = owner.last[0].flat_buttons[0].token
    stranger = Chat(app, user_id="71002", channel="telegram")
    await file_normal_petition(stranger, "Đèn đường hư")
    attempts = [
        f"/hoso {code}",
        f"/hoso {code.lower()}",
        f"/hoso {code} {code}",
        f"/hoso mã {code} của tôi",
        f"/xem {code}",
        f"/xem {case.id}",
    ]
    for text in attempts:
        assert_answered(await stranger.say(text), text)
        assert "lấn đất" not in stranger.text and "hàng xóm" not in stranger.text, text
    await stranger.say("/hoso")
    for typed in (code, code.lower(), f" {code} ", f"xem {code} giúp"):
        assert_answered(await stranger.say(typed), typed)
        assert "lấn đất" not in stranger.text, typed
        await stranger.say("/hoso")
    assert_answered(await stranger.press_token(own_token), "the owner's button")
    assert "lấn đất" not in stranger.text and "không còn dùng được" in stranger.text


# ------------------------------------------------------------------ forged, replayed and expired buttons

FORGED = [
    "",
    "consent:yes",
    "confirm:send",
    "flow:petition",
    "flow:case:accept:1",
    "flow:rate:1:5",
    "A" * 12,
    "A" * 65,
    "x" * 5000,
    "\x00",
    "' OR '1'='1",
    "😀😀😀",
    "\u202etoken",
    "%00%27",
    "../../etc/passwd",
]


async def test_forged_replayed_and_expired_buttons(app: App, clock: FakeClock) -> None:
    people = await _officers(app)
    chat = Chat(app, user_id="72001", channel="telegram")
    await chat.say("/start")
    consent_question = chat.last
    yes = next(b.token for m in consent_question for b in m.flat_buttons if "Tôi đồng ý" in b.label)
    stranger = Chat(app, user_id="72002", channel="telegram")
    await stranger.say("/start")
    for token in [*FORGED, yes]:  # forged data, and someone else's real token
        assert_answered(await stranger.press_token(token), token)
        assert "không còn dùng được" in stranger.text, token
    assert await consent_of(app, stranger) is None, "forged data recorded a consent"
    assert await consent_of(app, chat) is None

    # A real officer's notice button pressed from a citizen's chat.
    code = await file_normal_petition(Chat(app, user_id="72003", channel="telegram"), "Cây đổ chắn đường")
    async with app.db.unit_of_work() as uow:
        notes = await uow.outbox.for_chat("telegram", people["officer"].user_id)
    accept = next(
        b.token
        for n in notes
        for b in Outgoing.from_payload(n.channel, n.chat_id, n.payload).flat_buttons
        if "Thụ lý" in b.label
    )
    assert_answered(await stranger.press_token(accept), "an officer's button")
    async with app.db.unit_of_work() as uow:
        case = await uow.cases.by_code(code)
    assert case is not None and case.status == "received", "a citizen accepted a case with a stolen button"

    # Replays: consent pressed twice, "Gửi" pressed again after the case was filed.
    await chat.press_token(yes)
    assert "Cảm ơn" in chat.text
    assert_answered(await chat.press_token(yes), "consent again")
    await chat.say("/phananh")
    await chat.press("Phản ánh")
    await chat.say("my hoa")
    await chat.say("Trụ điện nghiêng")
    await chat.press("Xong")
    await chat.press("Bỏ qua")
    send_button = next(b.token for m in chat.last for b in m.flat_buttons if "Gửi" in b.label)
    edit_button = next(b.token for m in chat.last for b in m.flat_buttons if "Sửa" in b.label)
    await chat.press_token(send_button)
    assert "Đã tiếp nhận" in chat.text
    cases = await count(app, Case)
    for token in (send_button, send_button, edit_button):
        assert_answered(await chat.press_token(token), "a replayed button")
    assert await count(app, Case) == cases, "a replayed button filed the case twice"

    # Expired: a button older than button_ttl_days.
    await chat.say("/phananh")
    kinds = chat.last
    clock.advance(days=app.config.dialog.button_ttl_days, seconds=1)
    await chat.say("/huy")
    await chat.say("/phananh")
    chat.last = kinds
    await chat.press("Tố cáo")
    assert "không còn dùng được" in chat.text
    flow, step, _ = await position(app, chat)
    assert (flow, step) == ("petition", "type")
    assert await file_normal_petition(chat, "Ổ gà trên đường huyện 20") != code


# ------------------------------------------------------------------ Telegram end to end


@dataclass
class TelegramBot:
    tg: FakeTelegram
    app: App
    transport: TelegramTransport
    webhook_url: str = ""
    handled: int = 0

    async def send(self, user: int, act: Callable[[], Awaitable[int]]) -> list[SentMessage]:
        """Do something as the user; the bot's messages once the update is fully handled.

        Every call the bot made must have succeeded, except taking the keyboard off the message
        a forged button press names (the transport tries, and may find no such message).
        """
        seen, errors, before = len(self.tg.messages(user)), len(self.tg.errors), self.handled
        await act()
        await _until(lambda: self.handled > before)
        failed = [error for error in self.tg.errors[errors:] if error[0] != "editMessageReplyMarkup"]
        assert failed == [], self.tg.transcript(user)
        return self.tg.messages(user)[seen:]


@contextlib.asynccontextmanager
async def telegram_bot(database_url: str, clock: FakeClock, *, mode: str = "polling") -> AsyncIterator[TelegramBot]:
    async with FakeTelegram(webhook_retry_delay=0.05) as tg:
        section: dict[str, object] = {"token": tg.token, "base_url": tg.base_url, "mode": mode}
        url = ""
        if mode == "webhook":
            port = free_port()
            url = f"http://127.0.0.1:{port}/telegram"
            section.update(webhook_url=url, webhook_secret=SECRET, webhook_listen="127.0.0.1", webhook_port=port)
        app = await open_app(make_config(database_url, telegram=section), clock=clock, migrate=False)
        worker: OutboxWorker | None = None
        transport = TelegramTransport(app, on_queued=lambda: worker.wake() if worker else None, poll_timeout=1)
        worker = OutboxWorker(app.db, {"telegram": transport}, clock, idle_interval=0.05)
        bot = TelegramBot(tg, app, transport, url)
        process = transport.process

        async def counting(update: Any) -> None:
            try:
                await process(update)
            finally:
                bot.handled += 1

        transport.process = counting  # type: ignore[method-assign]
        outbox = asyncio.create_task(worker.run_forever())
        try:
            await transport.start()
            yield bot
        finally:
            outbox.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outbox
            await transport.stop()
            await app.close()


SECRET = "hostile-webhook_secret"
CITIZEN = 73001


async def test_hostile_petition_over_telegram(database_url: str, clock: FakeClock) -> None:
    """Every answer reaches the fake Bot API, which refuses broken HTML and long texts like Telegram."""
    async with telegram_bot(database_url, clock) as bot:
        tg = bot.tg

        async def say(text: str) -> list[SentMessage]:
            replies = await bot.send(CITIZEN, lambda: tg.send_text(CITIZEN, text, first_name="<b>Dân</b> & 😀"))
            assert replies, f"no answer to {text[:80]!r}\n{tg.transcript(CITIZEN)}"
            return replies

        async def press(replies: list[SentMessage], label: str) -> list[SentMessage]:
            message = next(m for m in reversed(replies) if label in m.button_labels())
            return await bot.send(CITIZEN, lambda: tg.press(CITIZEN, message, label))

        async def junk(text: bool = True) -> None:
            """Things that are not text, and text that is too much, where text is expected."""
            acts: list[Callable[[], Awaitable[int]]] = [
                lambda: tg.send_sticker(CITIZEN),
                lambda: tg.send_voice(CITIZEN),
                lambda: tg.send_document(CITIZEN, caption="<script>alert(1)</script>"),
                lambda: tg.send_contact(CITIZEN, "0909 000 111", own=False),
                lambda: tg.press_data(CITIZEN, 1, "consent:yes"),
                lambda: tg.send_text(CITIZEN, "/khongcolenhnay <b>"),
            ]
            if text:  # in the description, text is what is wanted
                acts.append(lambda: tg.send_text(CITIZEN, "<b>x</b><script>" + "&<>😀" * 1000))
            for act in acts:
                assert await bot.send(CITIZEN, act), tg.transcript(CITIZEN)

        replies = await say("/start")
        await junk()
        replies = await press(replies, "✅ Tôi đồng ý")
        replies = await say("/phananh")
        await junk()
        replies = await press(replies, "Khiếu nại")
        await junk()
        await say("kim hoa")
        await junk(text=False)
        description = "<b>x</b><script>alert('xss')</script> *đậm* _nghiêng_ `code` [a](tg://user?id=1) & "
        await say(description + "😀" * 3000)
        await say(("Nước ngập <ấp 3> & " * 400)[:4096])
        replies = await say("xong")
        await junk()
        replies = await say("Lâm <i>Văn</i> Tố")
        assert any("chỉ cần" in (m.plain_text or "") for m in replies)  # markup is no name: asked once
        await junk()
        await say("Lâm <i>Văn</i> Tố")  # typed again: taken, and escaped wherever it is shown
        await say("0909 123 456")
        await junk()
        replies = await say("ấp Chợ <b>số 5</b> & \u202eđường")
        await junk()
        summary = next(m for m in replies if "📨 Gửi" in m.button_labels())
        assert "&lt;b&gt;x&lt;/b&gt;&lt;script&gt;" in (summary.text or "") or "<b>x</b><script>" in (
            summary.plain_text or ""
        )
        replies = await press([summary], "📨 Gửi")
        assert any("Đã tiếp nhận" in (m.text or "") for m in replies), tg.transcript(CITIZEN)
        [case] = await _rows(bot.app, Case)
        assert case.description.startswith(description.strip())

        # The admin gets the notice through the outbox and opens the card with the whole description.
        notice = await tg.next_message(int(ADMIN))
        assert case.code in (notice.text or "")
        card = await bot.send(int(ADMIN), lambda: tg.send_text(int(ADMIN), f"/xem {case.code}"))
        shown = "".join(m.plain_text or "" for m in card)
        assert "<b>x</b><script>alert('xss')</script>" in shown, "the description reaches the officer as typed"
        assert [error for error in tg.errors if error[0] != "editMessageReplyMarkup"] == []


async def _post(url: str, data: bytes | str, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=data, headers=headers) as response:
        return response.status


def _telegram_update(update_id: int, text: str, *, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    sender = {"id": CITIZEN, "is_bot": False, "first_name": "Dân"}
    message = {
        "message_id": update_id,
        "date": 1798358400,
        "chat": chat or {"id": CITIZEN, "type": "private", "first_name": "Dân"},
        "from": sender,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


async def test_telegram_webhook_refuses_forged_calls(database_url: str, clock: FakeClock) -> None:
    async with telegram_bot(database_url, clock, mode="webhook") as bot:
        url, header = bot.webhook_url, "X-Telegram-Bot-Api-Secret-Token"
        body = json.dumps(_telegram_update(5001, "/start"))
        json_type = {"Content-Type": "application/json"}
        refused = [
            ({}, 401),
            ({header: ""}, 403),
            ({header: SECRET.upper()}, 403),
            ({header: SECRET + "\t" + SECRET}, 403),
            ({header: SECRET.replace("-", "_")}, 403),
            ({header: SECRET + SECRET}, 403),
            ({header: SECRET[:-1] + "X"}, 403),
            ({header: "' OR '1'='1"}, 403),
            ({header: "x" * 4000}, 403),
            ({"X-Bot-Api-Secret-Token": SECRET}, 401),  # Zalo's header
            ({"Authorization": f"Bearer {SECRET}"}, 401),
        ]
        for headers, status in refused:
            assert await _post(url, body, json_type | headers) == status, headers
        assert await count(bot.app, ProcessedUpdate) == 0 and await count(bot.app, Citizen) == 0
        assert bot.tg.messages(CITIZEN) == []

        good = json_type | {header: SECRET}
        junk_bodies: list[tuple[bytes | str, int]] = [
            (b"", 400),
            (b"not json", 400),
            (b"\xff\xfe\x00", 400),
            ("[]", 200),
            ('"update"', 200),
            ("null", 200),
            ("{}", 200),
            ('{"update_id": "x"}', 200),
            ('{"update_id": 1, "message": "text"}', 200),
            (json.dumps(_telegram_update(5002, "hi", chat={"id": -100123, "type": "group", "title": "g"})), 200),
            (json.dumps(_telegram_update(5003, "hi", chat={"id": -100124, "type": "channel", "title": "c"})), 200),
            (b"{" * 100_000, 400),
            (json.dumps({"update_id": 5004, "padding": "x" * (2 * 1024 * 1024)}), 413),
        ]
        for data, status in junk_bodies:
            assert await _post(url, data, good) == status, str(data)[:80]
        assert await count(bot.app, Citizen) == 0, "junk bodies made a citizen"
        # The real thing still works.
        assert await _post(url, body, good) == 200
        assert "Xin chào" in (bot.tg.messages(CITIZEN)[0].text or "")


# ------------------------------------------------------------------ Zalo


@pytest.fixture
async def fake_zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


def _zalo_update(message_id: str, user: Any, text: Any, chat_type: Any = "PRIVATE") -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": message_id,
            "from": {"id": user, "display_name": "<b>Webhook</b>\x00"},
            "chat": {"id": user, "chat_type": chat_type},
            "date": 1798358400000,
            "text": text,
        },
    }


async def test_zalo_webhook_refuses_forged_calls_and_survives_junk_bodies(
    database_url: str, clock: FakeClock, fake_zalo: FakeZalo
) -> None:
    async with running_zalo(database_url, clock, fake_zalo, mode="webhook") as bot:
        url, header = bot.webhook_url, "X-Bot-Api-Secret-Token"
        body = json.dumps(_zalo_update("m-1", "zalo-u-1", "/start"))
        refused = [
            ({}, 401),
            ({header: ""}, 403),
            ({header: WEBHOOK_SECRET.upper()}, 403),
            ({header: WEBHOOK_SECRET + "\t" + WEBHOOK_SECRET}, 403),
            ({header: WEBHOOK_SECRET[1:]}, 403),
            ({header: WEBHOOK_SECRET * 2}, 403),
            ({header: "x" * 4000}, 403),
            ({"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}, 401),
        ]
        for headers, status in refused:
            assert await _post(url, body, {"Content-Type": "application/json"} | headers) == status, headers
        assert await count(bot.app, ProcessedUpdate) == 0 and await count(bot.app, Citizen) == 0

        good = {"Content-Type": "application/json", header: WEBHOOK_SECRET}
        ignored: list[bytes | str] = [
            "[]",
            "null",
            '"x"',
            "{}",
            '{"message": "text"}',
            json.dumps(_zalo_update("m-2", "", "hi")),
            json.dumps(_zalo_update("m-3", None, "hi")),
            json.dumps(_zalo_update("m-4", "zalo-u-2", "hi", chat_type="GROUP")),
            json.dumps(_zalo_update("m-5", "u" * 500, "hi")),  # no such id fits: refused, not stored
            json.dumps({"message": {"from": {"id": "zalo-u-3", "is_bot": True}, "text": "hi"}}),
        ]
        for data in ignored:
            assert await _post(url, data, good) == 200, str(data)[:80]
        assert await _post(url, b"not json", good) == 400
        assert await _post(url, b"\xff\xfe", good) == 400
        assert await _post(url, json.dumps({"x": "y" * (2 * 1024 * 1024)}), good) == 413
        assert await count(bot.app, Citizen) == 0, "ignored bodies made a citizen"
        assert await count(bot.app, Conversation) == 0

        # Junk from a real person, delivered by the platform: answered, not crashed.
        odd = [
            _zalo_update("m-10", "zalo-u-9", 12345),
            _zalo_update("m-11", "zalo-u-9", None),
            _zalo_update("m-12", "zalo-u-9", ["a"]),
            _zalo_update("m-13", "zalo-u-9", "\x00\u202e<b>"),
            _zalo_update("m-14", "zalo-u-9", "😀" * 5000),
            _zalo_update("m-15" + "9" * 200, "zalo-u-9", "id dài"),
        ]
        for update in odd:
            await fake_zalo.send_raw_update(update)
        await fake_zalo.wait_until(lambda: len(fake_zalo.webhook_deliveries) == len(odd))
        assert [delivery.status for delivery in fake_zalo.webhook_deliveries] == [200] * len(odd)
        await fake_zalo.wait_until(lambda: len(fake_zalo.messages("zalo-u-9")) >= len(odd))
        assert all(fake_zalo.errors_of(method) == [] for method in ("sendMessage", "sendPhoto"))


async def test_hostile_petition_over_zalo(database_url: str, clock: FakeClock, fake_zalo: FakeZalo) -> None:
    """Zalo has no buttons: junk typed at each step is answered and the numbered options come back."""
    async with running_zalo(database_url, clock, fake_zalo) as bot:
        citizen = ZaloCitizen(fake_zalo, user_id="zalo-hostile-1", name="\u202e<b>Tên</b>\x00")
        options = "👉 Gõ số thứ tự"  # the hint under the options, at the end of every answer here

        async def junk(*texts: str) -> None:
            for text in texts:
                await citizen.say(text)
                await citizen.expect(options)
            await citizen.sticker()
            await citizen.expect(options)
            await citizen.say("/ấp 3 ngập")  # a command to Zalo, unknown: the step goes on
            await citizen.expect("gõ /huy để hủy")

        await citizen.consent()
        await citizen.say("1")
        await citizen.expect("Bạn muốn gửi loại nào?")
        await junk("²", "①", "\x00", "😀" * 2500, "' OR 1=1 --", "\u200b", "<b>", "9" * 40)
        await citizen.say("2")
        await citizen.expect("xã, thị trấn nào")
        await junk("\x00", "😀" * 2500, "' OR 1=1 --", "²", "\u200b\u200b")
        await citizen.say("hiep my dong")
        await citizen.expect("Bạn kể lại sự việc")
        await junk("\u200b\u200b", "\x00")
        await citizen.say("<b>x</b><script>alert(1)</script> " + "😀" * 1000)
        await citizen.expect("Đã ghi nhận: 1 tin nhắn, 0 ảnh")
        await citizen.say("1")
        await citizen.expect("không bắt buộc")
        await junk("<b>0909</b>", "²", "0909 123")
        await citizen.say("bo qua")
        await citizen.expect("Kiểm tra lại trước khi gửi")
        await junk("²", "' OR 1=1 --", "\x00")
        await citizen.say("gui")
        await citizen.expect("Đã tiếp nhận")
        [case] = await bot.rows(Case)
        assert case.description == "<b>x</b><script>alert(1)</script> " + "😀" * 1000
        assert all(1 <= len(m.body) <= 2000 for m in fake_zalo.messages(citizen.user_id))
        assert all(fake_zalo.errors_of(method) == [] for method in ("sendMessage", "sendPhoto"))


async def _until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "the bot did not get there in time"
        await asyncio.sleep(0.01)
