"""Options become opaque, expiring tokens bound to one chat.

A button never carries its meaning to the channel: Telegram's callback data is
a random token, and the value behind it stays in the database with the chat it
was shown in. Zalo and the console show numbered lines; typing the number, a
number word or the label picks the option, and a typed yes or no ("dạ có",
"không") picks the option of a yes/no question that gives that answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.dialog import smalltalk
from bot.dialog.types import Button, Outgoing, Reply
from bot.text import fold, small_number
from storage.uow import UnitOfWork

GLOBAL_PREFIX = "flow:"

_NUMBER_WORDS = {
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
    "muoi": 10,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


def new_token() -> str:
    return secrets.token_urlsafe(9)


def is_global(value: str) -> bool:
    return value.startswith(GLOBAL_PREFIX)


async def render(
    uow: UnitOfWork,
    channel: str,
    chat_id: str,
    reply: Reply,
    *,
    flow: str | None,
    step: str | None,
    now: datetime,
    ttl: timedelta,
) -> tuple[Outgoing, list[list[str]]]:
    """Store tokens for the reply's options; return the message and its (label, token[, means]) list."""
    if not reply.options:
        return Outgoing(channel, chat_id, reply.text, (), reply.photo), []
    batch = new_token()
    expires_at = now + ttl
    buttons = [Button(option.label, new_token()) for option in reply.options]
    await uow.choices.add(
        [
            {
                "token": button.token,
                "channel": channel,
                "chat_id": chat_id,
                "batch": batch,
                "position": position,
                "label": option.label,
                "value": option.value,
                "flow": None if is_global(option.value) else flow,
                "step": None if is_global(option.value) else step,
                "created_at": now,
                "expires_at": expires_at,
            }
            for position, (option, button) in enumerate(zip(reply.options, buttons, strict=True), start=1)
        ]
    )
    columns = max(1, reply.columns)
    rows = tuple(tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns))
    shown = [
        [button.label, button.token, *([option.means] if option.means else [])]
        for option, button in zip(reply.options, buttons, strict=True)
    ]
    return Outgoing(channel, chat_id, reply.text, rows, reply.photo), shown


def pick(text: str, options: Sequence[Sequence[str]]) -> str | None:
    """The token of the option that typed text designates, if any.

    ``options`` are (label, token) pairs in display order, with a third item
    "yes" or "no" for the answers of a yes/no question. Accepted: the number
    ("2", "số 2", "hai"), the label without accents, a typed yes or no that
    one option means ("đồng ý ạ", "ko"), or a part of the label that only one
    option contains.
    """
    folded = fold(text)
    if not folded or not options:
        return None
    words = folded.split()
    if words and words[0] == "so" and len(words) == 2:
        words = words[1:]
    if len(words) == 1:
        word = words[0]
        number = small_number(word, 999) if word.isdecimal() else _NUMBER_WORDS.get(word)
        if number is not None and 1 <= number <= len(options):
            return options[number - 1][1]
    labels = [fold(option[0]) for option in options]
    for label, option in zip(labels, options, strict=True):
        if label == folded:
            return option[1]
    said = smalltalk.answer(text)
    meaning = [option[1] for option in options if said is not None and len(option) > 2 and option[2] == said]
    if len(meaning) == 1:
        # Before the parts of labels: "đồng ý" is in "Tôi đồng ý" and in "Không đồng ý".
        return meaning[0]
    if len(folded) >= 3:
        containing = [option[1] for label, option in zip(labels, options, strict=True) if folded in label]
        if len(containing) == 1:
            return containing[0]
    return None
