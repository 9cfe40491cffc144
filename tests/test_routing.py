"""Routing place names to units, on both maps, from the shipped data files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.services.reference import places, read_all_units
from bot.services.routing import RoutingService, address_parts
from bot.text import strip_accents

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


# Every commune of both maps (GSO lists, copied from shared/domain): full addresses as citizens type them.
UNITS_CSV = ROOT / "tests" / "data" / "units_caungang_2022_2025.csv"
ROWS = list(csv.DictReader(UNITS_CSV.open(encoding="utf-8")))


def _bare(name: str) -> str:
    """'Xã Long Sơn' -> 'Long Sơn', 'Thị trấn Cầu Ngang' -> 'Cầu Ngang'."""
    return name.removeprefix("Thị trấn ").removeprefix("Xã ")


def _typo(name: str) -> str:
    """The last letter typed twice: 'Long Sơn' -> 'Long Sơnn'."""
    return name + name[-1]


def _addresses(name: str, district: str, province: str) -> list[str]:
    """A commune's name in the forms citizens type, alone and inside a whole address."""
    bare = _bare(name)
    short = "TT" if name.startswith("Thị trấn") else "X."
    district_bare, province_bare = district.removeprefix("Huyện "), province.removeprefix("Tỉnh ")
    forms = [
        name,
        name.lower(),
        strip_accents(name),
        f"{short} {bare}",
        f"{short}.{bare}" if short == "TT" else f"X.{bare}",
        f"{name}, {district.lower()}, {province.lower()}",
        f"ấp Sóc Chuối, {name.lower()}, {district.lower()}, {province.lower()}",
        f"ấp Chợ {name.lower()}",
        f"Ấp Sóc Chuối {name} {district} {province}",
        strip_accents(f"ap Soc Chuoi xa {bare} huyen {district_bare} tinh {province_bare}").replace(
            "xa ", "" if short == "TT" else "xa ", 1
        ),
        f"{district}, {name}",  # the wider place first
        f"{_typo(name)}, {district.lower()}",
        strip_accents(f"{_typo(name)}, H. {district_bare}, T. {province_bare}"),
        f"{short} {bare} - {district_bare} - {province_bare}",
    ]
    if bare != "Mỹ Long":  # "Mỹ Long" alone is also the start of Mỹ Long Bắc and Mỹ Long Nam (asked)
        forms += [
            bare,
            strip_accents(bare).lower(),
            f"{bare} {district_bare} {province_bare}",
            f"{bare}, {district_bare}, {province_bare}",
            strip_accents(f"ap Soc Chuoi, {bare}, {district_bare}, {province_bare}"),
        ]
    return forms


CASES_2022 = [
    (text, row["old_name"])
    for row in ROWS
    if row["old_district"] == "Huyện Cầu Ngang"
    for text in _addresses(row["old_name"], row["old_district"], row["old_province"])
]
CASES_2025 = [
    *(
        (text, row["new_name"])
        for row in ROWS
        for text in _addresses(row["old_name"], row["old_district"], row["old_province"])
    ),
    *(
        (text, row["new_name"])
        for row in ROWS
        if row["new_code"] == row["old_code"]
        for text in _addresses(row["new_name"], "", row["new_province"])
    ),
    *(
        (f"{row['old_name'].lower()} cũ nay là {row['new_name'].lower()}, tỉnh Vĩnh Long", row["new_name"])
        for row in ROWS
    ),
    *((f"{row['old_name']} (cũ), {row['new_name']}", row["new_name"]) for row in ROWS),
]


@pytest.mark.parametrize(("text", "unit"), CASES_2022)
def test_2022_full_addresses_route_to_the_commune(text: str, unit: str) -> None:
    assert route("caungang-2022", text)[0] == unit


@pytest.mark.parametrize(("text", "unit"), CASES_2025)
def test_2025_full_addresses_route_to_the_commune(text: str, unit: str) -> None:
    assert route("vinhlong-2025", text)[0] == unit


@pytest.mark.parametrize(
    ("profile", "text", "unit", "candidates"),
    [
        # The district alone still means what it always did.
        ("caungang-2022", "huyện Cầu Ngang", "Thị trấn Cầu Ngang", None),
        ("caungang-2022", "Cầu Ngang, Trà Vinh", "Thị trấn Cầu Ngang", None),
        ("caungang-2022", "huyen cau ngang tinh tra vinh", "Thị trấn Cầu Ngang", None),
        ("vinhlong-2025", "huyện Cầu Ngang", "Xã Cầu Ngang", None),
        ("caungang-2022", "thị trấn Cầu Ngang, huyện Cầu Ngang", "Thị trấn Cầu Ngang", None),
        # An ambiguous commune in a full address is asked about, not replaced by the district.
        ("caungang-2022", "xã Hiệp Mỹ, huyện Cầu Ngang, tỉnh Trà Vinh", None, ["Xã Hiệp Mỹ Đông", "Xã Hiệp Mỹ Tây"]),
        ("caungang-2022", "Mỹ Long, Cầu Ngang", None, ["Thị trấn Mỹ Long", "Xã Mỹ Long Bắc", "Xã Mỹ Long Nam"]),
        ("caungang-2022", "my long nam cau ngang", "Xã Mỹ Long Nam", None),
        # Ngũ Lạc of Duyên Hải is outside the 2022 area, with its district and province named too.
        ("caungang-2022", "xã Ngũ Lạc, huyện Duyên Hải, tỉnh Trà Vinh", None, ["Xã Thạnh Hòa Sơn"]),
        ("caungang-2022", "ấp Chợ, huyện Trà Cú", None, []),
    ],
)
def test_levels_of_an_address(profile: str, text: str, unit: str | None, candidates: list[str] | None) -> None:
    routed, offered, _ = route(profile, text)
    assert routed == unit
    if candidates is not None:
        assert offered == candidates


def test_address_parts() -> None:
    parts = address_parts("ấp Sóc Chuối xã Long Sơn, H.Cầu Ngang - tỉnh Trà Vinh")
    assert [(p.level, p.text) for p in parts] == [
        ("ap", "ap soc chuoi"),
        ("xa", "xa long son"),
        ("huyen", "h cau ngang"),
        ("tinh", "tinh tra vinh"),
    ]
    assert [p.text for p in address_parts("thị xã Duyên Hải")] == ["thi xa duyen hai"]
    assert [p.text for p in address_parts("xã Long Sơn cũ nay là xã Hiệp Mỹ")] == ["xa long son", "xa hiep my"]


def test_routing_an_address_is_fast() -> None:
    service = RoutingService(PLACES, "vinhlong-2025")
    started = time.perf_counter()
    for _ in range(200):
        service.route("ấp Sóc Chuối, xã Long Sơn, huyện Cầu Ngang, tỉnh Trà Vinh")
    assert (time.perf_counter() - started) / 200 < 0.005  # well under the cost of one database write
