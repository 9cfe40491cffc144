"""The province-wide map data/units/vinhlong-tinh-2025.toml is what the official table gives.

The file is generated (python -m bot data build-units) from the package vietnam-provinces, a
dev dependency: this test fails when the file is edited by hand or the package's data changes.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from bot.services import province_map
from bot.services.reference import DataError, read_units
from bot.services.routing import FORMER_KIND

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "data" / "units" / "vinhlong-tinh-2025.toml"
DOCUMENT = tomllib.loads(MAP.read_text(encoding="utf-8"))
COMMUNES = [unit for unit in DOCUMENT["unit"] if unit["kind"] in ("xa", "phuong")]


def test_the_file_is_what_the_package_gives() -> None:
    assert MAP.read_text(encoding="utf-8") == province_map.build()


def test_the_package_agrees_with_the_resolution() -> None:
    """NQ 1687/NQ-UBTVQH15: 124 units, 105 xã and 19 phường; former Trà Vinh's 104 units became 41."""
    assert Counter(unit["kind"] for unit in COMMUNES) == {"xa": 105, "phuong": 19}
    provinces = Counter(former["province"] for unit in COMMUNES for former in unit["formerly"])
    assert set(provinces) == {"Tỉnh Vĩnh Long", "Tỉnh Bến Tre", "Tỉnh Trà Vinh"}
    from_tra_vinh = [u for u in COMMUNES if any(f["province"] == "Tỉnh Trà Vinh" for f in u["formerly"])]
    assert len(from_tra_vinh) == 41
    assert len({f["code"] for u in from_tra_vinh for f in u["formerly"] if f["province"] == "Tỉnh Trà Vinh"}) == 104
    from_cau_ngang = [u["name"] for u in COMMUNES if any(f["district"] == "Huyện Cầu Ngang" for f in u["formerly"])]
    assert from_cau_ngang == ["Xã Cầu Ngang", "Xã Mỹ Long", "Xã Vinh Kim", "Xã Nhị Trường", "Xã Hiệp Mỹ", "Xã Ngũ Lạc"]


def test_the_six_communes_of_former_cau_ngang_match_their_own_map() -> None:
    """The 6-commune profile vinhlong-2025 and the province map name the same units with the same codes."""
    own = tomllib.loads((ROOT / "data" / "units" / "vinhlong-2025.toml").read_text(encoding="utf-8"))
    communes = {(u["code"], u["name"]) for u in own["unit"] if u["kind"] == "xa"}
    assert communes <= {(u["code"], u["name"]) for u in COMMUNES}


def test_predecessors_load_as_former_units_leading_to_their_successors() -> None:
    units = read_units(MAP)
    formers = {u.code: u for u in units if u.kind == FORMER_KIND}
    assert len(formers) == 354  # 102 of former Vĩnh Long, 148 of Bến Tre, 104 of Trà Vinh
    my_hoa = formers["cu-29428"]
    assert (my_hoa.name, my_hoa.parent_code, my_hoa.address, my_hoa.near) == (
        "Xã Mỹ Hòa",
        "Huyện Cầu Ngang",
        "Huyện Cầu Ngang, Tỉnh Trà Vinh",
        ["29416"],
    )
    split = {u.name for u in formers.values() if len(u.near) > 1}
    assert "Xã Ngãi Tứ" in split and "Phường Cái Vồn" in split
    offices = {u.code: u.kind for u in units if u.kind in ("thanh_tra", "cong_an", "phong_ban")}
    assert offices == {
        "TTRA-VL": "thanh_tra",
        "CA-VL": "cong_an",
        "SNNMT-VL": "phong_ban",
        "VPDKDD-VL": "phong_ban",
        "UBND-VL": "phong_ban",
    }


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        # A predecessor listed under two units must say that it was split.
        (
            (
                '{ code = "29764", name = "Xã Ngãi Tứ", district = "Huyện Tam Bình", province = "Tỉnh Vĩnh Long", partial = true }',
                '{ code = "29764", name = "Xã Ngãi Tứ", district = "Huyện Tam Bình", province = "Tỉnh Vĩnh Long" }',
            ),
            "`partial` must be set",
        ),
        (('district = "Huyện Cầu Ngang"', 'district = ""'), "`district` and `province` are required"),
    ],
)
def test_inconsistent_predecessors_are_refused(tmp_path: Path, edit: tuple[str, str], problem: str) -> None:
    broken = tmp_path / "map.toml"
    broken.write_text(MAP.read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    with pytest.raises(DataError, match=problem):
        read_units(broken)
