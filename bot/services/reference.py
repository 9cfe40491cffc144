"""Reference data an administrator edits as files, loaded into the database.

``data/units/<profile>.toml`` (administrative units and offices of one map),
``data/reception/<profile>.toml`` (citizen reception schedule) and
``data/faq/*.toml`` (procedure answers). Loading is an upsert: running it twice
changes nothing, and questions that officers taught the FAQ are kept.
Every problem is reported as one line naming the file and the entry.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.services.faq import FaqEntry, load_entries
from bot.services.routing import FORMER_KIND, OUTSIDE_KIND, Place
from storage.models import FaqRecord, ReceptionSlot, Unit
from storage.uow import UnitOfWork

UNIT_KINDS = ("xa", "phuong", "thi_tran", "phong_ban", "thanh_tra", "cong_an")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DataError(ValueError):
    """A data file problem, as one line naming the file and the entry."""


@dataclass(frozen=True)
class LoadReport:
    units: int
    reception_slots: int
    faq_entries: int

    def __str__(self) -> str:
        return f"{self.units} units, {self.reception_slots} reception slots, {self.faq_entries} FAQ entries"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{path}: not valid TOML ({exc})") from None


def _optional_date(path: Path, where: str, value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    raise DataError(f"{path}: {where}: expected a date like 2025-07-01")


def read_units(path: Path) -> list[Unit]:
    """The units and outside places of one map file."""
    document = _read_toml(path)
    profile = document.get("profile")
    if not isinstance(profile, str) or not profile:
        raise DataError(f"{path}: missing `profile`")
    units: list[Unit] = []
    seen: set[str] = set()
    for position, table in enumerate(document.get("unit", []), start=1):
        where = f"unit {position} ({table.get('code', '?')})"
        code, name, kind = table.get("code"), table.get("name"), table.get("kind")
        if not isinstance(code, str) or not code or not isinstance(name, str) or not name:
            raise DataError(f"{path}: {where}: `code` and `name` are required")
        if kind not in UNIT_KINDS:
            raise DataError(f"{path}: {where}: `kind` must be one of {', '.join(UNIT_KINDS)}")
        if code in seen:
            raise DataError(f"{path}: {where}: duplicate code {code}")
        seen.add(code)
        successor = table.get("successor")
        successor_profile = successor_code = None
        if successor is not None:
            if not isinstance(successor, str) or ":" not in successor:
                raise DataError(f"{path}: {where}: `successor` must look like 'profile:code'")
            successor_profile, successor_code = successor.split(":", 1)
        units.append(
            Unit(
                profile=profile,
                code=code,
                name=name,
                kind=kind,
                parent_code=table.get("parent_code", document.get("parent_code")),
                aliases=[str(a) for a in table.get("aliases", [])],
                valid_from=_optional_date(path, where, table.get("valid_from")),
                valid_to=_optional_date(path, where, table.get("valid_to")),
                successor_profile=successor_profile,
                successor_code=successor_code,
                remote=bool(table.get("remote", False)),
                phone=table.get("phone"),
                address=table.get("address"),
            )
        )
    units.extend(_former_units(path, profile, document))
    for position, table in enumerate(document.get("outside", []), start=1):
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise DataError(f"{path}: outside {position}: `name` is required")
        near = [str(code) for code in table.get("near", [])]
        unknown = [code for code in near if code not in seen]
        if unknown:
            raise DataError(f"{path}: outside {position}: `near` names unknown units {', '.join(unknown)}")
        units.append(
            Unit(
                profile=profile,
                code=f"ngoai-{position}",
                name=name,
                kind=OUTSIDE_KIND,
                aliases=[str(a) for a in table.get("aliases", [])],
                near=near,
            )
        )
    return units


def _former_units(path: Path, profile: str, document: dict[str, Any]) -> list[Unit]:
    """The units a map's units were made of (``formerly``), each leading to the units it went to.

    A former unit stored as kind ``cu``: ``near`` lists the units its territory went to (more than
    one when it was split, which the file marks ``partial``), ``parent_code`` is its former
    district's name and ``address`` its former district and province, shown to tell apart units
    of the same name.
    """
    formers: dict[str, Unit] = {}
    partial: dict[str, bool] = {}
    for position, table in enumerate(document.get("unit", []), start=1):
        for entry in table.get("formerly", []):
            where = f"unit {position} ({table.get('code')}): formerly {entry.get('code', '?')}"
            code, name = entry.get("code"), entry.get("name")
            district, province = entry.get("district"), entry.get("province")
            if not all(isinstance(value, str) and value for value in (code, name, district, province)):
                raise DataError(f"{path}: {where}: `code`, `name`, `district` and `province` are required")
            key = f"cu-{code}"
            known = formers.get(key)
            if known is None:
                formers[key] = Unit(
                    profile=profile,
                    code=key,
                    name=name,
                    kind=FORMER_KIND,
                    parent_code=district,
                    address=f"{district}, {province}",
                    near=[str(table["code"])],
                )
                partial[key] = bool(entry.get("partial", False))
                continue
            if (known.name, known.address) != (name, f"{district}, {province}"):
                raise DataError(f"{path}: {where}: named differently under another unit")
            known.near.append(str(table["code"]))
    for key, unit in formers.items():
        if partial[key] != (len(unit.near) > 1):
            raise DataError(
                f"{path}: formerly {key.removeprefix('cu-')}: `partial` must be set exactly when the unit "
                f"is listed under more than one unit (here under {', '.join(unit.near)})"
            )
    return list(formers.values())


def read_reception(path: Path, known_codes: set[str]) -> tuple[str, dict[str, list[ReceptionSlot]]]:
    document = _read_toml(path)
    profile = str(document.get("profile", ""))
    schedule: dict[str, list[ReceptionSlot]] = {}
    for position, table in enumerate(document.get("unit", []), start=1):
        code = table.get("code")
        where = f"unit {position} ({code})"
        if code not in known_codes:
            raise DataError(f"{path}: {where}: no unit with this code in profile {profile}")
        slots: list[ReceptionSlot] = []
        for slot in table.get("slot", []):
            days = slot.get("days", [])
            bad = [d for d in days if d not in WEEKDAYS]
            if not days or bad:
                raise DataError(f"{path}: {where}: `days` must list some of {', '.join(WEEKDAYS)}")
            for day in days:
                slots.append(
                    ReceptionSlot(
                        unit_id=0,
                        weekday=WEEKDAYS.index(day),
                        start=str(slot.get("start", "")),
                        end=str(slot.get("end", "")),
                        host=str(slot.get("host", "")),
                        place=str(table.get("place", "")),
                        note=str(table.get("note", "")),
                    )
                )
        schedule[str(code)] = slots
    return profile, schedule


def read_all_units(data_dir: Path) -> list[Unit]:
    units: list[Unit] = []
    for path in sorted((data_dir / "units").glob("*.toml")):
        units.extend(read_units(path))
    return units


def faq_record(entry: FaqEntry) -> FaqRecord:
    return FaqRecord(
        id=entry.id,
        topic=entry.topic,
        title=entry.title,
        questions=list(entry.questions),
        answer=entry.answer,
        legal_basis=entry.legal_basis,
        level=entry.level,
        verified_on=entry.verified_on,
        source=entry.source,
        origin="file",
    )


def faq_entry(record: FaqRecord) -> FaqEntry:
    return FaqEntry(
        id=record.id,
        topic=record.topic,
        title=record.title,
        questions=tuple(record.questions) + tuple(record.extra_questions),
        answer=record.answer,
        legal_basis=record.legal_basis,
        level=record.level,
        verified_on=record.verified_on,
        source=record.source,
    )


async def load(uow: UnitOfWork, data_dir: Path) -> LoadReport:
    """Upsert every data file under ``data_dir`` (all profiles)."""
    units = read_all_units(data_dir)
    stored: dict[tuple[str, str], Unit] = {}
    for unit in units:
        saved = await uow.units.upsert(unit)
        stored[(saved.profile, saved.code)] = saved
    slots = 0
    for path in sorted((data_dir / "reception").glob("*.toml")):
        codes = {code for profile, code in stored if path.stem == profile}
        profile, schedule = read_reception(path, codes)
        for code, unit_slots in schedule.items():
            unit_id = stored[(profile, code)].id
            assert unit_id is not None
            await uow.units.replace_reception(unit_id, unit_slots)
            slots += len(unit_slots)
    entries = load_entries(data_dir / "faq") if (data_dir / "faq").is_dir() else []
    for entry in entries:
        record = await uow.faq.get(entry.id)
        fresh = faq_record(entry)
        if record is not None:
            fresh.extra_questions = record.extra_questions
            await uow.session.merge(fresh)
        else:
            await uow.faq.save(fresh)
    await uow.session.flush()
    return LoadReport(len(units), slots, len(entries))


def places(units: Sequence[Unit]) -> list[Place]:
    """What the routing service needs from the stored units."""
    return [
        Place(
            profile=unit.profile,
            code=unit.code,
            name=unit.name,
            kind=unit.kind,
            aliases=tuple(unit.aliases),
            successor=(unit.successor_profile, unit.successor_code)
            if unit.successor_profile and unit.successor_code
            else None,
            near=tuple(unit.near),
            area=(unit.address or "") if unit.kind == FORMER_KIND else "",
        )
        for unit in units
    ]
