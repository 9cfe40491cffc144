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
1. Both sides (entry questions and the query) are folded with
   :func:`bot.text.fold` and rewritten with the lexicon, longest phrase first
   ("khai sanh" -> "khai sinh", "cccd" -> "can cuoc cong dan").
2. Query tokens that are not known words get their keyboard leftovers removed
   (:func:`strip_typing_marks`) and, failing that, a one-edit typo correction
   against the index vocabulary (rapidfuzz OSA distance).
3. Chat fillers ("cho em hoi", "a", "vay", "ntn") are dropped; what remains are
   the informative tokens. Without any of them the outcome is "none".
4. Candidate entries come from an inverted index over informative tokens and
   token bigrams, weighted by inverse document frequency, so that "dang ky"
   (in half the entries) counts little and "khai sinh" counts a lot.
5. Each candidate's title and questions are scored: the IDF-weighted share of
   the query they explain, the share of the question the query covers, the
   bigrams they share, and a rapidfuzz ``token_set_ratio`` for what token
   matching misses. The best question counts for its entry.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.text import fold, nfc

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

# Chat fillers: words that say how someone asks, never what about. Folded
# forms. Words that fold onto a meaningful word are left out ("can" is also
# "căn" of "căn cước", "ho" is "hộ"/"hồ sơ", "con" is a child), the IDF
# weighting takes care of those.
_STOP_TEXT = """
    a ah ak ha nha nhe nhen ne nhi vay zay hen ok oke okay okie alo allo hello hi hey
    chao xin cam on thank thanks tks thx camon vang uh um uhm da oi ad admin
    bac co anh chi em minh toi tui tao may ong be
    cho hoi giup gium dum voi lam nao ntn nhu gi ji di
    khong ko kg kh hong hem duoc dc phai thi la ma va cua mot nhung cac nay kia roi chua
    ai dau khi bao gio luc nhieu bay muon biet hieu xem coi
    ve sang len xuong ra vao den tren duoi hom mai nam thang ngay tuan
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())
# Tokens of one letter ("a", "k", "j", "z", "o") and numbers are never informative either.


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


def _tone_key_variants(token: str) -> list[str]:
    """``token`` without one inner Telex tone key ("dafng" -> "dang"), first letter kept."""
    return [token[:i] + token[i + 1 :] for i in range(1, len(token)) if token[i] in _TONE_KEYS]


def _is_informative(token: str) -> bool:
    return len(token) > 1 and token not in STOP_WORDS and not token.isdigit()


@dataclass(frozen=True)
class _Lexicon:
    """Phrase rewriting, longest phrase first, left to right."""

    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    longest: int

    @classmethod
    def build(cls, lexicon: Mapping[str, str] | None) -> _Lexicon:
        phrases = {tuple(fold(k).split()): tuple(fold(v).split()) for k, v in (lexicon or {}).items()}
        phrases = {k: v for k, v in phrases.items() if k and v and k != v}
        return cls(phrases, max((len(k) for k in phrases), default=0))

    def rewrite(self, tokens: Sequence[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                replacement = self.phrases.get(tuple(tokens[i : i + size]))
                if replacement is not None:
                    out.extend(replacement)
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def words(self) -> set[str]:
        return {word for phrase in self.phrases for word in phrase}


# --------------------------------------------------------------------------- search

# Outcome thresholds, on the 0..100 score of the best entry. Chosen on
# tests/data/faq_eval.tsv (see _decide and tests/test_faq_eval.py).
ANSWER_SCORE = 60.0
ANSWER_MARGIN = 5.0
UNSURE_SCORE = 40.0
# The guard: share of the query's informative weight that the best entry's
# vocabulary must explain before anything is offered at all.
MIN_COVER = 0.55

# Tokens shorter than this are not typo-corrected: short syllables are one edit
# away from too many others ("hom" -> "hon", "lua" -> "luu").
_MIN_TYPO_LENGTH = 4
# A typo-corrected word is only a guess: it earns this share of its weight.
_GUESS_CREDIT = 0.5
# Entries kept from the inverted-index pass for the (costlier) per-question scoring.
_CANDIDATES = 10
# The inverted-index pass does not walk the postings of features found in more than
# this share of the entries (and at least _POOL of them): exact on indexes of up to
# _POOL entries, bounded work above. Those features still count for the _WIDE
# entries that the walk ranks best.
_COMMON_SHARE = 0.1
# Score = 100 * (W_COVER * cover + W_BIGRAM * bigram + W_FIT * fit) + W_RATIO * ratio,
# see FaqIndex._score; the weights add up to 1 so that the score is 0..100.
W_COVER = 0.35
W_BIGRAM = 0.15
W_FIT = 0.3
W_RATIO = 0.2
_POOL = 400
_WIDE = 50
# Weight of a query word the index has never seen, as a multiple of the highest
# possible IDF: an unknown word probably names something we have no entry for.
_UNKNOWN_WEIGHT = 1.0


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
    words: frozenset[str]  # informative tokens
    bigrams: frozenset[str]  # "a b" for consecutive informative tokens


def _bigrams(words: Sequence[str]) -> frozenset[str]:
    return frozenset(f"{a} {b}" for a, b in itertools.pairwise(words))


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
        return sum(weights[f] for f in features.intersection(weights))

    def features(self) -> dict[str, float]:
        """Words and bigrams with what they earn an entry that has them."""
        return {**self.credit, **self.bigrams}


class FaqIndex:
    """An in-memory search index over FAQ entries; cheap to update one entry at a time."""

    def __init__(self, entries: Iterable[FaqEntry], lexicon: Mapping[str, str] | None = None) -> None:
        self._lexicon = _Lexicon.build(lexicon)
        self._lexicon_words = self._lexicon.words()
        self._entries: dict[str, FaqEntry] = {}
        self._choices: dict[str, tuple[_Choice, ...]] = {}
        self._features: dict[str, frozenset[str]] = {}  # entry id -> its words and bigrams
        self._postings: dict[str, set[str]] = {}  # word or bigram -> entry ids
        # Derived from the above, rebuilt lazily after an upsert.
        self._idf_cache: dict[str, float] = {}
        self._mass_cache: dict[int, float] = {}  # id(choice) -> IDF mass of its words
        self._vocabulary_list: list[str] | None = None  # for typo correction
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
        for feature in features:
            postings = self._postings.setdefault(feature, set())
            if not postings and " " not in feature:
                self._vocabulary_list = None
            postings.add(entry.id)
        self._idf_cache.clear()
        self._mass_cache.clear()

    def _remove(self, entry_id: str) -> None:
        for feature in self._features.pop(entry_id, frozenset()):
            postings = self._postings[feature]
            postings.discard(entry_id)
            if not postings:
                del self._postings[feature]
                self._vocabulary_list = None
        self._entries.pop(entry_id, None)
        self._choices.pop(entry_id, None)

    def _prepare(self, text: str) -> _Choice:
        tokens = self._lexicon.rewrite(fold(text).split())
        words = [t for t in tokens if _is_informative(t)]
        return _Choice(text=" ".join(tokens), words=frozenset(words), bigrams=_bigrams(words))

    def _idf(self, feature: str) -> float:
        """log(1 + N / df); 0 for a feature no entry has."""
        idf = self._idf_cache.get(feature)
        if idf is None:
            df = len(self._postings.get(feature, ()))
            idf = math.log(1 + len(self._entries) / df) if df else 0.0
            self._idf_cache[feature] = idf
        return idf

    def _mass(self, choice: _Choice) -> float:
        mass = self._mass_cache.get(id(choice))
        if mass is None:
            mass = sum(self._idf(word) for word in choice.words) or 1.0
            self._mass_cache[id(choice)] = mass
        return mass

    # -- query side

    def _is_known(self, token: str) -> bool:
        return token in self._postings or token in self._lexicon_words or token in STOP_WORDS

    def _vocabulary(self) -> list[str]:
        if self._vocabulary_list is None:
            words = {f for f in self._postings if " " not in f} | self._lexicon_words
            self._vocabulary_list = sorted(words)
        return self._vocabulary_list

    def _repair(self, token: str) -> tuple[str, bool]:
        """A known word for ``token`` and whether it is a guess (a corrected typo).

        Keyboard leftovers are removed first ("sinhf", "ddang", "dafng"); a
        token still unknown is corrected to a known word one edit away that
        starts with the same letter ("sihn" -> "sinh", "khia" -> "khai").
        """
        if self._is_known(token) or token.isdigit():
            return token, False
        stripped = strip_typing_marks(token)
        for candidate in (stripped, *_tone_key_variants(stripped), *_tone_key_variants(token)):
            if self._is_known(candidate):
                return candidate, False
        if len(token) >= _MIN_TYPO_LENGTH:
            vocabulary = [w for w in self._vocabulary() if w[0] == token[0]]
            found = process.extractOne(token, vocabulary, scorer=OSA.distance, score_cutoff=1)
            if found is not None:
                return str(found[0]), True
        return token, False

    def normalise(self, text: str) -> list[str]:
        """The query as the index sees it: folded, repaired and rewritten tokens."""
        return self._lexicon.rewrite([self._repair(t)[0] for t in fold(text).split()])

    def _query(self, text: str) -> _Query:
        repaired = [self._repair(t) for t in fold(text).split()]
        guesses = {word for word, guessed in repaired if guessed}
        tokens = self._lexicon.rewrite([word for word, _ in repaired])
        informative = list(dict.fromkeys(t for t in tokens if _is_informative(t)))
        unknown = _UNKNOWN_WEIGHT * math.log(1 + len(self._entries))
        words = {w: self._idf(w) or unknown for w in informative}
        credit = {w: weight * (_GUESS_CREDIT if w in guesses else 1.0) for w, weight in words.items()}
        bigrams = {b: self._idf(b) for b in _bigrams(informative)}
        return _Query(
            text=" ".join(tokens),
            weights=words,
            credit=credit,
            bigrams=bigrams,
            mass=sum(words.values()),
            bigram_mass=sum(bigrams.values()),
        )

    def search(self, text: str, limit: int = 3) -> FaqResult:
        """Match a citizen's message against the entries; see the module docstring."""
        if not self._entries:
            return _NONE
        query = self._query(text)
        if not query.weights:
            return _NONE
        ranked = self._rank(query)
        if not ranked or ranked[0][2] < MIN_COVER:
            return _NONE
        suggestions = tuple(
            FaqMatch(id=entry_id, title=self._entries[entry_id].title, score=round(score, 1))
            for score, entry_id, _ in ranked[:limit]
        )
        return _decide(ranked, suggestions)

    def _rank(self, query: _Query) -> list[tuple[float, str, float]]:
        """(score, entry id, entry cover) of the best candidates, best first."""
        ranked = [(*self._score(query, entry_id), entry_id) for entry_id in self._shortlist(query.features())]
        ranked.sort(key=lambda row: (-row[0], row[2]))
        return [(score, entry_id, cover) for score, cover, entry_id in ranked]

    def _shortlist(self, features: Mapping[str, float]) -> list[str]:
        """The _CANDIDATES entries that earn most from ``features``.

        Weights are summed along the postings of the features, except those of
        features found in more than _COMMON_SHARE of the entries (too costly to
        walk on a large index, and worth little); they are added afterwards to
        the best entries only. A query made of such features only walks its
        rarest one.
        """
        common_df = max(_POOL, _COMMON_SHARE * len(self._entries))
        postings = [(self._postings[f], w) for f, w in features.items() if f in self._postings]
        walked = [(ids, w) for ids, w in postings if len(ids) <= common_df]
        if not walked and postings:
            walked = [min(postings, key=lambda pair: len(pair[0]))]
        coarse: dict[str, float] = {}
        for entry_ids, weight in walked:
            for entry_id in entry_ids:
                coarse[entry_id] = coarse.get(entry_id, 0.0) + weight
        if len(walked) < len(postings):
            wide = heapq.nlargest(_WIDE, coarse, key=coarse.__getitem__)
            coarse = {entry_id: self._earned(features, entry_id) for entry_id in wide}
        return heapq.nlargest(_CANDIDATES, coarse, key=coarse.__getitem__)

    def _earned(self, features: Mapping[str, float], entry_id: str) -> float:
        """Sum of ``features`` weights over the features the entry has."""
        return _Query.earned(features, self._features[entry_id])

    def _score(self, query: _Query, entry_id: str) -> tuple[float, float]:
        """How well an entry matches the query, 0..100, and its cover.

        cover: IDF share of the query's words found anywhere in the entry (a
        query may mix the words of several of its questions); bigrams: IDF
        share of the query's word pairs found in the entry; fit: for the best
        single question, the mean of the share of the query it explains and the
        share of the question the query covers; ratio: rapidfuzz
        token_set_ratio against that question, for what whole tokens miss.
        """
        features = self._features[entry_id]
        cover = query.earned(query.credit, features) / query.mass
        bigram = query.earned(query.bigrams, features) / query.bigram_mass if query.bigram_mass else cover
        fit, closest = max((self._fit(query, choice), choice.text) for choice in self._choices[entry_id])
        ratio = fuzz.token_set_ratio(query.text, closest)
        score = 100 * (W_COVER * cover + W_BIGRAM * bigram + W_FIT * fit) + W_RATIO * ratio
        return score, cover

    def _fit(self, query: _Query, choice: _Choice) -> float:
        matched = query.earned(query.credit, choice.words)
        return (matched / query.mass + min(1.0, matched / self._mass(choice))) / 2


def _decide(ranked: list[tuple[float, str, float]], suggestions: tuple[FaqMatch, ...]) -> FaqResult:
    best = ranked[0][0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if best >= ANSWER_SCORE and best - runner_up >= ANSWER_MARGIN:
        return FaqResult(outcome="answer", answer=suggestions[0], suggestions=suggestions)
    if best >= UNSURE_SCORE:
        return FaqResult(outcome="unsure", answer=None, suggestions=suggestions)
    return _NONE
