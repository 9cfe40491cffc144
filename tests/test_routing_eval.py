"""Routing of free text to a unit, on texts written the way citizens type them (issue 18).

tests/data/routing_frozen.tsv is a frozen set, written before the router was
tuned for it and never tuned on; tests/data/routing_dev18.tsv is the set to tune
on. Each row is ``text<TAB>profile<TAB>expected`` where expected is a unit code of
that profile's map, "ask" (no unit, at least two candidates to ask between) or
"outside" (no unit and no question between candidates).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from bot.services.reference import places, read_all_units
from bot.services.routing import ASK, RoutingService
from bot.text import fold

ROOT = Path(__file__).resolve().parent.parent
FROZEN = ROOT / "tests" / "data" / "routing_frozen.tsv"
DEV = ROOT / "tests" / "data" / "routing_dev18.tsv"
PROVINCE = "vinhlong-tinh-2025"
MIN_ROUTING_ACCURACY = 0.98


@dataclass(frozen=True)
class RoutingCase:
    line: int
    text: str
    profile: str
    expected: str


def read_routing(path: Path) -> list[RoutingCase]:
    cases: list[RoutingCase] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row or not row[0].strip() or row[0].startswith("#") or (number == 1 and row[0] == "text"):
                continue
            assert len(row) == 3, f"{path}:{number}: expected 'text<TAB>profile<TAB>expected', got {row!r}"
            cases.append(RoutingCase(number, row[0].strip(), row[1].strip(), row[2].strip()))
    return cases


@cache
def router(profile: str) -> RoutingService:
    return RoutingService(places(read_all_units(ROOT / "data")), profile)


def routed_right(case: RoutingCase) -> bool:
    route = router(case.profile).route(case.text)
    if case.expected == "ask":
        return route.unit is None and len(route.candidates) >= 2
    if case.expected == "outside":
        return route.unit is None and route.reason != ASK
    return route.unit is not None and route.unit.code == case.expected


@pytest.mark.parametrize("path", [FROZEN, DEV], ids=lambda path: path.stem)
def test_routing_set_names_existing_units(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path.name} not present")
    for case in read_routing(path):
        if case.expected not in {"ask", "outside"}:
            assert router(case.profile).find(case.expected) is not None, case


def test_routing_frozen_and_dev_share_no_text() -> None:
    if not DEV.exists():
        pytest.skip("no dev set")
    frozen, dev = ({(fold(c.text), c.profile) for c in read_routing(path)} for path in (FROZEN, DEV))
    assert not frozen & dev, sorted(frozen & dev)


# The frozen set measured once at the end of issue 18 (docs/benchmarks.md): 45/45, 44/44 and
# 84/88. The province map is below the aim; its floor keeps it from slipping back unseen.
MEASURED_FLOOR = {"caungang-2022": MIN_ROUTING_ACCURACY, "vinhlong-2025": MIN_ROUTING_ACCURACY, PROVINCE: 84 / 88}


def _frozen_share(profile: str) -> tuple[float, list[tuple[str, str]]]:
    cases = [case for case in read_routing(FROZEN) if case.profile == profile]
    misses = [(case.text, case.expected) for case in cases if not routed_right(case)]
    return 1 - len(misses) / len(cases), misses


@pytest.mark.parametrize("profile", sorted(MEASURED_FLOOR))
def test_routing_frozen_set_does_not_slip(profile: str) -> None:
    share, misses = _frozen_share(profile)
    assert share >= MEASURED_FLOOR[profile] - 1e-9, misses


@pytest.mark.xfail(strict=True, reason="issue 18: the province map routes 95.5 % of the frozen set, aim 98 %")
def test_routing_frozen_set_meets_the_aim_on_the_province_map() -> None:
    share, misses = _frozen_share(PROVINCE)
    assert share >= MIN_ROUTING_ACCURACY, misses
