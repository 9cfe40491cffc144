"""Routing: which unit a place name (typed any way) belongs to, in the active map.

Citizens name their commune with or without accents, with typos, with old
names from before the 1 July 2025 merger, or with a prefix that fits several
communes ("Hiệp Mỹ" in the 2022 map). The service answers with one unit only
when it is sure; otherwise it returns the candidates to ask between, or says
the place is outside the area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.text import fold

CITIZEN_KINDS = ("xa", "thi_tran")
OUTSIDE_KIND = "ngoai"
_PREFIXES = re.compile(r"^(?:o |tai |xa |thi tran |tt |phuong |ubnd |ubnd xa |huyen )+")
FUZZY_MIN = 85.0
SUGGEST_MIN = 85.0
MIN_QUERY = 3


@dataclass(frozen=True)
class Place:
    """A unit (or an outside place) as the router sees it."""

    profile: str
    code: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    successor: tuple[str, str] | None = None  # (profile, code)
    near: tuple[str, ...] = ()  # for outside places: in-area unit codes to offer

    @property
    def keys(self) -> tuple[str, ...]:
        base = fold(self.name)
        stripped = _PREFIXES.sub("", base + " ").strip()
        names = {base, stripped, *(fold(alias) for alias in self.aliases)}
        names |= {_PREFIXES.sub("", n + " ").strip() for n in list(names)}
        return tuple(sorted(n for n in names if n))


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    score: float


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


@dataclass
class RoutingService:
    places: list[Place]
    profile: str
    _index: list[tuple[str, Place]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        # Index the active map, and former units that lead into it; other maps stay silent.
        self._index = [
            (key, place)
            for place in self.places
            if place.profile == self.profile or (place.kind != OUTSIDE_KIND and self._current(place) is not None)
            for key in place.keys
        ]

    def units(self) -> list[Place]:
        """Units of the active map that citizens choose between, in file order."""
        return [p for p in self.places if p.profile == self.profile and p.kind in CITIZEN_KINDS]

    def find(self, code: str, profile: str | None = None) -> Place | None:
        wanted = profile or self.profile
        return next((p for p in self.places if p.profile == wanted and p.code == code), None)

    def route(self, text: str) -> Route:
        query = _PREFIXES.sub("", fold(text) + " ").strip()
        if len(query) < MIN_QUERY:
            return Route(None, (), "too short to tell")
        hits = self._hits(query)
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
        current = self._dedupe(hits)
        if not current:
            return Route(None, (), "no unit matches this name")
        top = [c for c in current if c[1] >= current[0][1] - 0.01]
        if len(top) > 1:
            return Route(
                None,
                tuple(Candidate(p.code, p.name, s) for p, s, _ in top),
                "several units match; ask which one",
            )
        place, score, former = current[0]
        unit = Candidate(place.code, place.name, score)
        if former is not None:
            return Route(unit, (unit,), f"former unit {former} is now part of {place.name}", former=former)
        return Route(unit, (unit,), "exact name" if score >= 100 else "close spelling")

    def _hits(self, query: str) -> list[_Hit]:
        words = f" {query} "
        best: dict[tuple[str, str], _Hit] = {}
        for key, place in self._index:
            if key == query:
                hit = _Hit(place, 100.0, key, True)
            elif f" {key} " in words:
                hit = _Hit(place, 99.0 + min(len(key), 30) / 100, key, True)
            elif len(query) >= 4 and key.startswith(query + " "):
                hit = _Hit(place, 95.0, key, False)  # "hiep my" -> "hiep my dong", "hiep my tay"
            else:
                score = fuzz.ratio(query, key)
                if score < FUZZY_MIN:
                    continue
                hit = _Hit(place, float(score) * 0.94, key, False)
            ident = (place.profile, place.code)
            if ident not in best or hit.score > best[ident].score:
                best[ident] = hit
        hits = sorted(best.values(), key=lambda h: (-h.score, -len(h.key)))
        # A name contained in the query loses to a longer name also contained in it:
        # "my long nam" contains "my long" (Thị trấn Mỹ Long) and "my long nam".
        contained = [h for h in hits if h.exact]
        # "xã Kim Hòa, Trà Vinh": the commune named, not the wider place outside the area.
        contained = [h for h in contained if h.place.kind != OUTSIDE_KIND] or contained
        if contained:
            longest = max(len(h.key) for h in contained)
            exact = [h for h in contained if h.key == query]
            prefixed = [h for h in hits if not h.exact and h.score == 95.0]
            if exact and prefixed:
                # "my long" names Thị trấn Mỹ Long but also starts Mỹ Long Bắc / Mỹ Long Nam: a tie.
                return [_Hit(h.place, 100.0, h.key, h.exact) for h in exact + prefixed]
            return [h for h in contained if len(h.key) == longest]
        return hits

    def _dedupe(self, hits: list[_Hit]) -> list[tuple[Place, float, str | None]]:
        """Map every hit to a unit of the active map, keeping the best score per unit."""
        seen: dict[str, tuple[Place, float, str | None]] = {}
        for hit in hits:
            current = self._current(hit.place)
            if current is None or current.kind not in CITIZEN_KINDS:
                continue
            former = hit.place.name if hit.place.profile != self.profile else None
            if current.code not in seen or hit.score > seen[current.code][1]:
                seen[current.code] = (current, hit.score, former)
        return sorted(seen.values(), key=lambda item: -item[1])

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
        for key, place in self._index:
            current = self._current(place)
            if current is None or current.kind not in CITIZEN_KINDS:
                continue
            score = float(fuzz.partial_ratio(query, key))
            if score >= SUGGEST_MIN and (current.code not in scored or score > scored[current.code].score):
                scored[current.code] = Candidate(current.code, current.name, score)
        return tuple(sorted(scored.values(), key=lambda c: -c.score)[:3])
