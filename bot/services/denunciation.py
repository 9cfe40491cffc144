"""Whether a text is a denunciation (tố cáo), whatever the person chose to file it as.

Why: a denunciation typed as a question or filed as a phản ánh would otherwise go to the
commune it accuses, with the denouncer's name. Every text that is forwarded or filed is
checked here; one that denounces is handled as a tố cáo (sent only to the inspectorate).

A text denounces when it says so ("tố cáo"), names an offence only an official commits
("tham nhũng", "ăn hối lộ", "lạm dụng chức vụ"), or names an official together with a wrong
done by them ("cán bộ xã ... nhận tiền", "chủ tịch xã ... lấy đất"). Texts are compared
folded (no accents, lower case), so "to cao can bo xa" is recognised as well.
"""

from __future__ import annotations

import re

from bot.text import fold

# Saying so: "tố cáo", "tocao".
_SAYS_SO = re.compile(r"\bto ?cao\b")

# Offences that are an official's by definition (Luật Phòng, chống tham nhũng, Art. 2).
_OFFICIAL_OFFENCES = (
    "tham nhung",
    "hoi lo",
    "tham o",
    "bien thu",
    "lam dung chuc vu",
    "lam dung quyen",
    "loi dung chuc vu",
    "loi dung quyen",
    "nhung nhieu",
)

# Who holds public office, as people name them.
_OFFICIALS = (
    "can bo",
    "cong chuc",
    "vien chuc",
    "chu tich",
    "bi thu",
    "truong ap",
    "pho ap",
    "truong khom",
    "to truong",
    "dia chinh",
    "cong an",
    "ubnd",
    "uy ban",
    "chinh quyen",
    "lanh dao xa",
    "lanh dao huyen",
    "giam doc",
    "truong phong",
    "thu tuong",
    "kiem lam",
)

# Wrongs done to people by someone in office.
_WRONGS = (
    "nhan tien",
    "doi tien",
    "voi tien",
    "lay tien",
    "an tien",
    "thu tien trai phep",
    "an chan",
    "an bot",
    "lay dat",
    "chiem dat",
    "cuop dat",
    "danh nguoi",
    "danh dan",
    "bao ke",
    "gia mao",
    "tu loi",
    "ep dan",
)


def is_denunciation(text: str) -> bool:
    """Whether ``text`` denounces someone (a tố cáo), with or without accents."""
    folded = fold(text)
    if not folded:
        return False
    padded = f" {folded} "
    if _SAYS_SO.search(folded) or _has_any(padded, _OFFICIAL_OFFENCES):
        return True
    return _has_any(padded, _OFFICIALS) and _has_any(padded, _WRONGS)


def _has_any(padded: str, phrases: tuple[str, ...]) -> bool:
    """Whether one of the phrases is in the text as whole words ("an tien" not in "an tieng")."""
    return any(f" {phrase} " in padded for phrase in phrases)
