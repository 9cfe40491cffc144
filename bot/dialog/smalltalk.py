"""What people type that is not a request: greetings, thanks, "ok", "thôi" to stop, yes and no.

Elderly citizens on Zalo or a cheap phone type words, not commands: "alo" to start,
"cảm ơn" to end, "hủy" or "thôi" to stop what they are doing. Matching is on the
folded text (no accents, lower case), on the whole message, so "chào anh" is a
greeting but "chào anh, tôi muốn hỏi khai sinh" is a question. At a step that takes
the person's own words (a name, a description), a cancel word that could be content
("Huy", "thôi", "menu") is asked about, never taken as a cancel unasked. A typed answer
to a yes/no question ("dạ có", "đồng ý ạ", "ừ", "ko") is read by :func:`answer`.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.text import clean, fold

Kind = Literal["greeting", "thanks", "ack"]
Intent = Literal["sure", "maybe"]
Answer = Literal["yes", "no"]

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


# "quay lại": in a flow that knows its previous question, one step back; elsewhere a cancel word.
BACK_WORDS = frozenset({"quay lai", "tro lai", "lui lai", "quay lai buoc truoc", "tro lai buoc truoc"})


def is_back(text: str) -> bool:
    """Whether the whole message asks to go back one question ("quay lại", "trở lại")."""
    return fold(text) in BACK_WORDS


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


# Yes and no, folded, once the words around them are taken away ("dạ có ạ" -> "co").
_YES = frozenset(
    {
        *("co", "co chu", "co gui", "co muon", "muon", "can", "co can", "dong y", "nhat tri", "chac chan"),
        *("ok", "oke", "okay", "oki", "okie", "okela", "ok la", "duoc", "dc", "u", "uh", "uhm", "um", "uk", "ukm"),
        *("o", "da", "vang", "dung", "dung vay", "phai", "roi", "gui", "xac nhan", "yes", "y", "send"),
    }
)
# Negations, alone or before what they deny: "không", "ko đồng ý", "hông cần", "chưa".
_NEGATIONS = ("khong", "ko", "k", "kg", "khg", "kh", "hong", "hok", "hem", "chua")
_DENIED = ("", " dong y", " co", " can", " gui", " muon", " muon gui", " can gui", " duoc", " phai", " chiu")
_NO = frozenset(
    {
        *(negation + denied for negation in _NEGATIONS for denied in _DENIED),
        *("khoi", "khoi can", "thoi", "thoi khoi", "thoi khong", "thoi khong can", "bo qua", "no", "skip"),
    }
)
# Words before an answer ("dạ không", "vâng đồng ý", "tôi đồng ý") and after it ("có ạ",
# "gửi đi", "gửi giúp tôi nhé", "được rồi").
_LEADING = frozenset({"da", "vang", "u", "uh", "o", "ok", "oke", "toi", "em", "con", "chau", "thi"})
_TRAILING = frozenset(
    {
        *("a", "ah", "nha", "nhe", "nghe", "nghen", "nhen", "ne", "oi", "ha", "di", "luon", "lun", "roi"),
        *("giup", "gium", "dum", "toi", "em", "anh", "chi", "ban", "ad", "admin", "bot", "nhieu", "het"),
    }
)


def answer(text: str) -> Answer | None:
    """Whether a whole message answers a yes/no question: "yes", "no", or None for anything else.

    "đồng ý", "dong y", "đồng ý ạ", "ok", "được", "có", "ừ", "dạ", "gửi đi" say yes; "không",
    "ko", "không đồng ý", "dạ không ạ", "thôi khỏi" say no. A negation always wins, so "không
    đồng ý" is never a yes; a sentence ("có ai ở xã không") is neither.
    """
    words = fold(text).split()
    if not words or len(words) > _MAX_WORDS:
        return None
    while len(words) > 1 and words[-1] in _TRAILING:
        words.pop()
    while len(words) > 1 and words[0] in _LEADING:
        words.pop(0)
    core = " ".join(words)
    if core in _NO:
        return "no"
    if core in _YES:
        return "yes"
    return None
