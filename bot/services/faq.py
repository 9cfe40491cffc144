"""FAQ search: find the administrative procedure a citizen is asking about.

Citizens of Cầu Ngang ask "how do I ..." questions in whatever way they type:
without accents, with typos, in Southern wording ("khai sanh", "cất nhà"), with
old names ("hộ khẩu", "CMND"), abbreviations ("CCCD", "sổ đỏ") and the
leftovers of a Telex/VNI keyboard that was switched off ("khai sinhf",
"ddang ky", "dang4 ky1"). This module turns such a message into one of three
outcomes: a confident answer, a short "did you mean" list, or nothing (small
talk, thanks, off-topic questions), so that the bot never answers a question
nobody asked.

It is pure: the caller hands in :class:`FaqEntry` objects (read from
``data/faq/*.toml`` by :func:`load_entries`, or from the database) and a
synonym lexicon (:func:`load_lexicon`); :class:`FaqIndex` pre-processes them
once and answers :meth:`FaqIndex.search` in well under a millisecond for a
few thousand entries.

How a query is scored
---------------------
1. Both sides (titles and questions, and the query) are folded with
   :func:`bot.text.fold` and rewritten with the lexicon, longest phrase first
   ("khai sanh" -> "khai sinh", "cccd" -> "can cuoc").
2. Query tokens that are not known words lose their keyboard leftovers
   (:func:`strip_typing_marks`) or, failing that, get a one-edit typo fix
   against the words of the index (rapidfuzz OSA distance).
3. Chat fillers and question words (:data:`STOP_WORDS`: "cho em hoi", "a",
   "vay", "ntn", "can mang theo gi") are dropped, unless the titles or the
   lexicon use them in a name ("xa hoi", "bao hiem"). What remains are the
   informative words; without any the outcome is "none". Each weighs its IDF
   (a word the index has never seen weighs like the rarest one); a word that
   in the entries is always one syllable of the same compound, and comes
   without its partner ("vang" of "tam vang" in "gia vang"), weighs less.
4. An inverted index over words and adjacent word pairs (bigrams) shortlists
   the entries that share the most weight with the query.
5. Each of them is scored 0..100 (:meth:`FaqIndex._score`): the share of the
   query's weight the entry has, the share of its bigrams, how well its best
   title or question fits, and a rapidfuzz ``token_set_ratio`` against that
   question for what whole words miss.
6. The outcome (:func:`_decide`) depends on the best score, its lead over the
   runner-up and the IDF mass of what matched; the thresholds and why they
   are what they are sit next to ANSWER_SCORE.

Place names (:data:`PLACE_NAMES`) earn a quarter of their weight: naming
Cầu Ngang does not make a message about the entry that lists the communes. A
long message that matches nothing as a whole is searched clause by clause
(:meth:`FaqIndex._windows`), and the best clause's entries are suggested.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
import math
import re
import tomllib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.text import fold, nfc, strip_typing_marks, tone_key_variants

# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class FaqEntry:
    """One administrative procedure and the ways citizens ask about it."""

    id: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str
    legal_basis: str
    level: str
    verified_on: date
    source: str


class FaqDataError(ValueError):
    """A FAQ or lexicon file is malformed: ``"<file>: entry <id>: <what is wrong>"``."""


_TEXT_FIELDS = ("id", "topic", "title", "answer", "legal_basis", "level", "source")
_ALL_FIELDS = frozenset((*_TEXT_FIELDS, "questions", "verified_on"))
_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_URL_PATTERN = re.compile(r"https?://\S+")
# An entry last checked longer ago than this is reported by check_entries:
# procedures, fees and forms change with new decrees every year or so.
STALE_AFTER_DAYS = 365


def load_entries(directory: Path) -> list[FaqEntry]:
    """Read and validate every ``*.toml`` file under ``directory`` (sorted by path).

    Raises :class:`FaqDataError` on the first problem: a file that is not
    TOML, unknown or missing keys, empty texts, a ``verified_on`` that is not
    a date, an id used twice.
    """
    entries: list[FaqEntry] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.toml")):
        for entry in _load_file(path):
            if entry.id in seen:
                raise FaqDataError(f"{path}: entry {entry.id}: duplicate id (also in {seen[entry.id]})")
            seen[entry.id] = path
            entries.append(entry)
    return entries


def _load_file(path: Path) -> list[FaqEntry]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FaqDataError(f"{path}: not valid TOML: {error}") from error
    unknown = sorted(set(document) - {"entry"})
    if unknown:
        raise FaqDataError(f"{path}: unknown top-level keys {unknown} (expected only [[entry]])")
    tables = document.get("entry", [])
    if not isinstance(tables, list):
        raise FaqDataError(f"{path}: 'entry' must be an array of tables ([[entry]])")
    return [_parse_entry(path, position, table) for position, table in enumerate(tables, start=1)]


def _parse_entry(path: Path, position: int, table: Any) -> FaqEntry:
    if not isinstance(table, dict):
        raise FaqDataError(f"{path}: entry #{position}: not a table")
    raw_id = table.get("id")
    label = raw_id if isinstance(raw_id, str) and raw_id.strip() else f"#{position}"

    def fail(what: str) -> FaqDataError:
        return FaqDataError(f"{path}: entry {label}: {what}")

    unknown = sorted(set(table) - _ALL_FIELDS)
    if unknown:
        raise fail(f"unknown keys {unknown}")
    missing = sorted(_ALL_FIELDS - set(table))
    if missing:
        raise fail(f"missing keys {missing}")
    texts: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = table[name]
        if not isinstance(value, str) or not value.strip():
            raise fail(f"'{name}' must be a non-empty string")
        texts[name] = nfc(value.strip())
    if not _ID_PATTERN.fullmatch(texts["id"]):
        raise fail("'id' must be lower-case ASCII words joined by '-' (e.g. 'khai-sinh')")
    questions = table["questions"]
    if not isinstance(questions, list) or not questions:
        raise fail("'questions' must be a non-empty list of strings")
    if not all(isinstance(q, str) and q.strip() for q in questions):
        raise fail("'questions' must contain only non-empty strings")
    verified_on = table["verified_on"]
    if isinstance(verified_on, datetime) or not isinstance(verified_on, date):
        raise fail("'verified_on' must be a TOML date such as 2026-11-27")
    return FaqEntry(
        id=texts["id"],
        topic=texts["topic"],
        title=texts["title"],
        questions=tuple(nfc(q.strip()) for q in questions),
        answer=texts["answer"],
        legal_basis=texts["legal_basis"],
        level=texts["level"],
        verified_on=verified_on,
        source=texts["source"],
    )


def check_entries(entries: Sequence[FaqEntry], *, today: date | None = None) -> list[str]:
    """Content problems that do not stop loading, one line each; empty when all is fine.

    Reports duplicate ids, empty texts, a source that is not a web address,
    a ``verified_on`` in the future or older than :data:`STALE_AFTER_DAYS`,
    an entry with a single question, a question repeated inside an entry and
    (most harmful for search) a question that two entries share.
    """
    today = today or date.today()
    problems: list[str] = []
    owners: dict[str, str] = {}
    ids: set[str] = set()
    for entry in entries:
        where = f"entry {entry.id}"
        if entry.id in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(entry.id)
        problems.extend(f"{where}: empty '{name}'" for name in _TEXT_FIELDS if not getattr(entry, name).strip())
        if not _URL_PATTERN.fullmatch(entry.source):
            problems.append(f"{where}: source is not an http(s) address: {entry.source!r}")
        if entry.verified_on > today:
            problems.append(f"{where}: verified_on {entry.verified_on} is in the future")
        elif (today - entry.verified_on).days > STALE_AFTER_DAYS:
            problems.append(f"{where}: verified_on {entry.verified_on} is over {STALE_AFTER_DAYS} days old")
        if len(entry.questions) < 2:
            problems.append(f"{where}: only {len(entry.questions)} question(s); add the ways citizens ask")
        seen_here: set[str] = set()
        for question in (entry.title, *entry.questions):
            key = fold(question)
            if not key:
                problems.append(f"{where}: question {question!r} has no letters")
                continue
            if key in seen_here:
                if question != entry.title:
                    problems.append(f"{where}: question {question!r} repeated")
                continue
            seen_here.add(key)
            owner = owners.setdefault(key, entry.id)
            if owner != entry.id:
                problems.append(f"{where}: question {question!r} also belongs to entry {owner}")
    return problems


def load_lexicon(path: Path) -> dict[str, str]:
    """Read ``[synonyms]`` from a TOML file: folded phrase -> folded canonical phrase."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise FaqDataError(f"{path}: not valid TOML: {error}") from error
    unknown = sorted(set(document) - {"synonyms"})
    if unknown:
        raise FaqDataError(f"{path}: unknown top-level keys {unknown} (expected only [synonyms])")
    table = document.get("synonyms", {})
    if not isinstance(table, dict):
        raise FaqDataError(f"{path}: [synonyms] must be a table")
    lexicon: dict[str, str] = {}
    for raw_key, raw_value in table.items():
        if not isinstance(raw_value, str):
            raise FaqDataError(f"{path}: synonym {raw_key!r}: value must be a string")
        key, value = fold(raw_key), fold(raw_value)
        if not key or not value:
            raise FaqDataError(f"{path}: synonym {raw_key!r}: empty after folding")
        if lexicon.get(key, value) != value:
            raise FaqDataError(f"{path}: synonym {raw_key!r}: folds to {key!r}, already mapped to {lexicon[key]!r}")
        if key != value:
            lexicon[key] = value
    return lexicon


# --------------------------------------------------------------------------- text

# Chat fillers and question words: they say how someone asks, never what about
# (folded forms, Southern and texting spellings included). Some also fold onto a
# meaningful syllable ("can": cần/căn, "bao": bao/bảo, "hoi": hỏi/hội, "sao":
# sao/bản sao); those are kept where the titles or the lexicon use them in a name
# ("can cuoc", "bao hiem", "xa hoi", see _compounds). Words that more often carry
# meaning are not listed: "ho" (hộ, hồ sơ), "mai" (mai táng), "sang" (sang tên),
# "vang" (tạm vắng), "ban" (bản sao), "ngay" (ngày sinh); IDF weighs those.
_STOP_TEXT = """
    a ah ak ha nha nhe nhen ne nhi vay zay dzay hen ok oke okay okie alo allo hello hi hey
    chao xin cam on thank thanks tks thx camon uh um uhm da oi ad admin
    bac co anh chi em minh toi tui tao may ong be no ta mik mk
    cho hoi giup gium dum voi vs lam nao ntn nhu gi ji di sao the
    khong ko kg kh hong hok hk hem duoc dc phai thi la ma va cua mot nhung cac nay kia roi chua
    ai dau khi bao gio luc nhieu nhiu bn bay muon biet bik hieu xem coi nghe noi
    ve len xuong ra vao den tren duoi hom nam thang tuan
    can mang theo luon lun cung nua hay hoac neu vi de thoi
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())
# Tokens of one letter ("a", "k", "j", "z", "o") and numbers are never informative either.


def _is_trivial(token: str) -> bool:
    return len(token) < 2 or token.isdigit()


def _compounds(text: str) -> list[str]:
    """Pairs in which a stop word is part of a name: "xa hoi" (xã hội), "bao hiem", "ban sao".

    Taken from the titles, topics and lexicon, which are written with care: a
    stop word next to a meaningful word there is not a filler, and is kept
    when a query has the same pair.
    """
    tokens = text.split()
    return [
        f"{a} {b}"
        for a, b in itertools.pairwise(tokens)
        if not (_is_trivial(a) or _is_trivial(b)) and (a in STOP_WORDS) != (b in STOP_WORDS)
    ]


class _Lexicon:
    """Phrase rewriting, longest phrase first, left to right."""

    def __init__(self, lexicon: Mapping[str, str] | None) -> None:
        self.phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        for key, value in (lexicon or {}).items():
            phrase, replacement = tuple(fold(key).split()), tuple(fold(value).split())
            if phrase and replacement and phrase != replacement:
                self.phrases[phrase] = replacement
        # First word -> (phrase, replacement), longest phrase first.
        self._by_first: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for phrase, replacement in sorted(self.phrases.items(), key=lambda item: -len(item[0])):
            self._by_first.setdefault(phrase[0], []).append((phrase, replacement))

    def rewrite(self, tokens: Sequence[str]) -> list[str]:
        tokens = _deaths_named(tokens)
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for phrase, replacement in self._by_first.get(tokens[i], ()):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    out.extend(replacement)
                    i += len(phrase)
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def words(self) -> set[str]:
        """Every word of the phrases and of their replacements."""
        return {word for pair in self.phrases.items() for side in pair for word in side}


# --------------------------------------------------------------------------- search

# Outcome thresholds, chosen on tests/data/faq_eval.tsv when it had 202 on-topic and
# 39 off-topic messages and the FAQ 55 entries, see _decide; unchanged since, and
# checked by tests/test_faq_eval.py on that set and on faq_eval_heldout.tsv (79
# entries). What the first set showed:
# * Off-topic messages that share words with the entries share generic ones
#   ("xã", "số", "đăng ký", "ủy ban"), found in several entries alike: past the
#   MIN_EVIDENCE guard, their best score stays under 65 and beats the runner-up
#   by 8 points at most.
# * Chatty on-topic messages can score as low as 48-65 (their other words are
#   unknown), but one entry then stands out, by 15 to 40 points.
# * Clear on-topic messages score 70-100.
# * Vietnamese words are mostly two syllables: a message whose words match an
#   entry only one by one, never as a pair ("mua vé xe" against "mua bán xe"),
#   may well be about something else.
# So: "answer" needs a high score, a lead over the runner-up and a shared word
# pair (unless the message is a single word); "unsure" needs
# score + MARGIN_BONUS * lead (lead capped at MARGIN_CAP) >= UNSURE_CONFIDENCE,
# which puts the off-topic messages at 68 at most and the on-topic ones at 70 or
# more, but for one very long message. Moving UNSURE_CONFIDENCE by 3 either way
# costs one or two queries of the set. ANSWER_SCORE/ANSWER_MARGIN give one wrong
# answer in 202 (two entries that share "trễ hạn") and answer 91 % outright.
ANSWER_SCORE = 70.0
ANSWER_MARGIN = 5.0
UNSURE_CONFIDENCE = 69.0
MARGIN_BONUS = 0.5
MARGIN_CAP = 30.0
# The guard before all that: the query words and bigrams the best entry has must
# weigh at least this many times the IDF of a word found in a single entry. One
# common word ("bạn", "giá", "số") is not enough; one rare one ("ct07") is.
MIN_EVIDENCE = 0.75

# Tokens shorter than this are not typo-corrected: short syllables are one edit
# away from too many others ("hom" -> "hon", "lua" -> "luu").
_MIN_TYPO_LENGTH = 4
# A typo-corrected word is only a guess: it earns this share of its weight.
_GUESS_CREDIT = 0.5
# A query word that in the entries is nearly always one syllable of the same compound
# (_BOUND_SHARE of at least _BOUND_MIN_COUNT titles and questions), found in the query
# without its partner, earns this share of its weight.
_LONE_CREDIT = 0.3
_BOUND_SHARE = 0.8
_BOUND_MIN_COUNT = 3
# Entries kept from the inverted-index pass for the (costlier) per-question scoring,
# and at most how many with them when several earn exactly what the last one earns
# (a short query whose words many entries share: "nhà ở xã hội" against every
# entry with "xã hội"); cutting such a tie would drop an entry for no reason.
_CANDIDATES = 6
_CANDIDATES_WITH_TIES = 12
# The inverted-index pass walks at most this many postings (see _shortlist): all
# of them for most queries on an index of a hundred entries.
_WALK_BUDGET = 1000
_WIDE = 30
# Score = 100 * (W_COVER * cover + W_BIGRAM * bigram + W_FIT * fit) + W_RATIO * ratio,
# see FaqIndex._score; the weights add up to 1 so that the score is 0..100.
W_COVER = 0.35
W_BIGRAM = 0.15
W_FIT = 0.3
W_RATIO = 0.2
# Place names of the area and of where its people go to work (folded, whole phrases only:
# "hòa" alone is also "hòa giải"). Citizens name them in every kind of message ("giá lúa Cầu
# Ngang", "con đi làm ở Bình Dương"), and the entry on the new communes lists many of them, so
# a place name found in an entry says little about what is asked: it earns _PLACE_CREDIT of its
# weight, and its weight still counts in the query's mass. Off-topic messages that only share
# a place with an entry then fail the MIN_EVIDENCE guard or stay under UNSURE_CONFIDENCE.
PLACE_NAMES: frozenset[str] = frozenset(
    fold(name)
    for name in (
        "Cầu Ngang",
        "Trà Vinh",
        "Vĩnh Long",
        "Mỹ Long",
        "Mỹ Long Bắc",
        "Mỹ Long Nam",
        "Vinh Kim",
        "Kim Hòa",
        "Nhị Trường",
        "Hiệp Hòa",
        "Trường Thọ",
        "Hiệp Mỹ",
        "Hiệp Mỹ Đông",
        "Hiệp Mỹ Tây",
        "Long Sơn",
        "Ngũ Lạc",
        "Thạnh Hòa Sơn",
        "Mỹ Hòa",
        "Thuận Hòa",
        "Duyên Hải",
        "Ba Động",
        "Sài Gòn",
        "Bình Dương",
        "Long An",
        "Hồ Chí Minh",
        "Cần Thơ",
        "Đồng Nai",
        "Sóc Trăng",
        "Bến Tre",
        "Trà Cú",
        "Tiểu Cần",
        "Châu Thành",
        "Càng Long",
        "Cầu Kè",
    )
)
_PLACE_CREDIT = 0.25
# Words that only their accents tell from a stop word: "bão" (storm) folds to "bao", as in "bao
# nhiêu". Typed with accents, such a word is rewritten before folding, on both sides (messages
# and entries), into a phrase the index keeps: "nhà bị bão" reads "nhà bị bão lụt". Without
# accents "bao" stays ambiguous and is kept only next to a storm word.
_ACCENTED = {"bão": "bão lụt"}
_ACCENTED_WORDS = re.compile(r"(?<!\w)(" + "|".join(_ACCENTED) + r")(?!\w)", re.IGNORECASE)


def _with_accented_words(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return _ACCENTED_WORDS.sub(lambda match: _ACCENTED[match.group(1).lower()], text)


# A message with at least this many informative words is long. When the whole of it matches
# nothing, its sentences and clauses are searched on their own (the question is often one
# clause among greetings and family news): at most _LONG_WINDOWS of them, see
# FaqIndex._windows; what the best of them finds is offered as suggestions, never answered.
# Added 2026-11-27 with the third held-out batch (its 13 rambling messages: 4 found before, 7 after).
_LONG_QUERY_WORDS = 9
_LONG_WINDOWS = 2
_CLAUSE_SPLIT = re.compile(r"[.!?;,:\n…]+")
_SENTENCE_SPLIT = re.compile(r"[.!?;\n…]+")
# Weight of a query word the index has never seen, as a multiple of the highest
# possible IDF: an unknown word probably names something we have no entry for.
_UNKNOWN_WEIGHT = 1.0
# How far behind the leader (score points) a general entry may be and still go before its
# special case when the question names nothing special (FaqIndex._general_first).
_GENERAL_MARGIN = 15.0
# A word at least this rare (IDF) tells a special case from the general one.
_TELLING_IDF = 2.0

# Kin words: "mất" right after one of them (a pronoun between allowed) is a death in the
# family ("ba tui mới mất", "ông ngoại mất tuần trước"), not something lost ("mất giấy").
_KIN = frozenset(["ba", "cha", "me", "ma", "tia", "bo", "ong", "noi", "ngoai", "chong", "vo"])
_BETWEEN = frozenset(["tui", "toi", "em", "minh", "con", "nha", "moi", "vua", "da"])
# What may follow such a "mất": nothing, or time, place and the question, never an object.
_AFTER_DEATH = frozenset(
    [
        "roi",
        "hom",
        "tuan",
        "thang",
        "nam",
        "luc",
        "o",
        "tai",
        "hoi",
        "tu",
        "da",
        "duoc",
        "lau",
        "vi",
        "nen",
        "thi",
        "ma",
        "de",
        "khong",
        "ko",
        "chua",
        "lam",
        "can",
        "nay",
        "qua",
    ]
)


# Questions no commune can answer: market prices, the weather, the lottery, football. They are
# refused (never answered from an entry that shares a word: "giá cà phê" is not "mở quán cà
# phê"), and not offered to an officer either.
_OUT_OF_SCOPE = re.compile(
    r"\b(?:gia (?:vang|xang|dau|lua|gao|heo|ca phe|tieu|tom|dua|sau rieng|do la|usd|dien thoai)"
    r"|ty gia|xo so|so xo|xs ?(?:mn|mb|mt|mien)|ket qua xs|lo de|danh de|thoi tiet|du bao|troi (?:co )?mua"
    r"|bong da|da banh|da bong|chung khoan|tien ao)\b"
    r"|\bgia \w+(?: \w+)? hom nay\b"
)
# A folded Vietnamese syllable: an initial consonant, a vowel nucleus, a final.
_SYLLABLE = re.compile(r"(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?")


def out_of_scope(text: str) -> bool:
    """Whether a message asks what no commune answers: prices, weather, lottery, football."""
    return _OUT_OF_SCOPE.search(fold(text)) is not None


def looks_like_gibberish(text: str) -> bool:
    """Whether no word of a message is a Vietnamese syllable, even without its typing marks.

    "asdfgh", "kkkkkk", "hjhj", "....": nothing an officer could answer. One real word
    (with or without accents, Telex leftovers removed) is enough not to be gibberish.
    """
    for token in fold(text).split():
        if token.isalpha() and (_SYLLABLE.fullmatch(token) or _SYLLABLE.fullmatch(strip_typing_marks(token))):
            return False
    return True


def _deaths_named(tokens: Sequence[str]) -> list[str]:
    """ "mat" as "chet" where it follows a kin word and no object follows it."""
    out = list(tokens)
    for index, token in enumerate(tokens):
        if token != "mat" or (index + 1 < len(tokens) and tokens[index + 1] not in _AFTER_DEATH):
            continue
        before = index - 1
        while before >= 0 and tokens[before] in _BETWEEN:
            before -= 1
        if before >= 0 and tokens[before] in _KIN:
            out[index] = "chet"
    return out


@dataclass(frozen=True)
class FaqMatch:
    """A candidate entry and how well it matches, 0..100."""

    id: str
    title: str
    score: float


@dataclass(frozen=True)
class FaqResult:
    """What to do with a message: answer it, offer suggestions, or leave it to others."""

    outcome: Literal["answer", "unsure", "none"]
    answer: FaqMatch | None
    suggestions: tuple[FaqMatch, ...]


_NONE = FaqResult(outcome="none", answer=None, suggestions=())


@dataclass(frozen=True)
class _Choice:
    """One title or question of an entry, pre-processed."""

    text: str  # folded, lexicon applied: what rapidfuzz compares
    words: frozenset[str]  # its tokens, stop words included (the query side decides what counts)
    bigrams: frozenset[str]  # "a b" for adjacent tokens


def _bigrams(tokens: Sequence[str], keep: Sequence[bool]) -> list[str]:
    """Adjacent pairs of kept tokens ("khai sinh"; not "sinh mang" across "can")."""
    return [
        f"{a} {b}"
        for (a, b), (x, y) in zip(itertools.pairwise(tokens), itertools.pairwise(keep), strict=True)
        if x and y
    ]


@dataclass(frozen=True)
class _Candidate:
    """An entry scored against a query."""

    entry_id: str
    score: float  # 0..100, see FaqIndex._score
    evidence: float  # IDF mass of the query words and bigrams the entry has, / the top IDF
    anchored: bool  # the entry has a bigram of the query, or the query is a single word


@dataclass(frozen=True)
class _Query:
    """A normalised query: its text, informative words and bigrams, and their weights."""

    text: str
    weights: dict[str, float]  # informative word -> weight (IDF, or _UNKNOWN_WEIGHT * top IDF)
    credit: dict[str, float]  # informative word -> what it earns when matched (less for a guess)
    bigrams: dict[str, float]  # bigram of informative words -> IDF (0 when no entry has it)
    mass: float  # total weight of the words
    bigram_mass: float  # total IDF of the bigrams

    @staticmethod
    def earned(weights: Mapping[str, float], features: frozenset[str]) -> float:
        """Sum of ``weights`` over the keys found in ``features``."""
        # Summed in the query's order: a set's order changes with PYTHONHASHSEED, and
        # so would the last bits of the sum, and the order of entries that tie.
        return sum([weight for feature, weight in weights.items() if feature in features])

    def features(self) -> dict[str, float]:
        """Words and bigrams with what they earn an entry that has them."""
        return {**self.credit, **self.bigrams}


class FaqIndex:
    """An in-memory search index over FAQ entries; cheap to update one entry at a time."""

    def __init__(self, entries: Iterable[FaqEntry], lexicon: Mapping[str, str] | None = None) -> None:
        self._lexicon = _Lexicon(lexicon)
        self._lexicon_words = self._lexicon.words()
        self._entries: dict[str, FaqEntry] = {}
        self._choices: dict[str, tuple[_Choice, ...]] = {}
        self._features: dict[str, frozenset[str]] = {}  # entry id -> its words and bigrams
        # word or bigram -> entry ids, in the order they were added (a dict, not a set,
        # so that the search does not depend on PYTHONHASHSEED)
        self._postings: dict[str, dict[str, None]] = {}
        self._compounds: Counter[str] = Counter(
            pair for phrase in self._lexicon.phrases.items() for side in phrase for pair in _compounds(" ".join(side))
        )
        self._entry_compounds: dict[str, list[str]] = {}
        # How often each word is found in a title or question, and next to which word.
        self._word_count: Counter[str] = Counter()
        self._partners: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # Derived from the above, rebuilt lazily after an upsert.
        self._idf_cache: dict[str, float] = {}
        self._masses: dict[str, tuple[float, ...]] = {}  # entry id -> _mass of each of its choices
        self._word_choices: dict[str, dict[str, tuple[int, ...]]] = {}  # entry id -> word -> its choices
        self._by_initial: dict[str, list[str]] | None = None  # known words by first letter, for typos
        for entry in entries:
            self.upsert(entry)

    # -- maintenance

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> FaqEntry | None:
        return self._entries.get(entry_id)

    def upsert(self, entry: FaqEntry) -> None:
        """Add ``entry`` or replace the entry with its id; searchable at once."""
        self._remove(entry.id)
        choices = tuple(self._prepare(text) for text in dict.fromkeys((entry.title, *entry.questions)))
        features = frozenset().union(*(c.words | c.bigrams for c in choices))
        self._entries[entry.id] = entry
        self._choices[entry.id] = choices
        self._features[entry.id] = features
        where: dict[str, list[int]] = {}
        for index, choice in enumerate(choices):
            for word in choice.words:
                where.setdefault(word, []).append(index)
        self._word_choices[entry.id] = {word: tuple(indexes) for word, indexes in where.items()}
        compounds = _compounds(choices[0].text) + _compounds(self._prepare(entry.topic).text)
        self._entry_compounds[entry.id] = compounds
        self._compounds.update(compounds)
        self._count(choices, +1)
        for feature in features:
            postings = self._postings.setdefault(feature, {})
            if not postings and " " not in feature:
                self._vocabulary_changed(feature, added=True)
            postings[entry.id] = None
        self._idf_cache.clear()
        self._masses.clear()

    def _remove(self, entry_id: str) -> None:
        self._count(self._choices.get(entry_id, ()), -1)
        self._word_choices.pop(entry_id, None)
        for feature in self._features.pop(entry_id, frozenset()):
            postings = self._postings[feature]
            postings.pop(entry_id, None)
            if not postings:
                del self._postings[feature]
                if " " not in feature:
                    self._vocabulary_changed(feature, added=False)
        self._entries.pop(entry_id, None)
        self._choices.pop(entry_id, None)
        self._compounds.subtract(self._entry_compounds.pop(entry_id, []))

    def _count(self, choices: Iterable[_Choice], sign: int) -> None:
        for choice in choices:
            self._word_count.update(dict.fromkeys(choice.words, sign))
            for bigram in choice.bigrams:
                for word in bigram.split():
                    self._partners[word][bigram] += sign

    def _is_bound(self, word: str) -> bool:
        """Whether ``word`` is a syllable of one compound in the entries ("vang" of "tam vang").

        Vietnamese words are often two syllables; "vàng" (gold) or "mai"
        (tomorrow) alone say little about "tạm vắng" or "mai táng".
        """
        count = self._word_count[word]
        if count < _BOUND_MIN_COUNT:
            return False
        partners = self._partners.get(word)
        return partners is not None and max(partners.values(), default=0) >= _BOUND_SHARE * count

    def _prepare(self, text: str) -> _Choice:
        tokens = self._lexicon.rewrite(fold(_with_accented_words(text)).split())
        keep = [not _is_trivial(t) for t in tokens]
        words = frozenset(t for t, k in zip(tokens, keep, strict=True) if k)
        return _Choice(text=" ".join(tokens), words=words, bigrams=frozenset(_bigrams(tokens, keep)))

    def _idf(self, feature: str) -> float:
        """log(1 + N / df); 0 for a feature no entry has."""
        idf = self._idf_cache.get(feature)
        if idf is None:
            df = len(self._postings.get(feature, ()))
            idf = math.log(1 + len(self._entries) / df) if df else 0.0
            self._idf_cache[feature] = idf
        return idf

    def _top_idf(self) -> float:
        """The IDF of a word found in a single entry."""
        return math.log(1 + len(self._entries))

    def _mass(self, choice: _Choice) -> float:
        """IDF mass of the words of a title or question, stop words left out."""
        return sum(self._idf(word) for word in sorted(choice.words) if word not in STOP_WORDS) or 1.0

    # -- query side

    def _is_known(self, token: str) -> bool:
        return token in self._postings or token in self._lexicon_words or token in STOP_WORDS

    def _words_starting_with(self, letter: str) -> list[str]:
        """Known words (index and lexicon) that start with ``letter``, sorted."""
        if self._by_initial is None:
            self._by_initial = {}
            for word in sorted({f for f in self._postings if " " not in f} | self._lexicon_words):
                self._by_initial.setdefault(word[0], []).append(word)
        return self._by_initial.get(letter, [])

    def _vocabulary_changed(self, word: str, *, added: bool) -> None:
        """Keep _words_starting_with up to date without rebuilding it."""
        if self._by_initial is None or word in self._lexicon_words:
            return
        words = self._by_initial.setdefault(word[0], [])
        position = bisect.bisect_left(words, word)
        if added:
            words.insert(position, word)
        elif position < len(words) and words[position] == word:
            del words[position]

    def _repair(self, token: str) -> tuple[str, bool]:
        """A known word for ``token`` and whether it is a guess (a corrected typo).

        Keyboard leftovers are removed first ("sinhf", "ddang", "dafng"); a
        token still unknown is corrected to a known word one edit away that
        starts with the same letter ("sihn" -> "sinh", "khia" -> "khai").
        """
        if self._is_known(token) or token.isdigit():
            return token, False
        stripped = strip_typing_marks(token)
        for candidate in (stripped, *tone_key_variants(stripped), *tone_key_variants(token)):
            if self._is_known(candidate):
                return candidate, False
        if len(token) >= _MIN_TYPO_LENGTH:
            close = process.extract(
                token, self._words_starting_with(token[0]), scorer=OSA.distance, score_cutoff=1, limit=None
            )
            if close:  # the commonest of the words one edit away
                return max((self._word_count[str(word)], str(word)) for word, _, _ in close)[1], True
        return token, False

    def normalise(self, text: str) -> list[str]:
        """The query as the index sees it: folded, repaired and rewritten tokens."""
        return self._lexicon.rewrite([self._repair(t)[0] for t in fold(_with_accented_words(text)).split()])

    def _query(self, text: str, memo: dict[str, tuple[str, bool]] | None = None) -> _Query:
        return self._query_tokens(fold(text).split(), {} if memo is None else memo)

    def _query_tokens(self, folded: Sequence[str], memo: dict[str, tuple[str, bool]]) -> _Query:
        """The query for folded tokens; ``memo`` keeps repairs for the other windows of a message."""
        repaired = []
        for token in folded:
            fixed = memo.get(token)
            if fixed is None:
                fixed = memo[token] = self._repair(token)
            repaired.append(fixed)
        guesses = {word for word, guessed in repaired if guessed}
        tokens = self._lexicon.rewrite([word for word, _ in repaired])
        keep = self._informative(tokens)
        informative = list(dict.fromkeys(t for t, k in zip(tokens, keep, strict=True) if k))
        unknown = _UNKNOWN_WEIGHT * self._top_idf()
        words = {w: self._idf(w) or unknown for w in informative}
        bigrams = {b: self._idf(b) for b in _bigrams(tokens, keep)}
        paired = {w for b, idf in bigrams.items() if idf for w in b.split()}
        places = _place_words(tokens)
        credit = {}
        for word, weight in words.items():
            if word in guesses:
                weight *= _GUESS_CREDIT
            if word not in paired and self._is_bound(word):
                weight *= _LONE_CREDIT
            if word in places:
                weight *= _PLACE_CREDIT
            credit[word] = weight
        if places:
            bigrams = {
                b: idf * _PLACE_CREDIT if any(w in places for w in b.split()) else idf for b, idf in bigrams.items()
            }
        return _Query(
            text=" ".join(tokens),
            weights=words,
            credit=credit,
            bigrams=bigrams,
            mass=sum(words.values()),
            bigram_mass=sum(bigrams.values()),
        )

    def _informative(self, tokens: Sequence[str]) -> list[bool]:
        """Which tokens carry meaning: not trivial, and not a stop word outside a compound."""
        pairs = [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        keep: list[bool] = []
        for i, token in enumerate(tokens):
            if _is_trivial(token):
                keep.append(False)
            elif token not in STOP_WORDS:
                keep.append(True)
            else:
                before = i > 0 and self._compounds.get(pairs[i - 1], 0) > 0
                after = i < len(pairs) and self._compounds.get(pairs[i], 0) > 0
                keep.append(before or after)
        return keep

    def search(self, text: str, limit: int = 3) -> FaqResult:
        """Match a citizen's message against the entries; see the module docstring.

        ``suggestions`` holds the best ``limit`` entries (at least one).
        """
        limit = max(1, limit)
        if not self._entries or out_of_scope(text):
            return _NONE
        text = _with_accented_words(text)
        memo: dict[str, tuple[str, bool]] = {}
        query = self._query(text, memo)
        result = self._search_query(query, limit)
        if result.outcome != "none" or len(query.weights) < _LONG_QUERY_WORDS:
            return result
        # A long message nothing matched as a whole: its sentences and clauses may. What one
        # of them matches is offered as suggestions only, never answered outright: the rest
        # of the message may say it is about something else. A clause that several entries
        # match about equally ("có cần giấy tờ gì không") says nothing; among the others,
        # the one whose best entry has most evidence wins.
        best: tuple[float, FaqResult] | None = None
        for window in self._windows(text, query, memo):
            found, ranked = self._search_ranked(window, limit)
            if found.outcome == "none":
                continue
            lead = ranked[0].score - (ranked[1].score if len(ranked) > 1 else 0.0)
            if lead >= ANSWER_MARGIN and (best is None or ranked[0].evidence > best[0]):
                best = (ranked[0].evidence, found)
        if best is None:
            return result
        return FaqResult(outcome="unsure", answer=None, suggestions=best[1].suggestions)

    def _search_query(self, query: _Query, limit: int) -> FaqResult:
        return self._search_ranked(query, limit)[0]

    def _search_ranked(self, query: _Query, limit: int) -> tuple[FaqResult, list[_Candidate]]:
        """The outcome for ``query`` and the ranked candidates it was decided on."""
        if not query.weights:
            return _NONE, []
        ranked = self._rank(query)
        if not ranked:
            return _NONE, []
        suggestions = tuple(
            FaqMatch(id=c.entry_id, title=self._entries[c.entry_id].title, score=round(c.score, 1))
            for c in ranked[:limit]
        )
        return _decide(ranked, suggestions), ranked

    def _windows(self, text: str, whole: _Query, memo: dict[str, tuple[str, bool]]) -> list[_Query]:
        """The sentences and clauses of a long message worth a search of their own.

        Those with a word pair the entries know ("khai tu", "can cuoc"): the
        rarest such pair first, then the shortest, at most _LONG_WINDOWS. A piece
        that is the whole message, or has a single informative word, is left out.
        """
        pieces: list[list[str]] = []
        for sentence in _SENTENCE_SPLIT.split(text):
            clauses = [fold(clause).split() for clause in _CLAUSE_SPLIT.split(sentence)]
            clauses = [clause for clause in clauses if clause]
            if len(clauses) > 1:
                pieces.append([token for clause in clauses for token in clause])
            pieces.extend(clauses)
        weighed: list[tuple[float, int, int, _Query]] = []
        seen: set[tuple[str, ...]] = set()
        for position, tokens in enumerate(pieces):
            key = tuple(tokens)
            if key in seen:
                continue
            seen.add(key)
            query = self._query_tokens(tokens, memo)
            if len(query.weights) < 2 or query.text == whole.text:
                continue
            known = max(query.bigrams.values(), default=0.0)
            if known:
                weighed.append((-known, len(query.weights), position, query))
        weighed.sort(key=lambda item: item[:3])
        return [query for *_, query in weighed[:_LONG_WINDOWS]]

    def _rank(self, query: _Query) -> list[_Candidate]:
        """The best candidates, best first."""
        ranked = [self._score(query, entry_id) for entry_id in self._shortlist(query.features())]
        return self._general_first(query, sorted(ranked, key=lambda c: (-c.score, c.entry_id)))

    def _general_first(self, query: _Query, ranked: list[_Candidate]) -> list[_Candidate]:
        """The general procedure before its special case, unless the question names what is special.

        An entry is the special case of another when its id has the other's id in it (the
        content's convention: "ket-hon-nuoc-ngoai" of "ket-hon", "khai-sinh-qua-han" of
        "khai-sinh", see docs/faq.md). If the leader is such a special case of a
        close runner-up and the query has no telling word of the leader that the general entry lacks
        ("nước ngoài", "quá hạn", "mất"), they swap places and scores.
        """
        if len(ranked) < 2:
            return ranked
        leader = ranked[0]
        for position in range(1, min(3, len(ranked))):
            general = ranked[position]
            if leader.score - general.score > _GENERAL_MARGIN:
                break
            if not self._specialises(leader.entry_id, general.entry_id):
                continue
            # A telling word of the special entry that the general one lacks: one of its title
            # ("nước ngoài", "mất") or a rare one ("tuổi"); "tờ" of "giấy tờ" tells nothing.
            special = self._features[leader.entry_id]
            title = self._choices[leader.entry_id][0].words
            plain = self._features[general.entry_id]
            if any(
                word in special and word not in plain and (word in title or self._idf(word) >= _TELLING_IDF)
                for word in query.credit
            ):
                break  # the question says what is special
            return [
                dataclasses.replace(general, score=leader.score, anchored=leader.anchored or general.anchored),
                *ranked[1:position],
                dataclasses.replace(leader, score=general.score),
                *ranked[position + 1 :],
            ]
        return ranked

    def _specialises(self, special: str, general: str) -> bool:
        """Whether entry ``special`` is a special case of entry ``general``: its id has the other's
        id as whole parts ("khai-sinh-qua-han", "dang-ky-lai-khai-sinh" of "khai-sinh")."""
        return special != general and f"-{general}-" in f"-{special}-"

    def _shortlist(self, features: Mapping[str, float]) -> list[str]:
        """The _CANDIDATES entries that earn most from ``features``, and those tied with the last.

        Weights are summed along the postings of the features, rarest feature
        first, until _WALK_BUDGET postings have been walked; the features left
        (the commonest, worth little) are then added to the _WIDE best entries
        only. Exact on small indexes, bounded work on large ones.
        """
        postings = sorted(
            ((self._postings[f], weight) for f, weight in features.items() if f in self._postings),
            key=lambda pair: len(pair[0]),
        )
        coarse: dict[str, float] = {}
        get = coarse.get
        walked = 0
        for position, (entry_ids, weight) in enumerate(postings):
            if walked and walked + len(entry_ids) > _WALK_BUDGET:
                # The features left are the commonest: added to the _WIDE best entries only.
                wide = heapq.nlargest(_WIDE, coarse, key=coarse.__getitem__)
                coarse = {entry_id: coarse[entry_id] for entry_id in wide}
                for rest, rest_weight in postings[position:]:
                    for entry_id in wide:
                        if entry_id in rest:
                            coarse[entry_id] += rest_weight
                break
            walked += len(entry_ids)
            for entry_id in entry_ids:
                coarse[entry_id] = get(entry_id, 0.0) + weight
        best = heapq.nlargest(_CANDIDATES_WITH_TIES, coarse, key=coarse.__getitem__)
        if len(best) > _CANDIDATES:
            cut = coarse[best[_CANDIDATES - 1]]
            best = best[:_CANDIDATES] + [e for e in best[_CANDIDATES:] if coarse[e] >= cut]
        return best

    def _score(self, query: _Query, entry_id: str) -> _Candidate:
        """How well an entry matches the query.

        cover: IDF share of the query's words found anywhere in the entry (a
        query may mix the words of several of its questions); bigrams: IDF
        share of the query's word pairs found in the entry; fit: for the best
        single question, the mean of the share of the query it explains and the
        share of the question the query covers; ratio: rapidfuzz
        token_set_ratio against that question, for what whole tokens miss.
        """
        features = self._features[entry_id]
        # The query's words the entry has, in the query's order: every question's words are
        # among the entry's features, so the questions need look at no other word.
        present = [(word, weight) for word, weight in query.credit.items() if word in features]
        matched = sum([weight for _, weight in present])
        shared = query.earned(query.bigrams, features)
        cover = matched / query.mass
        bigram = shared / query.bigram_mass if query.bigram_mass else cover
        fit, closest = self._best_question(query, entry_id, present)
        ratio = fuzz.token_set_ratio(query.text, closest)
        score = 100 * (W_COVER * cover + W_BIGRAM * bigram + W_FIT * fit) + W_RATIO * ratio
        return _Candidate(
            entry_id=entry_id,
            score=score,
            evidence=(matched + shared) / self._top_idf(),
            anchored=shared > 0 or len(query.weights) == 1,
        )

    def _best_question(self, query: _Query, entry_id: str, present: list[tuple[str, float]]) -> tuple[float, str]:
        """The best fit of the entry's title and questions, and the text that has it; ``present``:
        the query's words the entry has, with their credit, in the query's order."""
        choices = self._choices[entry_id]
        masses = self._masses.get(entry_id)
        if masses is None:
            masses = self._masses[entry_id] = tuple(self._mass(choice) for choice in choices)
        best, closest = 0.0, choices[0].text
        if not present:
            return best, closest
        # Each question's share of the query, summed in the query's order (as the whole
        # query's), from the entry's word -> questions map: only the words it has are visited.
        where = self._word_choices[entry_id]
        matched = [0.0] * len(choices)
        for word, weight in present:
            for index in where.get(word, ()):
                matched[index] += weight  # weights are > 0
        for index, share in enumerate(matched):
            if share:
                fit = (share / query.mass + min(1.0, share / masses[index])) / 2
                if fit > best:
                    best, closest = fit, choices[index].text
        return best, closest
        for choice, mass in zip(choices, masses, strict=True):
            words = choice.words
            matched = sum([weight for word, weight in present if word in words])  # weights are > 0
            if matched:
                fit = (matched / query.mass + min(1.0, matched / mass)) / 2
                if fit > best:
                    best, closest = fit, choice.text
        return best, closest


def _place_words(tokens: Sequence[str]) -> set[str]:
    """Words of ``tokens`` found only inside place names ("cau", "ngang" of "cau ngang")."""
    inside: set[str] = set()
    outside: set[str] = set()
    i = 0
    while i < len(tokens):
        for size in (3, 2):
            if " ".join(tokens[i : i + size]) in PLACE_NAMES:
                inside.update(tokens[i : i + size])
                i += size
                break
        else:
            outside.add(tokens[i])
            i += 1
    return inside - outside


def _decide(ranked: list[_Candidate], suggestions: tuple[FaqMatch, ...]) -> FaqResult:
    """The outcome for the ranked candidates; see the thresholds above."""
    best = ranked[0]
    if best.evidence < MIN_EVIDENCE:
        return _NONE
    lead = best.score - (ranked[1].score if len(ranked) > 1 else 0.0)
    if best.anchored and best.score >= ANSWER_SCORE and lead >= ANSWER_MARGIN:
        return FaqResult(outcome="answer", answer=suggestions[0], suggestions=suggestions)
    if best.score + MARGIN_BONUS * min(lead, MARGIN_CAP) >= UNSURE_CONFIDENCE:
        return FaqResult(outcome="unsure", answer=None, suggestions=suggestions)
    return _NONE
