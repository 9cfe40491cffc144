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
from bot.services.routing import ASK, FORMER_KIND, Place, RoutingService, address_parts
from bot.text import fold, strip_accents

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


# The province-wide map (data/units/vinhlong-tinh-2025.toml): 124 communes and wards, and the 354
# communes, wards and towns of the former Vĩnh Long, Bến Tre and Trà Vinh they were made of.
PROVINCE = "vinhlong-tinh-2025"
PROVINCE_ROUTER = RoutingService(PLACES, PROVINCE)
FORMERS = [p for p in PLACES if p.profile == PROVINCE and p.kind == FORMER_KIND]
CURRENT_NAMES = {fold(p.name) for p in PROVINCE_ROUTER.units()}


def _offered(text: str) -> tuple[str | None, set[str]]:
    """The unit a text routes to (if one), and the codes of every unit offered."""
    result = PROVINCE_ROUTER.route(text)
    return (result.unit.code if result.unit else None), {c.code for c in result.candidates}


def _namesakes(former: Place) -> list[Place]:
    """Other units (former or current) of the province map with the same name, leading elsewhere."""
    name = fold(former.name)
    return [p for p in FORMERS if fold(p.name) == name and set(p.near) != set(former.near)] + [
        p for p in PROVINCE_ROUTER.units() if fold(p.name) == name and p.code not in former.near
    ]


@pytest.mark.parametrize("former", FORMERS, ids=lambda p: f"{p.code}-{p.name}")
def test_province_every_former_name_leads_to_its_successors(former: Place) -> None:
    unit, offered = _offered(former.name)
    if len(former.near) == 1 and not _namesakes(former):
        assert unit == former.near[0]
    else:  # split, or a name several units had: asked, with every unit it went to offered
        assert unit is None and set(former.near) <= offered
    # With its former district and province, only its own successors remain.
    district, province = former.area.split(", ")
    unit, offered = _offered(f"{former.name}, {district}, {province}")
    if len(former.near) == 1:
        assert unit == former.near[0]
    else:
        assert unit is None and offered == set(former.near)


def test_province_namesakes_ask_showing_the_former_district() -> None:
    result = PROVINCE_ROUTER.route("Phường 1")
    assert result.unit is None and result.reason == ASK
    assert [c.label for c in result.candidates] == [
        "Phường Trà Vinh (Phường 1 cũ, Thành phố Trà Vinh, Tỉnh Trà Vinh)",
        "Phường Duyên Hải (Phường 1 cũ, Thị xã Duyên Hải, Tỉnh Trà Vinh)",
        "Phường Long Châu (Phường 1 cũ, Thành phố Vĩnh Long, Tỉnh Vĩnh Long)",
    ]
    labels = {c.label for c in PROVINCE_ROUTER.route("my hoa").candidates}
    assert labels == {
        "Xã Mỹ Chánh Hòa (Xã Mỹ Hòa cũ, Huyện Ba Tri, Tỉnh Bến Tre)",
        "Xã Cầu Ngang (Xã Mỹ Hòa cũ, Huyện Cầu Ngang, Tỉnh Trà Vinh)",
        "Phường Cái Vồn (Xã Mỹ Hòa cũ, Thị xã Bình Minh, Tỉnh Vĩnh Long)",
    }
    # The district or province typed with the name settles it.
    assert route(PROVINCE, "Mỹ Hòa, Cầu Ngang")[0] == "Xã Cầu Ngang"
    assert route(PROVINCE, "ấp 3, xã Mỹ Hòa, huyện Ba Tri, Bến Tre")[0] == "Xã Mỹ Chánh Hòa"
    assert route(PROVINCE, "Phường 1, TP Trà Vinh")[0] == "Phường Trà Vinh"
    assert route(PROVINCE, "Phường 1, tỉnh Trà Vinh")[1] == ["Phường Trà Vinh", "Phường Duyên Hải"]


def test_province_a_split_unit_offers_every_part() -> None:
    result = PROVINCE_ROUTER.route("xã Ngãi Tứ, huyện Tam Bình")
    assert result.unit is None
    assert [c.label for c in result.candidates] == [
        "Xã Ngãi Tứ",
        "Phường Cái Vồn (Xã Ngãi Tứ cũ, một phần, Huyện Tam Bình, Tỉnh Vĩnh Long)",
    ]


def test_province_a_number_is_not_a_name_of_its_own() -> None:
    """ "ấp 1" is a hamlet, not the former Phường 1 of three towns."""
    assert route(PROVINCE, "ấp 1, xã Kim Hòa")[0] == "Xã Vinh Kim"
    assert route(PROVINCE, "phường 5")[1] == ["Phường Hòa Thuận", "Phường Thanh Đức"]


def test_province_offices_are_not_found_from_a_place_name() -> None:
    offices = {p.code for p in PLACES if p.profile == PROVINCE and p.kind in ("thanh_tra", "cong_an", "phong_ban")}
    assert len(offices) == 5
    for text in ("Công an tỉnh Vĩnh Long", "Thanh tra tỉnh Vĩnh Long", "Sở Nông nghiệp và Môi trường", "Vĩnh Long"):
        unit, offered = _offered(text)
        assert unit not in offices and not offered & offices, text


def test_province_citizens_choose_between_the_124_units() -> None:
    units = PROVINCE_ROUTER.units()
    assert len(units) == 124 and {u.kind for u in units} == {"xa", "phuong"}
    assert [u.code for u in units] == sorted((u.code for u in units), key=int)


def test_province_routing_is_fast() -> None:
    """Issue #18's target: p99 under 1 ms over the province's map, names alone and in addresses.

    Each text's best of three runs: the cost of routing, not a busy machine's pauses.
    """
    texts = [former.name for former in FORMERS] + [f"ấp Chợ, {f.name.lower()}, {f.area}" for f in FORMERS]
    timings = []
    for text in texts:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            PROVINCE_ROUTER.route(text)
            runs.append(time.perf_counter() - started)
        timings.append(min(runs))
    timings.sort()
    assert timings[int(len(timings) * 0.99)] < 0.001


@pytest.mark.parametrize(
    ("profile", "text", "code"),
    [
        # A district named before (or after) its commune says where the commune is (issue 18).
        ("vinhlong-2025", "Cầu Ngang - Hiệp Hòa", "29446"),
        ("vinhlong-2025", "cau ngang vinh kim", "29431"),
        ("caungang-2022", "Cau Ngang Hiep Hoa", "29437"),
        ("vinhlong-tinh-2025", "Chợ Lách Sơn Định", "28879"),
        ("vinhlong-tinh-2025", "mỹ chánh ba tri", "29122"),  # a namesake of Châu Thành's Mỹ Chánh
        ("vinhlong-tinh-2025", "Cầu Kè Thạnh Phú", "29335"),  # a district's name as the commune
        ("vinhlong-tinh-2025", "phường 8 trà vinh", "29254"),
        # Short forms of phường and Telex typed with the Vietnamese keyboard off.
        ("vinhlong-tinh-2025", "f2 thi xa duyen hai", "29516"),
        ("vinhlong-tinh-2025", "P.9 TP Vĩnh Long", "29551"),
        ("caungang-2022", "thuaanj hoaf", "29440"),
        ("vinhlong-2025", "ngux lacj", "29530"),
    ],
)
def test_district_and_commune_typed_together(profile: str, text: str, code: str) -> None:
    result = RoutingService(PLACES, profile).route(text)
    assert result.unit is not None and result.unit.code == code, result


@pytest.mark.parametrize(
    ("profile", "text", "codes"),
    [
        ("vinhlong-2025", "nhà tui ở Hiệp Mỹ, làm ruộng ở Vinh Kim", {"29455", "29431"}),
        ("caungang-2022", "trường thọ và hiệp hòa", {"29449", "29437"}),
        ("caungang-2022", "xã Long Sơn, xã Kim Hòa", {"29443", "29434"}),
        ("vinhlong-tinh-2025", "tui ở Ba Tri còn vợ tui ở Giồng Trôm", {"29110", "28984"}),
    ],
)
def test_two_places_named_ask(profile: str, text: str, codes: set[str]) -> None:
    result = RoutingService(PLACES, profile).route(text)
    assert result.unit is None and result.reason == ASK
    assert {c.code for c in result.candidates} == codes


def test_one_place_named_twice_is_not_two() -> None:
    result = RoutingService(PLACES, "vinhlong-2025").route("xã Thuận Hòa cũ, nay là xã Cầu Ngang")
    assert result.unit is not None and result.unit.code == "29416"
