"""Lịch tiếp công dân: when and where each unit receives citizens (Luật Tiếp công dân, Art. 24)."""

from __future__ import annotations

from bot.dialog.catalog import Markup
from bot.dialog.flow import Flow, Turn, done, goto
from bot.dialog.types import Next, Reply
from bot.services import cases
from bot.text import parse_id
from handlers.home import menu

flow = Flow("schedule", entry="ask", commands=("lichtiepdan", "lich", "schedule"))

ALL_UNITS = "unit:all"


async def _units_with_schedule(turn: Turn) -> list[tuple[int, str]]:
    units = await turn.uow.units.in_profile(turn.services.config.deployment.units_profile)
    shown = []
    for unit in units:
        if unit.id is not None and await turn.uow.units.reception(unit.id):
            shown.append((unit.id, unit.name))
    return shown


@flow.step("ask")
async def ask(turn: Turn) -> Next:
    if turn.arg:
        return await _find(turn, turn.arg)
    return await _all_units(turn, "schedule.ask")


async def _all_units(turn: Turn, key: str, **values: object) -> Next:
    units = await _units_with_schedule(turn)
    if not units:
        return done(turn.say("schedule.none"), menu(turn))
    options = [turn.option("petition.unit_option", f"unit:{unit_id}", name=name) for unit_id, name in units]
    return goto("pick", Reply(turn.t(key, **values), tuple(options), columns=2))


async def _find(turn: Turn, typed: str) -> Next:
    """The schedule of the place typed; the communes it may mean; or all of them, saying why."""
    route = turn.services.routing.route(typed)
    if route.unit is not None:
        return await _show(turn, route.unit.code)
    if route.outside:
        return await _all_units(turn, "schedule.outside", place=route.outside)
    profile = turn.services.config.deployment.units_profile
    options = []
    for candidate in route.candidates:
        unit = await turn.uow.units.by_code(profile, candidate.code)
        if unit is not None and unit.id is not None:
            options.append(turn.option("petition.unit_option", f"unit:{unit.id}", name=candidate.label))
    if not options:
        return await _all_units(turn, "schedule.unknown", typed=cases.excerpt(typed, cases.ECHO_MAX))
    options.append(turn.option("petition.show_all_units", ALL_UNITS))
    text = turn.t("schedule.which", typed=cases.excerpt(typed, cases.ECHO_MAX))
    return goto("pick", Reply(text, tuple(options), columns=2))


@flow.step("pick")
async def pick(turn: Turn) -> Next:
    if turn.choice == ALL_UNITS:
        return await _all_units(turn, "schedule.ask")
    if turn.choice and turn.choice.startswith("unit:"):
        unit_id = parse_id(turn.choice.removeprefix("unit:"))
        unit = await turn.uow.units.get(unit_id) if unit_id is not None else None
        if unit is not None:
            return await _show_unit(turn, unit.id or 0, unit.name)
    if turn.text:
        return await _find(turn, turn.text)
    return await _all_units(turn, "schedule.ask")


async def _show(turn: Turn, code: str) -> Next:
    unit = await turn.uow.units.by_code(turn.services.config.deployment.units_profile, code)
    if unit is None or unit.id is None:
        return done(turn.say("schedule.none"), menu(turn))
    return await _show_unit(turn, unit.id, unit.name)


async def _show_unit(turn: Turn, unit_id: int, name: str) -> Next:
    slots = await turn.uow.units.reception(unit_id)
    if not slots:
        return done(turn.say("schedule.unit_none", unit=name), menu(turn))
    sessions: dict[tuple[str, str, str], list[int]] = {}
    for slot in slots:
        sessions.setdefault((slot.start, slot.end, slot.host), []).append(slot.weekday)
    lines = [
        turn.t("schedule.slot", days=_days_text(turn, days), start=start, end=end, host=host)
        for (start, end, host), days in sorted(sessions.items())
    ]
    first = slots[0]
    text = turn.t("schedule.show", unit=name, place=first.place, slots=Markup("\n".join(lines)), note=first.note)
    return done(Reply(text), menu(turn, "menu.more"))


def _days_text(turn: Turn, days: list[int]) -> str:
    """'Thứ Hai – Thứ Sáu' for a run of consecutive days, else a list."""
    days = sorted(set(days))
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return turn.t("weekday.range", first=turn.t(f"weekday.{days[0]}"), last=turn.t(f"weekday.{days[-1]}"))
    return ", ".join(turn.t(f"weekday.{day}") for day in days)
