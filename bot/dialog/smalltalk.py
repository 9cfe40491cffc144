"""What people type that is not a request: greetings, thanks, "ok", and "thôi" to stop.

Elderly citizens on Zalo or a cheap phone type words, not commands: "alo" to start,
"cảm ơn" to end, "hủy" or "thôi" to stop what they are doing. Matching is on the
folded text (no accents, lower case), on the whole message, so "chào anh" is a
greeting but "chào anh, tôi muốn hỏi khai sinh" is a question. At a step that takes
the person's own words (a name, a description), a cancel word that could be content
("Huy", "thôi", "menu") is asked about, never taken as a cancel unasked.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.text import clean, fold

Kind = Literal["greeting", "thanks", "ack"]
Intent = Literal["sure", "maybe"]

# A whole message that means "stop what I am doing" (as /huy). "Đúng" (fold: "dung") is
# not here: it means "yes".
CANCEL_WORDS = frozenset(
    {
        "huy",
        "huy bo",
        "huy di",
        "huy don",
        "thoi",
        "thoi khoi",
        "thoi khong gui nua",
        "khong gui nua",
        "dung lai",
        "quay lai",
        "tro lai",
        "tro ve",
        "ve menu",
        "menu",
        "thoat",
        "cancel",
        "stop",
    }
)
# Cancel words that cannot be content: "hủy" typed with its accents, phrases no one sends as a
# name or a description. The others ("huy": the name Huy; "thôi", "menu") are only "maybe".
_SURE_ACCENTED = frozenset({"hủy", "huỷ", "hủy bỏ", "huỷ bỏ", "hủy đi", "huỷ đi", "hủy đơn", "huỷ đơn"})
_SURE_FOLDED = frozenset({"huy bo", "huy di", "huy don", "thoi khoi", "thoi khong gui nua", "khong gui nua", "cancel"})
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
# Words a greeting starts with, and the polite words that may follow ("chào anh ạ", "alo ad ơi").
_GREETING_STARTS = frozenset({"alo", "allo", "aloo", "chao", "xin", "hello", "helo", "hi", "hey", "hallo"})
_THANKS_STARTS = frozenset({"cam", "camon", "thanks", "thank", "tks", "thx", "cmon"})
_ACK_STARTS = frozenset({"ok", "oke", "okay", "okie", "da", "vang", "uh", "u", "uhm", "roi", "duoc"})
_POLITE = frozenset(
    {
        "a",
        "oi",
        "nha",
        "nhe",
        "ad",
        "admin",
        "bot",
        "anh",
        "chi",
        "em",
        "ban",
        "co",
        "chu",
        "bac",
        "ong",
        "ba",
        "moi",
        "nguoi",
        "ca",
        "buoi",
        "sang",
        "trua",
        "chieu",
        "toi",
        "ubnd",
        "can",
        "bo",
        "xa",
        "huyen",
        "you",
        "on",
        "nhieu",
        "rat",
        "lam",
        "roi",
        "duoc",
        "vay",
        "the",
        "nho",
        "hieu",
    }
)
_ALLOWED = _GREETING_STARTS | _THANKS_STARTS | _ACK_STARTS | _POLITE
_MAX_WORDS = 6


def cancel_intent(text: str) -> Intent | None:
    """Whether the whole message asks to stop what is in progress: surely, maybe, or not at all.

    "hủy" with its accents, "hủy bỏ", "thôi không gửi nữa" are said only to stop. A bare
    "huy" is also the given name Huy, and "thôi", "menu", "quay lại" can be what a person
    writes: "maybe" (:data:`Intent`), which a step that takes free text asks about.
    """
    folded = fold(text)
    if folded not in CANCEL_WORDS:
        return None
    if folded in _SURE_FOLDED or _lower_words(text) in _SURE_ACCENTED:
        return "sure"
    return "maybe"


def _lower_words(text: str) -> str:
    """Lower case with its accents, punctuation as spaces: "Hủy!" -> "hủy"."""
    return " ".join(_NON_WORD.sub(" ", clean(text).lower()).split())


def kind(text: str) -> Kind | None:
    """Whether a short message is thanks, a greeting or a plain acknowledgement (None: something else).

    Thanks wins ("chào, cảm ơn nhé" ends a conversation), then a greeting.
    """
    words = set(fold(text).split())
    if not words or len(words) > _MAX_WORDS or not words <= _ALLOWED:
        return None
    if words & _THANKS_STARTS:
        return "thanks"
    if words & _GREETING_STARTS:
        return "greeting"
    if words & _ACK_STARTS:
        return "ack"
    return None
