"""Text helpers shared by every layer: Vietnamese normalisation, and catalog markup as plain text.

Citizens type with or without accents, in NFC or NFD, with stray capitals and
punctuation. Every comparison (unit names, FAQ questions, menu labels) goes
through :func:`fold` so that "Cầu Ngang", "cau ngang" and "CẦU  NGANG!" meet.

:func:`plain_text` lives here, at the bottom of the layers, because channels without markup
(console, Zalo) and the reports (spreadsheets, DOCX, chart) both need it: the reports must not
import a transport for it.
"""

from __future__ import annotations

import html
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
# Zero-width and bidi control characters that phones and copy-paste leave behind.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC, the form we store and display."""
    return unicodedata.normalize("NFC", text)


def clean(text: str) -> str:
    """NFC, without invisible characters or other control characters, spaces collapsed."""
    text = _INVISIBLE.sub("", nfc(text))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def strip_accents(text: str) -> str:
    """Remove Vietnamese diacritics, mapping đ/Đ to d/D."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def small_number(text: str, limit: int = 2**31 - 1) -> int | None:
    """The whole number ``text`` is written as (decimal digits of any script), if at most ``limit``.

    ``str.isdigit`` also accepts "²" and "①", which ``int`` refuses; ids beyond ``limit`` (the
    databases' integer columns) cannot exist.
    """
    text = text.strip()
    if not text or not text.isdecimal() or len(text) > len(str(limit)):
        return None
    number = int(text)
    return number if number <= limit else None


def parse_id(text: str, limit: int = 2**31 - 1) -> int | None:
    """A row id or a count typed or sent by someone: ASCII digits only, at most ``limit``; else None.

    Every number that comes from outside (a command's argument, a button's value, a webhook
    field) goes through here: "²", "١٢", "-1", "1e3" or twenty digits are not ids, and never
    reach ``int`` or the database (whose integer columns stop at ``limit``).
    """
    text = text.strip()
    if not text or len(text) > len(str(limit)) or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= limit else None


def fold(text: str) -> str:
    """The comparison key: no accents, lower case, punctuation as spaces, single spaces."""
    text = strip_accents(clean(text)).lower()
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return _SPACES.sub(" ", text).strip()


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|a)(?:\s[^>]*)?>")


def plain_text(text: str) -> str:
    """Catalog HTML as plain text, for channels without markup (console, Zalo) and for files."""
    return html.unescape(_TAG.sub("", text))


_TONE_KEYS = "sfrxjz"  # Telex tone keys (z removes a tone); never end a Vietnamese syllable.
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[a-z]")


def strip_typing_marks(token: str) -> str:
    """Remove the Telex/VNI keystrokes left in a folded token by a switched-off keyboard.

    "sinhf" -> "sinh", "ddang" -> "dang", "dang4" -> "dang", "khaaur" -> "khau",
    "dduwowngf" -> "duong", "d9a8ng" -> "dang". Only meant for tokens that are
    not known words: it does not check the result.
    """
    if not _LETTER.search(token):
        return token
    text = _DIGIT.sub("", token)  # VNI: 1-5 tones, 6 circumflex, 7 horn, 8 breve, 9 stroke
    text = text.replace("dd", "d")  # Telex đ
    text = "u" if text == "w" else text.replace("w", "")  # Telex ư, ơ, ă
    if len(text) > 1 and text[-1] in _TONE_KEYS:
        text = text[:-1]
    for doubled in ("aa", "ee", "oo"):  # Telex â, ê, ô
        text = text.replace(doubled, doubled[0])
    return text


def tone_key_variants(token: str) -> list[str]:
    """``token`` without one inner Telex tone key ("dafng" -> "dang"), first letter kept."""
    return [token[:i] + token[i + 1 :] for i in range(1, len(token)) if token[i] in _TONE_KEYS]


def international_phone(raw: str | None) -> str | None:
    """A Vietnamese phone number as ``84`` + the number without its leading 0; None if it is not one.

    People type "0912 345 678", "0912.345.678", "+84 912 345 678" or "84912345678".
    """
    if not raw:
        return None
    digits = "".join(char for char in raw if char.isdigit())
    if raw.strip().startswith("+") and not digits.startswith("84"):
        return None  # another country's number
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    elif not digits.startswith("84"):
        return None
    return digits if 11 <= len(digits) <= 12 and digits[2] != "0" else None
