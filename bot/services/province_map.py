"""The province-wide map ``data/units/vinhlong-tinh-2025.toml``, generated from the official table.

Since 1 July 2025 Vĩnh Long province has 124 communes and wards (NQ 1687/NQ-UBTVQH15), made of
the communes, wards and towns of the former Vĩnh Long, Bến Tre and Trà Vinh provinces. Typing
that by hand would drift from the law, so the file is generated from the GSO lists and the
official old-to-new conversion table as the ``vietnam-provinces`` package ships them (optional
dependency group ``data``): ``python -m bot data build-units`` rewrites the file and
tests/test_province_map.py checks that the shipped file is what the package gives.

Only the package's public API is used: the new wards of the province, each new ward's legacy
sources, each legacy ward's district and province, and the new wards a legacy ward went to. A
former unit whose territory went to more than one new unit is marked ``partial`` ("một phần").
The provincial offices a case can go to, and the places outside the province people name, are
not in the package; they are listed below.
"""

from __future__ import annotations

from dataclasses import dataclass

PROFILE = "vinhlong-tinh-2025"
PROVINCE_CODE = 86
VALID_FROM = "2025-07-01"
TITLE = "Các xã, phường của tỉnh Vĩnh Long (từ 01/7/2025)"


@dataclass(frozen=True)
class Office:
    """A provincial office a case can be sent to (not a place citizens choose by name)."""

    code: str
    name: str
    kind: str
    why: str


# The provincial bodies that take over from the district offices (no district level since
# 1/7/2025): the inspectorate for denunciations (Luật Thanh tra 2025), the police for decisions of
# the police, the department and land registry office for land and environment, and the
# provincial People's Committee with its citizen reception office.
OFFICES = (
    Office("TTRA-VL", "Thanh tra tỉnh Vĩnh Long", "thanh_tra", "tố cáo; không còn thanh tra huyện"),
    Office("CA-VL", "Công an tỉnh Vĩnh Long", "cong_an", "quyết định, hành vi của công an"),
    Office("SNNMT-VL", "Sở Nông nghiệp và Môi trường tỉnh Vĩnh Long", "phong_ban", "đất đai, môi trường"),
    Office("VPDKDD-VL", "Văn phòng Đăng ký đất đai tỉnh Vĩnh Long", "phong_ban", "đăng ký, cấp giấy chứng nhận đất"),
    Office(
        "UBND-VL",
        "UBND tỉnh Vĩnh Long (Ban Tiếp công dân tỉnh)",
        "phong_ban",
        "khiếu nại lần hai, tiếp công dân của tỉnh",
    ),
)


@dataclass(frozen=True)
class Former:
    """A commune, ward or town before 1/7/2025 that is now (part of) a unit of the map."""

    code: str
    name: str
    district: str
    province: str
    partial: bool


@dataclass(frozen=True)
class Commune:
    """A commune (xã) or ward (phường) of the province from 1/7/2025, with what it was made of."""

    code: str
    name: str
    kind: str
    formerly: tuple[Former, ...]


def communes_from_package() -> tuple[list[Commune], str]:
    """The province's units and their predecessors as the package gives them, and its version."""
    import vietnam_provinces
    from vietnam_provinces import VietNamDivisionType, Ward
    from vietnam_provinces.codes import ProvinceCode
    from vietnam_provinces.legacy import District as LegacyDistrict
    from vietnam_provinces.legacy import Province as LegacyProvince

    kinds = {VietNamDivisionType.XA: "xa", VietNamDivisionType.PHUONG: "phuong"}
    communes: list[Commune] = []
    for ward in Ward.iter_by_province(ProvinceCode(PROVINCE_CODE)):
        if ward.division_type not in kinds:
            raise ValueError(f"{ward.name}: unexpected kind {ward.division_type}")
        formerly = []
        for old in ward.get_legacy_sources():
            district = LegacyDistrict.from_code(old.district_code)
            province = LegacyProvince.from_code(district.province_code)
            successors = Ward.search_from_legacy(code=old.code.value)
            formerly.append(
                Former(str(old.code.value), old.name, district.name, province.name, partial=len(successors) > 1)
            )
        formerly.sort(key=lambda former: int(former.code))
        communes.append(Commune(str(ward.code.value), ward.name, kinds[ward.division_type], tuple(formerly)))
    communes.sort(key=lambda commune: int(commune.code))
    version = f"{vietnam_provinces.__version__} (data of {vietnam_provinces.__data_version__})"
    return communes, version


@dataclass(frozen=True)
class Outside:
    """A place outside the province that people name: told it is outside, never spelt into a commune."""

    name: str
    aliases: tuple[str, ...]


# The neighbouring provinces and the big cities people move to, under their names since
# 1/7/2025 and the former provinces merged into them ("Cần Thơ", "Sài Gòn" typed for the commune
# must not be read as a commune spelt wrong). "Long An" is not here: it is also the former Xã
# Long An of Long Hồ. Not in the package: listed here.
OUTSIDE = (
    Outside("Thành phố Cần Thơ", ("Cần Thơ", "TP Cần Thơ", "Sóc Trăng", "Hậu Giang")),
    Outside("Tỉnh Đồng Tháp", ("Đồng Tháp", "Tiền Giang", "Mỹ Tho")),
    Outside("Tỉnh An Giang", ("An Giang", "Kiên Giang", "Rạch Giá")),
    Outside("Tỉnh Tây Ninh", ("Tây Ninh",)),
    Outside("Thành phố Hồ Chí Minh", ("Hồ Chí Minh", "TP HCM", "TPHCM", "Sài Gòn", "Bình Dương", "Vũng Tàu")),
    Outside("Tỉnh Cà Mau", ("Cà Mau", "Bạc Liêu")),
    Outside("Tỉnh Đồng Nai", ("Đồng Nai", "Bình Phước")),
    Outside("Thành phố Hà Nội", ("Hà Nội",)),
)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(communes: list[Commune], version: str) -> str:
    """The TOML text of the map: sorted by GSO code, so that the same data gives the same file."""
    lines = [
        "# GENERATED by `python -m bot data build-units` from the PyPI package vietnam-provinces",
        f"# {version}: the GSO list of the new units and the official old-to-new conversion table.",
        "# Do not edit by hand; see docs/data.md. The offices and the outside places at the end",
        "# are listed in bot/services/province_map.py (they are not in the package).",
        "#",
        "# The 124 communes (xã) and wards (phường) of Vĩnh Long province from 1/7/2025",
        "# (NQ 1687/NQ-UBTVQH15). `formerly` lists every commune, ward or town (thị trấn) of the",
        "# former Vĩnh Long, Bến Tre and Trà Vinh provinces it was made of, with its district;",
        "# `partial = true` (một phần): only part of that unit came here, the rest went elsewhere.",
        "",
        f"profile = {_quoted(PROFILE)}",
        f"title = {_quoted(TITLE)}",
        f'parent_code = "{PROVINCE_CODE}"',
    ]
    for commune in communes:
        lines += [
            "",
            "[[unit]]",
            f"code = {_quoted(commune.code)}",
            f"name = {_quoted(commune.name)}",
            f"kind = {_quoted(commune.kind)}",
            f"valid_from = {VALID_FROM}",
            "formerly = [",
        ]
        for former in commune.formerly:
            fields = [
                f"code = {_quoted(former.code)}",
                f"name = {_quoted(former.name)}",
                f"district = {_quoted(former.district)}",
                f"province = {_quoted(former.province)}",
            ]
            if former.partial:
                fields.append("partial = true")
            lines.append("    { " + ", ".join(fields) + " },")
        lines.append("]")
    for office in OFFICES:
        lines += [
            "",
            f"# {office.why}",
            "[[unit]]",
            f"code = {_quoted(office.code)}",
            f"name = {_quoted(office.name)}",
            f"kind = {_quoted(office.kind)}",
            f"valid_from = {VALID_FROM}",
        ]
    for outside in OUTSIDE:
        aliases = ", ".join(_quoted(alias) for alias in outside.aliases)
        lines += ["", "[[outside]]", f"name = {_quoted(outside.name)}", f"aliases = [{aliases}]"]
    return "\n".join(lines) + "\n"


def build() -> str:
    """The map file's text from the installed package."""
    communes, version = communes_from_package()
    return render(communes, version)
