"""Routing: which unit a place name (typed any way) belongs to, in the active map.

Citizens name their commune with or without accents, with typos, with old
names from before the 1 July 2025 merger, or with a prefix that fits several
communes ("Hiệp Mỹ" in the 2022 map). The service answers with one unit only
when it is sure; otherwise it returns the candidates to ask between, or says
the place is outside the area.

Citizens also type their whole address: "ấp Sóc Chuối, xã Long Sơn, huyện Cầu
Ngang, tỉnh Trà Vinh", "Long Son Cau Ngang Tra Vinh". The most specific level
named wins: the address is cut at commas and at the words that name a level
(ấp/khóm, xã/thị trấn/TT/X., huyện/thị xã/TP/H., tỉnh), and the communes named
are tried first (a marked "xã ..." before an unmarked name, then in the order
typed, as Vietnamese addresses go from the smallest place to the largest), then
the ấp, then the huyện, then the tỉnh. A district or province named alone
("huyện Cầu Ngang") routes as the name alone always did. Within one part, of the
names it contains, the first wins, and a name inside a longer one never does.

What people type around that (issue 18): a former district's name before or
after the commune ("Cầu Ngang - Long Sơn", "Cau Ngang Long Son", "mỹ chánh ba
tri") is read as the district, which then narrows the commune's namesakes, not
as the district's namesake town; two communes named in one message ("tui ở Vinh
Kim còn má tui ở Nhị Trường", "xã Vinh Kim, xã Mỹ Hòa") are asked between;
Telex typed with the Vietnamese keyboard off ("nhij truwowngf") and the short
forms of phường ("P.8", "f8") are undone before matching.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.text import fold, strip_typing_marks, tone_key_variants

CITIZEN_KINDS = ("xa", "phuong", "thi_tran")
OUTSIDE_KIND = "ngoai"
# A unit before 1/7/2025 listed in a map's `formerly`: its name leads to the unit(s) in `near`.
FORMER_KIND = "cu"
# What a citizen's place name can lead to; offices (thanh_tra, cong_an, ...) are chosen, never named.
_NAMED_KINDS = (*CITIZEN_KINDS, OUTSIDE_KIND, FORMER_KIND)
ASK = "several units match; ask which one"
_PREFIXES = re.compile(r"^(?:o |tai |xa |thi tran |tt |phuong |ubnd |ubnd xa |huyen )+")
FUZZY_MIN = 85.0
SUGGEST_MIN = 85.0
MIN_QUERY = 3
_CUT = ""  # the raw text of an address part cut out of running text by its district's name
_CONTAINED = 99.0  # the score of a name found whole inside a longer text

# Levels of an address part, by the word before it. A part with no such word is UNMARKED.
HAMLET, COMMUNE, UNMARKED, DISTRICT, PROVINCE = "ap", "xa", "", "huyen", "tinh"
# Folded words that start a part of an address, two-word ones first ("thị xã" is not "xã").
_MARKERS = (
    *((("thi", "tran"), COMMUNE), (("thi", "xa"), DISTRICT), (("thanh", "pho"), DISTRICT)),
    *((("ap",), HAMLET), (("khom",), HAMLET), (("xa",), COMMUNE), (("tt",), COMMUNE), (("x",), COMMUNE)),
    *((("phuong",), COMMUNE), (("huyen",), DISTRICT), (("h",), DISTRICT), (("quan",), DISTRICT)),
    *((("tx",), DISTRICT), (("tp",), DISTRICT), (("tinh",), PROVINCE)),
)
# Which parts are tried first: communes (marked before unmarked), then ấp, huyện, tỉnh.
_ORDER = {COMMUNE: (0, 0), UNMARKED: (0, 1), HAMLET: (1, 0), DISTRICT: (2, 0), PROVINCE: (3, 0)}
# Words around names in an address that name nothing: "xã Long Sơn cũ, nay là xã Hiệp Mỹ".
_FILLER = frozenset({"cu", "moi", "nay", "la", "thuoc"})
_CHUNKS = re.compile(r"[,;\n()\[\]]|\s[-–]\s")
# "p8", "p 8" (from "P.8"), "f8": phường 8. Only before a number, so a lone "p" is left alone.
_SHORT_WARD = re.compile(r"\b[pPfF]\.? ?(\d{1,2})\b")
# Words typed without any Vietnamese letter: where keyboard leftovers can be.
_ASCII_WORD = re.compile(r"\b[A-Za-z]+\b")


@dataclass(frozen=True)
class Place:
    """A unit (or an outside place) as the router sees it."""

    profile: str
    code: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    successor: tuple[str, str] | None = None  # (profile, code)
    near: tuple[str, ...] = ()  # outside places: in-area units to offer; former units: their successors
    area: str = ""  # former units: their former district and province

    @property
    def keys(self) -> tuple[str, ...]:
        names = {fold(self.name), *(fold(alias) for alias in self.aliases)}
        names |= {_bare_name(n) for n in list(names)}
        return tuple(sorted(n for n in names if n))


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    score: float
    via: str = ""  # the former unit that was named, and where: "Phường 1 cũ, Thành phố Trà Vinh, Tỉnh Trà Vinh"
    former: str = ""  # that former unit's name: "Phường 1"
    areas: tuple[str, ...] = ()  # where the former units of that name were: "Thành phố Trà Vinh, Tỉnh Trà Vinh"

    @property
    def label(self) -> str:
        """The name to show when asking: a former unit's name and place tell apart namesakes."""
        return f"{self.name} ({self.via})" if self.via else self.name


@dataclass(frozen=True)
class Route:
    unit: Candidate | None
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""
    outside: str | None = None  # the outside place that was named
    former: str | None = None  # the old unit's name when an old name was used

    def as_json(self) -> dict[str, object]:
        return {
            "unit": None if self.unit is None else {"code": self.unit.code, "name": self.unit.name},
            "candidates": [{"code": c.code, "name": c.name, "score": round(c.score, 1)} for c in self.candidates],
            "reason": self.reason,
        }


@dataclass
class _Hit:
    place: Place
    score: float
    key: str
    exact: bool


@dataclass(frozen=True)
class AddressPart:
    """One part of a typed address: its level (the word before it) and its folded words."""

    level: str
    text: str
    position: int
    raw: str = ""  # with the filler words: "tra cu" is Trà Cú, not "trà cũ"


def address_parts(text: str) -> list[AddressPart]:
    """The parts of an address, cut at punctuation and at the words naming a level.

    "ấp Sóc Chuối xã Long Sơn, H. Cầu Ngang" -> (ap, "ap soc chuoi"), (xa, "xa long son"),
    (huyen, "h cau ngang"). Each part keeps its level word, which the name router reads.
    """
    parts: list[AddressPart] = []
    current: list[str]
    for chunk in _CHUNKS.split(text):
        words = fold(chunk).split()
        level, current = UNMARKED, []
        index = 0
        while index < len(words):
            marker = _marker(words, index)
            if marker is not None and index + len(marker[0]) < len(words):
                _add_part(parts, level, current)
                level, current = marker[1], list(marker[0])
                index += len(marker[0])
                continue
            current.append(words[index])
            index += 1
        _add_part(parts, level, current)
    return parts


def _marker(words: list[str], index: int) -> tuple[tuple[str, ...], str] | None:
    for marker, level in _MARKERS:
        if tuple(words[index : index + len(marker)]) == marker:
            return marker, level
    return None


def _add_part(parts: list[AddressPart], level: str, words: list[str]) -> None:
    kept = [word for word in words if word not in _FILLER]
    if len(kept) > (level != UNMARKED):  # a level word alone names nothing
        parts.append(AddressPart(level, " ".join(kept), len(parts), " ".join(words)))


@dataclass
class RoutingService:
    places: list[Place]
    profile: str
    _index: list[tuple[str, Place]] = field(init=False, default_factory=list)
    _by_code: dict[tuple[str, str], Place] = field(init=False, default_factory=dict)
    _places_by_key: dict[str, list[tuple[int, Place]]] = field(init=False, default_factory=dict)
    _keys: list[str] = field(init=False, default_factory=list)  # sorted, each once
    _longest: int = field(init=False, default=0)  # words in the longest key
    _words: frozenset[str] = field(init=False, default=frozenset())  # every word of a key
    # Former districts and provinces by their bare folded name ("cau ngang", "tra vinh").
    _districts: frozenset[str] = field(init=False, default=frozenset())
    _provinces: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self._by_code = {(place.profile, place.code): place for place in reversed(self.places)}
        # Index the active map, and former units that lead into it; other maps stay silent.
        self._index = [
            (key, place)
            for place in self.places
            if (place.profile == self.profile and place.kind in _NAMED_KINDS)
            or (place.profile != self.profile and place.kind != OUTSIDE_KIND and self._current(place) is not None)
            for key in place.keys
        ]
        for position, (key, place) in enumerate(self._index):
            self._places_by_key.setdefault(key, []).append((position, place))
        self._keys = sorted(self._places_by_key)
        self._longest = max((len(key.split()) for key in self._keys), default=0)
        self._words = frozenset(word for key in self._keys for word in key.split())
        areas = [area.split(", ") for place in self.places if place.area for area in [place.area]]
        self._districts = frozenset(_without_level(fold(area[0])) for area in areas if len(area) == 2)
        self._provinces = frozenset(_without_level(fold(area[-1])) for area in areas)

    def units(self) -> list[Place]:
        """Units of the active map that citizens choose between, in file order."""
        return [p for p in self.places if p.profile == self.profile and p.kind in CITIZEN_KINDS]

    def find(self, code: str, profile: str | None = None) -> Place | None:
        return self._by_code.get((profile or self.profile, code))

    def route(self, text: str) -> Route:
        """Where a place name, or a whole address, belongs (see the module's docstring)."""
        text = self._repaired(text)
        parts = self._with_districts(address_parts(text))
        if len(parts) > 1:
            chosen = self._most_specific(parts)
            if chosen is not None:
                return chosen
        return self._route_name(fold(text))

    def _repaired(self, text: str) -> str:
        """The text with keyboard leftovers and short forms undone, where that makes a known word.

        "nhij truwowngf" -> "nhi truong" (Telex typed with the Vietnamese keyboard off),
        "p8", "P.8", "f8" -> "phuong 8" (the short forms of phường on envelopes and in the South).
        """
        text = _SHORT_WARD.sub(r"phuong \1", text)
        return _ASCII_WORD.sub(lambda found: self._known_word(found.group(0).lower()), text)

    def _known_word(self, word: str) -> str:
        if word in self._words or not word.isalpha():
            return word
        stripped = strip_typing_marks(word)
        for candidate in (stripped, *tone_key_variants(stripped), *tone_key_variants(word)):
            if candidate in self._words:
                return candidate
        return word

    def _with_districts(self, parts: list[AddressPart]) -> list[AddressPart]:
        """Unmarked parts with a former district's or province's name in them cut around it.

        "Cầu Ngang - Long Sơn", "Cau Ngang Long Son", "phú lễ ba tri": the district is named to
        say where the commune is, so the commune, not the district's namesake town, is routed
        (the district then narrows namesakes). A district named alone still routes as a name.
        """
        cut: list[AddressPart] = []
        for part in parts:
            if part.level == UNMARKED:
                cut.extend(self._cut_part(part))
            elif part.level == COMMUNE:
                cut.extend(self._cut_marked(part))
            else:
                cut.append(part)
        communes = [p for p in cut if p.level in (COMMUNE, UNMARKED) and not self._is_area_name(p.text)]
        if not communes:
            # Only district names: "Cầu Kè Thạnh Phú" is the commune Thạnh Phú of Cầu Kè; the
            # first district stays a district, a later one (not a province) is the commune.
            named = [p for p in cut if p.level == DISTRICT and p.text not in self._provinces and p.raw == _CUT]
            if len(named) >= 2:
                later = {id(p) for p in named[1:]}
                cut = [AddressPart(UNMARKED, p.text, p.position, p.text) if id(p) in later else p for p in cut]
            else:
                return parts
        return [AddressPart(p.level, p.text, position, p.raw) for position, p in enumerate(cut)]

    def _is_area_name(self, text: str) -> bool:
        return text in self._districts or text in self._provinces

    def _cut_marked(self, part: AddressPart) -> list[AddressPart]:
        """ "phường 8 trà vinh": the commune with its level word, then the district after it."""
        words = part.text.split()
        marker = _marker(words, 0)
        size = len(marker[0]) if marker else 0
        body = self._cut_part(AddressPart(UNMARKED, " ".join(words[size:]), part.position))
        if len(body) < 2 or body[0].level != UNMARKED:
            return [part]
        head = " ".join([*words[:size], body[0].text])
        return [AddressPart(COMMUNE, head, part.position, head), *body[1:]]

    def _cut_part(self, part: AddressPart) -> list[AddressPart]:
        words = part.text.split()
        pieces: list[AddressPart] = []
        rest: list[str] = []
        index = 0
        while index < len(words):
            for size in range(min(4, len(words) - index), 0, -1):
                name = " ".join(words[index : index + size])
                if size > 1 and self._is_area_name(name):
                    break
            else:
                rest.append(words[index])
                index += 1
                continue
            if rest:
                pieces.append(AddressPart(UNMARKED, " ".join(rest), part.position, " ".join(rest)))
                rest = []
            level = DISTRICT if name in self._districts else PROVINCE
            pieces.append(AddressPart(level, name, part.position, _CUT))
            index += size
        if rest:
            pieces.append(AddressPart(UNMARKED, " ".join(rest), part.position, " ".join(rest)))
        return pieces

    def _most_specific(self, parts: list[AddressPart]) -> Route | None:
        """The route of the most specific part of an address that names something, if any."""
        ranked = sorted(parts, key=lambda part: (*_ORDER[part.level], part.position))
        for tier in sorted({_ORDER[part.level][0] for part in ranked}):
            routes = [(part, self._route_part(part)) for part in ranked if _ORDER[part.level][0] == tier]
            # Communes, or district names found in running text ("ở Ba Tri ... ở Giồng Trôm").
            named = [route for part, route in routes if tier == 0 or (tier == 2 and part.raw == _CUT)]
            if tier in (0, 2):
                several = _several_named(named)
                if several is not None:
                    return several
            # Spellings close to an ấp's or a district's name are noise, not suggestions.
            for wanted in (_decided, _suggested, _outside) if tier == 0 else (_decided, _outside):
                found = next(((part, route) for part, route in routes if wanted(route)), None)
                if found is not None:
                    # The part that named the commune does not narrow its own namesakes.
                    others = [p for p in parts if p is not found[0]]
                    return _narrowed(found[1], others) if tier == 0 else found[1]
        return None

    def _route_part(self, part: AddressPart) -> Route:
        """A part's route; when it names nothing without its filler words, with them ("Trà Cú")."""
        route = self._route_name(part.text)
        if _decided(route) or not part.raw or part.raw == part.text:
            return route
        with_fillers = self._route_name(part.raw)
        return with_fillers if _decided(with_fillers) else route

    def _route_name(self, folded: str) -> Route:
        query = _bare_name(folded)
        if len(query) < MIN_QUERY:
            return Route(None, (), "too short to tell")
        hits = self._hits(query, kind_named=_kind_named(folded) is not None)
        if not hits:
            return Route(None, self._fuzzy_candidates(query), "no unit matches this name")
        best = hits[0]
        if best.place.kind == OUTSIDE_KIND:
            near = tuple(self._current(p) for p in self._near(best.place))
            return Route(
                None,
                tuple(Candidate(p.code, p.name, best.score) for p in near if p is not None),
                f"outside the area: {best.place.name}",
                outside=best.place.name,
            )
        # Several different current units tie at the top: ask between them.
        top = _top(self._dedupe(hits))
        if not top:
            return Route(None, (), "no unit matches this name")
        # "thị trấn Mỹ Long": of Thị trấn Mỹ Long and the Xã Mỹ Long Bắc/Nam it starts, the thị trấn;
        # "thị trấn Tam Bình": the former town (split in two), not the new Xã Tam Bình by name.
        kind = _kind_named(folded)
        if kind is not None:
            named = _top(self._dedupe([hit for hit in hits if _kind_of(hit.place) == kind]))
            if named and named[0].score >= top[0].score - 0.01:
                top = named
        if len(top) > 1:
            return Route(None, tuple(match.candidate() for match in top), ASK)
        match = top[0]
        unit = match.candidate()
        if match.former is not None:
            reason = f"former unit {match.former.name} is now part of {match.place.name}"
            return Route(unit, (unit,), reason, former=match.former.name)
        return Route(unit, (unit,), "exact name" if match.score >= 100 else "close spelling")

    def _key_scores(self, query: str) -> dict[str, tuple[float, bool]]:
        """The score of every key the query names, contains, starts or nearly spells.

        Looked up rather than scanned, so that a province of a thousand names routes in well under
        a millisecond: the keys inside the query are its runs of words, the keys it starts are
        found by bisection, and only spellings are scored one by one (in C).
        """
        scores: dict[str, tuple[float, bool]] = {}
        words = query.split()
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self._longest) + 1):
                key = " ".join(words[start:end])
                if key in self._places_by_key:
                    scores[key] = (100.0, True) if key == query else (99.0 + min(len(key), 30) / 100, True)
        if len(query) >= 4:  # "hiep my" -> "hiep my dong", "hiep my tay"
            prefix = query + " "
            position = bisect.bisect_left(self._keys, prefix)
            while position < len(self._keys) and self._keys[position].startswith(prefix):
                scores.setdefault(self._keys[position], (95.0, False))
                position += 1
        for key, score, _ in process.extract(query, self._keys, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN, limit=None):
            scores.setdefault(key, (float(score) * 0.94, False))
        return scores

    def _hits(self, query: str, kind_named: bool = False) -> list[_Hit]:
        found = [
            (position, key, place, *scored)
            for key, scored in self._key_scores(query).items()
            for position, place in self._places_by_key[key]
        ]
        best: dict[tuple[str, str], _Hit] = {}
        for _, key, place, score, named in sorted(found, key=lambda item: item[0]):
            hit = _Hit(place, score, key, named)
            ident = (place.profile, place.code)
            if ident not in best or hit.score > best[ident].score:
                best[ident] = hit
        hits = sorted(best.values(), key=lambda h: (-h.score, -len(h.key)))
        contained = [h for h in hits if h.exact]
        # "xã Kim Hòa, Trà Vinh": the commune named, not the wider place outside the area.
        contained = [h for h in contained if h.place.kind != OUTSIDE_KIND] or contained
        # "my long bacc" contains "my long" (Thị trấn Mỹ Long) but is Mỹ Long Bắc misspelt.
        misspelt = [h for h in hits if not h.exact and h.score < 95.0]
        longer = {c.key for c in contained for h in misspelt if h.key.startswith(c.key + " ")}
        if longer and all(c.key in longer for c in contained):
            return misspelt
        if contained:
            exact = [h for h in contained if h.key == query]
            prefixed = [h for h in hits if not h.exact and h.score == 95.0]
            if exact and prefixed and not kind_named:
                # "my long" names Thị trấn Mỹ Long but also starts Mỹ Long Bắc / Mỹ Long Nam: a tie
                # ("xã Tân An" with its kind word is that unit, not also Xã Tân An Hội).
                return [_Hit(h.place, 100.0, h.key, h.exact) for h in exact + prefixed]
            return _first_named(contained, f" {query} ")
        return hits

    def _dedupe(self, hits: list[_Hit]) -> list[_Match]:
        """Map every hit to units of the active map, keeping the best score per unit.

        On a tie the unit named by its own name wins over a former unit that became it, but the
        former districts of the namesakes it stands for are kept, for an address to narrow by.
        """
        seen: dict[str, _Match] = {}
        for hit in hits:
            for current, former in self._successors(hit.place):
                if current.kind not in CITIZEN_KINDS:
                    continue
                area = {former.area} if former is not None and former.kind == FORMER_KIND else set()
                known = seen.get(current.code)
                if known is None or hit.score > known.score:
                    seen[current.code] = _Match(current, hit.score, former, area)
                elif hit.score == known.score:
                    known.areas |= area
                    if former is None:
                        known.former = None
        return sorted(seen.values(), key=lambda match: -match.score)

    def _successors(self, place: Place) -> Iterable[tuple[Place, Place | None]]:
        """The units of the active map a place is or went to, each with the former unit named (if any)."""
        if place.kind == FORMER_KIND and place.profile == self.profile:
            for code in place.near:
                successor = self.find(code)
                if successor is not None:
                    yield successor, place
            return
        current = self._current(place)
        if current is not None:
            yield current, place if place.profile != self.profile else None

    def _current(self, place: Place) -> Place | None:
        """The unit of the active map that a place is, or became."""
        visited: set[tuple[str, str]] = set()
        while place.profile != self.profile:
            if place.successor is None or place.successor in visited:
                return None
            visited.add(place.successor)
            successor = self.find(place.successor[1], place.successor[0])
            if successor is None:
                return None
            place = successor
        return place

    def _near(self, outside: Place) -> Iterable[Place]:
        for code in outside.near:
            place = self.find(code, outside.profile)
            if place is not None:
                yield place

    def _fuzzy_candidates(self, query: str) -> tuple[Candidate, ...]:
        scored: dict[str, Candidate] = {}
        near = process.extract(query, self._keys, scorer=fuzz.partial_ratio, score_cutoff=SUGGEST_MIN, limit=None)
        ratios = {key: float(score) for key, score, _ in near}
        for key, place in self._index:
            score = ratios.get(key)
            if score is None:
                continue
            for current, former in self._successors(place):
                if current.kind in CITIZEN_KINDS and (current.code not in scored or score > scored[current.code].score):
                    area = {former.area} if former is not None and former.kind == FORMER_KIND else set()
                    scored[current.code] = _Match(current, score, former, area).candidate()
        return tuple(sorted(scored.values(), key=lambda c: -c.score)[:3])


def _bare_name(folded: str) -> str:
    """A folded name without its kind word ("xa long son" -> "long son"), unless the rest is a number.

    "Phường 1" of several former towns is "phuong 1": "1" alone would be found in "ấp 1".
    """
    bare = _PREFIXES.sub("", folded + " ").strip()
    return folded.strip() if bare.split(" ", 1)[0].isdigit() else bare


@dataclass
class _Match:
    """A unit of the active map a name leads to, and the former unit it was named by (if any)."""

    place: Place
    score: float
    former: Place | None
    areas: set[str]

    def candidate(self) -> Candidate:
        """The unit to offer; reached through a former unit of the map, it says which and where."""
        areas = tuple(sorted(self.areas))
        former = self.former
        if former is None or former.kind != FORMER_KIND:
            return Candidate(self.place.code, self.place.name, self.score, areas=areas)
        part = ", một phần" if len(former.near) > 1 else ""
        via = f"{former.name} cũ{part}, {former.area}"
        return Candidate(self.place.code, self.place.name, self.score, via, former.name, areas)


def _top(matches: list[_Match]) -> list[_Match]:
    return [match for match in matches if match.score >= matches[0].score - 0.01] if matches else []


def _kind_of(place: Place) -> str | None:
    """The kind of unit a place is, or was (a former unit's kind is the first word of its name)."""
    return _kind_named(fold(place.name)) if place.kind == FORMER_KIND else place.kind


def _narrowed(route: Route, parts: list[AddressPart]) -> Route:
    """Of the namesakes asked between, those whose former district or province the address names.

    "Phường 1, TP Trà Vinh": of the former Phường 1 of several towns, the one of Trà Vinh.
    """
    if route.reason != ASK:
        return route
    named = {
        level: {_without_level(part.text) for part in parts if part.level in (level, UNMARKED)}
        for level in (DISTRICT, PROVINCE)
    }
    kept = route.candidates
    for position, level in enumerate((DISTRICT, PROVINCE)):
        narrower = tuple(
            candidate
            for candidate in kept
            if any(
                area.count(", ") == 1 and _without_level(fold(area.split(", ")[position])) in named[level]
                for area in candidate.areas
            )
        )
        kept = narrower or kept
    if len(kept) == len(route.candidates):
        return route
    if len(kept) > 1:
        return Route(None, kept, ASK)
    unit = kept[0]
    if not unit.former:
        return Route(unit, (unit,), "exact name")
    return Route(unit, (unit,), f"former unit {unit.former} is now part of {unit.name}", former=unit.former)


def _without_level(text: str) -> str:
    """A part of an address without the word naming its level: "h cau ngang" -> "cau ngang"."""
    words = text.split()
    marker = _marker(words, 0)
    return " ".join(words[len(marker[0]) :] if marker else words)


def _first_named(contained: list[_Hit], words: str) -> list[_Hit]:
    """Of the names found in a query, the first one typed; a name inside a longer one never wins.

    "my long nam" contains "my long" (Thị trấn Mỹ Long) and "my long nam": Mỹ Long Nam. In
    "long son cau ngang tra vinh" the commune comes first, then its district and province.
    """
    spans: list[tuple[int, int, _Hit]] = []
    for hit in sorted(contained, key=lambda h: -len(h.key)):
        start = words.index(f" {hit.key} ")
        end = start + len(hit.key)
        if not any(start >= s and end <= e and (start, end) != (s, e) for s, e, _ in spans):
            spans.append((start, end, hit))
    first = min(start for start, _, _ in spans)
    if any(start != first for start, _, _ in spans):
        # "tui ở Vinh Kim còn má tui ở Nhị Trường": several places named; equal, to ask between
        # them unless they all lead to one unit ("Thuận Hòa cũ nay là Cầu Ngang").
        return [_Hit(hit.place, _CONTAINED, hit.key, hit.exact) for _, _, hit in spans]
    return [hit for start, _, hit in spans if start == first]


def _several_named(routes: list[Route]) -> Route | None:
    """Two communes named by name in one message ("xã Vinh Kim, xã Mỹ Hòa"): ask between them."""
    named: dict[str, Candidate] = {}
    for route in routes:
        if route.unit is not None and route.unit.score >= _CONTAINED:
            named.setdefault(route.unit.code, route.unit)
    if len(named) < 2:
        return None
    return Route(None, tuple(named.values()), ASK)


def _kind_named(folded: str) -> str | None:
    """The kind of unit a name is prefixed with: "tt my long" -> thi_tran, "xa kim hoa" -> xa."""
    first = folded.split(" ", 2)
    if first[0] == "tt" or first[:2] == ["thi", "tran"]:
        return "thi_tran"
    if first[0] == "phuong":
        return "phuong"
    return "xa" if first[0] in ("xa", "x") else None


def _decided(route: Route) -> bool:
    """One unit, or a few that the person is asked to choose between."""
    return route.unit is not None or route.reason == ASK


def _suggested(route: Route) -> bool:
    return route.outside is None and bool(route.candidates)


def _outside(route: Route) -> bool:
    return route.outside is not None
