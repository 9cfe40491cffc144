"""Routing place names to units, on both maps, from the shipped data files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services.reference import places, read_all_units
from bot.services.routing import RoutingService

ROOT = Path(__file__).resolve().parent.parent
PLACES = places(read_all_units(ROOT / "data"))


def route(profile: str, text: str) -> tuple[str | None, list[str], str]:
    result = RoutingService(PLACES, profile).route(text)
    return (result.unit.name if result.unit else None, [c.name for c in result.candidates], result.reason)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Kim Hòa", "Xã Kim Hòa"),
        ("kim hoa", "Xã Kim Hòa"),
        ("KIM  HOÀ", "Xã Kim Hòa"),  # older spelling, capitals, double space
        ("kim hao", "Xã Kim Hòa"),  # typo
        ("xa nhi truong", "Xã Nhị Trường"),
        ("tt cau ngang", "Thị trấn Cầu Ngang"),
        ("Vĩnh Kim", "Xã Vinh Kim"),  # the GSO list's spelling
        ("ấp Chợ, xã Hiệp Mỹ Tây", "Xã Hiệp Mỹ Tây"),
        ("o xa my long nam", "Xã Mỹ Long Nam"),
        ("thach hoa son", "Xã Thạnh Hòa Sơn"),
    ],
)
def test_2022_names(text: str, unit: str) -> None:
    assert route("caungang-2022", text)[0] == unit


def test_2022_ambiguous_prefixes_ask() -> None:
    unit, candidates, _ = route("caungang-2022", "Hiệp Mỹ")
    assert unit is None and candidates == ["Xã Hiệp Mỹ Đông", "Xã Hiệp Mỹ Tây"]
    unit, candidates, _ = route("caungang-2022", "my long")
    assert unit is None and set(candidates) == {"Thị trấn Mỹ Long", "Xã Mỹ Long Bắc", "Xã Mỹ Long Nam"}


def test_2022_outside_the_area() -> None:
    unit, candidates, reason = route("caungang-2022", "Ngũ Lạc")
    assert unit is None and candidates == ["Xã Thạnh Hòa Sơn"] and reason.startswith("outside the area")
    assert route("caungang-2022", "Trà Cú")[2].startswith("outside the area")
    assert route("caungang-2022", "Hà Nội") == (None, [], "no unit matches this name")
    assert route("caungang-2022", "ab")[0] is None


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Kim Hòa", "Xã Vinh Kim"),
        ("Mỹ Long Bắc", "Xã Mỹ Long"),
        ("thi tran cau ngang", "Xã Cầu Ngang"),
        ("Thuận Hòa", "Xã Cầu Ngang"),
        ("Trường Thọ", "Xã Nhị Trường"),
        ("Long Sơn", "Xã Hiệp Mỹ"),
        ("Hiệp Mỹ", "Xã Hiệp Mỹ"),
        ("Thạnh Hòa Sơn", "Xã Ngũ Lạc"),
        ("Ngũ Lạc", "Xã Ngũ Lạc"),
    ],
)
def test_2025_map_keeps_old_names_working(text: str, unit: str) -> None:
    assert route("vinhlong-2025", text)[0] == unit


def test_2025_former_tra_vinh_places_are_outside_the_area() -> None:
    for text in ("Trà Vinh", "tp tra vinh", "Trà Cú", "thi xa duyen hai"):
        assert route("vinhlong-2025", text)[2].startswith("outside the area"), text
    assert route("vinhlong-2025", "Duyên Hải")[1] == ["Xã Ngũ Lạc"]
    # A commune named with its province is the commune, on both maps.
    assert route("vinhlong-2025", "xã Kim Hòa, Trà Vinh")[0] == "Xã Vinh Kim"
    assert route("caungang-2022", "xã Kim Hòa, Trà Vinh")[0] == "Xã Kim Hòa"


def test_2025_citizen_units_are_the_six_communes() -> None:
    names = [p.name for p in RoutingService(PLACES, "vinhlong-2025").units()]
    assert names == ["Xã Cầu Ngang", "Xã Mỹ Long", "Xã Vinh Kim", "Xã Nhị Trường", "Xã Hiệp Mỹ", "Xã Ngũ Lạc"]


def test_route_command_prints_json(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "route", "--json", "Hiệp Mỹ"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TIEPDAN_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}"},
        check=True,
    )
    assert json.loads(result.stdout) == {
        "unit": None,
        "candidates": [
            {"code": "29452", "name": "Xã Hiệp Mỹ Đông", "score": 95.0},
            {"code": "29455", "name": "Xã Hiệp Mỹ Tây", "score": 95.0},
        ],
        "reason": "several units match; ask which one",
    }
