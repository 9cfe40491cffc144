"""The case list holds, cell by cell, what XlsxWriter writes for the cases' values.

The weekly case list has one row per case (tens of thousands on a real district): the
database gives plain values in batches (storage/report_queries.py ``case_rows``) and
bot/reports/workbook.py writes them with XlsxWriter in a worker thread. Here the same cases are
written cell by cell with XlsxWriter from values computed in Python from the ORM objects, and
both workbooks are read back with openpyxl and compared cell by cell: the same text, numbers,
dates and number formats, and the same local times. The cases exercise what could go wrong:
timestamps with microseconds and on either side of local midnight, a code and a unit name that
need XML escaping, several ratings of one case (the latest counts), rejected and overdue cases,
empty cells between full ones, and a list long enough to be read in several batches.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select
from xlsxwriter import Workbook  # type: ignore[import-untyped]

from bot.app import App
from bot.reports import periods, service
from bot.reports.workbook import _Formats
from storage.models import Case, Rating, Unit
from storage.report_queries import FINISHED_STATUSES, ReportQueries
from tests import reports_dataset
from tests.reports_dataset import at

ODD_UNIT = " Xã A&B <thử> "
ODD_CODE = "CN&<2026>-77"


@pytest.fixture
async def data(app: App) -> AsyncIterator[reports_dataset.Dataset]:
    """The golden dataset and more cases; unit B renamed for the test, then named back (the
    units are reference data that PostgreSQL tests share)."""
    data = await reports_dataset.build(app)
    original = await _more_cases(app, data)
    yield data
    async with app.db.unit_of_work() as uow:
        unit = await uow.session.get(Unit, data.unit_b)
        assert unit is not None
        unit.name = original


async def _more_cases(app: App, data: reports_dataset.Dataset) -> str:
    """Cases beyond the golden dataset: awkward moments and texts, several ratings. Returns
    unit B's name, which it changes into one that needs escaping."""
    async with app.db.unit_of_work() as uow:
        unit = await uow.session.get(Unit, data.unit_b)
        assert unit is not None
        original, unit.name = unit.name, ODD_UNIT
        citizen_id = (await uow.session.exec(select(Case.citizen_id).limit(1))).one()
        base = at("2026-11-17", "08:00")
        cases = []
        for n in range(40):
            received = base + timedelta(hours=3 * n, seconds=n, microseconds=137 * n + 1)
            finished_at = received + timedelta(days=n % 9, hours=n, microseconds=999_999 - n)
            if n % 3 == 0:
                status, resolved, closed = ("received", "accepted", "need_info")[n // 3 % 3], None, None
            else:
                status = ("resolved", "closed", "rejected")[n // 3 % 3]
                resolved = None if status == "rejected" else finished_at
                closed = finished_at + timedelta(days=1) if status != "resolved" else None
            cases.append(
                Case(
                    code=ODD_CODE if n == 7 else f"CN-2026-{100 + n:05d}",
                    year=2026,
                    seq=100 + n,
                    type=("phan_anh", "kien_nghi", "khieu_nai", "to_cao", "hoi_dap")[n % 5],
                    status=status,
                    unit_id=(data.unit_a, data.unit_b, data.unit_t)[n % 3],
                    citizen_id=citizen_id,
                    channel=("telegram", "zalo")[n % 2],
                    chat_id="5001",
                    description="thử",
                    anonymous=n % 5 == 1,
                    received_at=received,
                    accepted_at=received + timedelta(minutes=37, microseconds=n) if n % 2 else None,
                    first_reply_at=received + timedelta(hours=3) if n % 4 == 1 else None,
                    resolved_at=resolved,
                    closed_at=closed,
                    first_due=date(2026, 11, 16) + timedelta(days=n % 12),
                    final_due=date(2026, 11, 20) + timedelta(days=n % 7) if n % 3 != 1 else None,
                    extensions=n % 2,
                )
            )
        # Around local midnight: 16:59:59.999999 UTC is 23:59:59.999999 in Cầu Ngang.
        cases[0].received_at = datetime(2026, 11, 17, 16, 59, 59, 999_999, tzinfo=UTC)
        cases[1].received_at = datetime(2026, 11, 17, 17, 0, tzinfo=UTC)
        cases[2].closed_at = datetime(2026, 11, 20, 16, 59, 59, 999_999, tzinfo=UTC)
        # 11:00:00 local, which a serial a few microseconds early shows as 10:59:59 in LibreOffice.
        cases[3].received_at = datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
        for item in cases:
            await uow.cases.add(item, None)
        for n, item in enumerate(cases[:12]):
            for score in (n % 5 + 1, (n + 2) % 5 + 1)[: 1 + n % 2]:
                uow.session.add(
                    Rating(
                        case_id=item.id or 0, score=score, solved=score >= 3, at=item.received_at + timedelta(days=1)
                    )
                )
    return original


def _reference(app: App, bundle: service.Bundle, cases: list[Case], ratings: dict[int, Rating], path: Path) -> None:
    """The case rows written by XlsxWriter from values computed in Python."""
    t = service.translator(app.services)
    figures = bundle.figures
    tz = figures.window.tz

    def label(key: str) -> str:
        return t(key).replace("<b>", "").replace("</b>", "")

    workbook = Workbook(str(path), {"constant_memory": True})
    formats = _Formats(workbook)
    sheet = workbook.add_worksheet()
    for row, case in enumerate(cases, start=1):
        due = case.final_due or case.first_due
        finished_at = case.resolved_at or case.closed_at
        days = None
        if case.status in FINISHED_STATUSES and finished_at is not None:
            verdict = "on_time" if finished_at.astimezone(tz).date() <= due else "late"
            days = round((finished_at - case.received_at).total_seconds() / 86400.0 + 1e-9, 1)
        else:
            verdict = "overdue" if due < figures.window.as_of_date else "open"
        rating = ratings.get(case.id or 0)
        cells: list[object] = [
            case.code,
            label(f"case_type.{case.type}"),
            figures.unit_name(case.unit_id),
            case.channel,
            label("reports.col.yes" if case.anonymous else "reports.col.no"),
            label(f"reports.status.{case.status}"),
            case.received_at,
            case.accepted_at,
            case.first_reply_at,
            case.resolved_at,
            case.closed_at,
            case.first_due,
            case.final_due,
            case.extensions,
            label(f"reports.verdict.{verdict}"),
            days,
            None if rating is None else rating.score,
            None if rating is None else label("reports.col.yes" if rating.solved else "reports.col.no"),
        ]
        for column, value in enumerate(cells):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(row, column, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(row, column, value.astimezone(tz).replace(tzinfo=None), formats.datetime)
            elif isinstance(value, date):
                sheet.write_datetime(row, column, datetime(value.year, value.month, value.day), formats.date)
            else:
                assert isinstance(value, int | float)
                sheet.write_number(row, column, value)
    workbook.close()


def _cells(path: Path) -> list[list[tuple[object, str]]]:
    """Every row of the first sheet but the header, as read by openpyxl: each cell's value and
    number format (both ``None`` and "General" for an empty cell)."""
    sheet = load_workbook(path).worksheets[0]
    return [
        [(cell.value, cell.number_format if cell.value is not None else "General") for cell in row]
        for row in sheet.iter_rows(min_row=2, max_col=18)
    ]


async def test_rows_are_the_cells_xlsxwriter_writes(app: App, data: reports_dataset.Dataset, tmp_path: Path) -> None:
    period = periods.parse("2026-W47", app.services.local_now().date(), app.config.reports)
    async with app.db.read_only() as uow:
        bundle = await service.build(uow, app.services, period, tmp_path, case_list=True, report=False)
        ids = await ReportQueries(uow.session).case_ids(bundle.figures.window)
        cases = {case.id: case for case in (await uow.session.exec(select(Case).where(col(Case.id).in_(ids)))).all()}
        ratings: dict[int, Rating] = {}
        for rating in (await uow.session.exec(select(Rating).order_by(col(Rating.id)))).all():
            ratings[rating.case_id] = rating  # the latest wins
    assert bundle.case_count == len(ids) > 40
    assert [cases[case_id].code for case_id in ids[:3]] == ["CN-2026-00003", "CN-2026-00005", "CN-2026-00007"]
    _reference(app, bundle, [cases[case_id] for case_id in ids], ratings, tmp_path / "reference.xlsx")
    written, expected = _cells(tmp_path / "cases.xlsx"), _cells(tmp_path / "reference.xlsx")
    assert len(written) == len(expected) == len(ids)
    assert sum(value is not None for row in written for value, _ in row) > 40 * 10
    for row, row_expected in zip(written, expected, strict=True):
        for column, ((value, style), (value_expected, style_expected)) in enumerate(
            zip(row, row_expected, strict=True)
        ):
            where = (row[0][0], column, value, value_expected)
            assert style == style_expected, where
            if isinstance(value_expected, datetime):
                # Local times to the millisecond (SQLite's julianday() counts milliseconds;
                # openpyxl reads times to the millisecond).
                assert isinstance(value, datetime), where
                assert abs(value - value_expected) <= timedelta(milliseconds=1), where
            else:
                assert (type(value), value) == (type(value_expected), value_expected), where
    sheet = load_workbook(tmp_path / "cases.xlsx")["Hồ sơ"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[ODD_CODE][0] == ODD_CODE
    # 23:59:59.999999 local: openpyxl reads times to the millisecond.
    assert rows["CN-2026-00100"][6] == datetime(2026, 11, 18, 0, 0)
    assert rows["CN-2026-00101"][6] == datetime(2026, 11, 18, 0, 0)
    assert any(row[2] == ODD_UNIT for row in rows.values())


async def test_batches_give_the_same_rows(app: App, data: reports_dataset.Dataset, tmp_path: Path) -> None:
    period = periods.parse("2026-W47", app.services.local_now().date(), app.config.reports)
    async with app.db.read_only() as uow:
        bundle = await service.build(uow, app.services, period, tmp_path, case_list=False, report=False)
        queries = ReportQueries(uow.session)
        ids = await queries.case_ids(bundle.figures.window)
        # The ids come in one aggregated value: in the order of a plain ORDER BY.
        listed = await uow.session.exec(
            select(Case.id).where(col(Case.id).in_(ids)).order_by(col(Case.received_at), col(Case.id))
        )
        assert ids == list(listed.all())
        codes = {case_id: code for case_id, code in (await uow.session.exec(select(Case.id, Case.code))).all()}
        whole = [page async for page in queries.case_rows(bundle.figures.window, ids)]
        pieces = [page async for page in queries.case_rows(bundle.figures.window, ids, batch=7)]
    assert len(whole) == 1 and len(pieces) == -(-len(ids) // 7)
    assert [row for page in pieces for row in page] == whole[0]
    assert [row.code for row in whole[0]] == [codes[case_id] for case_id in ids]


async def test_local_times_are_written_close_enough_for_libreoffice(
    app: App, data: reports_dataset.Dataset, tmp_path: Path
) -> None:
    """LibreOffice cuts the seconds it does not show instead of rounding them: a serial written
    even 6 µs early shows 11:00:00 as 10:59:59. Each received time in the file is within 2 µs
    of the exact local time."""
    tz = app.config.deployment.tz
    period = periods.parse("2026-W47", app.services.local_now().date(), app.config.reports)
    async with app.db.read_only() as uow:
        bundle = await service.build(uow, app.services, period, tmp_path, case_list=True, report=False)
        ids = await ReportQueries(uow.session).case_ids(bundle.figures.window)
        received = dict((await uow.session.exec(select(Case.id, Case.received_at))).all())
    xml = zipfile.ZipFile(tmp_path / "cases.xlsx").read("xl/worksheets/sheet1.xml").decode("utf-8")
    serials = {int(row): float(value) for row, value in re.findall(r'<c r="G(\d+)" s="\d+"><v>([^<]+)</v>', xml)}
    assert sorted(serials) == list(range(2, len(ids) + 2))
    for row, case_id in enumerate(ids, start=2):
        local = received[case_id].astimezone(tz).replace(tzinfo=None)
        exact = (local - datetime(1899, 12, 30)) / timedelta(days=1)
        assert abs(serials[row] - exact) * 86_400 < 2e-6, (local, serials[row], exact)
    assert any(received[case_id].astimezone(tz).time() == time(11, 0) for case_id in ids)
