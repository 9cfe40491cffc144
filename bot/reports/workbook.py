"""Spreadsheets: the annex tables of a report, and the case list with each case's lifecycle.

Why this module exists: Nội vụ and the clerks rework the figures in Excel. The annex holds the
tables of the report (by type, by unit, satisfaction, overdue cases, FAQ); the case list has one
row per case with its timestamps, deadlines, on-time verdict and rating, streamed row by row
with openpyxl's write-only mode so that memory stays flat whatever the number of cases. No
description and no contact is ever written: a denouncer's identity cannot leak from here, only
the anonymous flag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.dialog.catalog import Translator
from bot.reports.figures import Cell, Figures
from bot.transports.base import plain_text
from storage.report_queries import FINISHED_STATUSES, CaseLine

Value = str | int | float | date | datetime | None


@dataclass(frozen=True)
class Table:
    """A table of the report: shared by the annex, the case workbook and the DOCX."""

    sheet: str
    caption: str
    headers: list[str]
    rows: list[list[Value]]
    widths: list[int]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value + 1e-9, 1)


def _label(t: Translator, key: str, **values: object) -> str:
    return plain_text(t(key, **values))


def _outcome_row(number: int | None, name: str, cell: Cell) -> list[Value]:
    return [
        number,
        name,
        cell.received,
        cell.finished,
        cell.rejected,
        cell.on_time,
        cell.late,
        _round(cell.on_time_rate),
        cell.overdue,
        _round(cell.average_days),
    ]


def _outcome_headers(t: Translator, first: str) -> list[str]:
    keys = (
        "number",
        first,
        "received_count",
        "finished_count",
        "rejected_count",
        "on_time_count",
        "late_count",
        "on_time_rate",
        "overdue_count",
        "average_days",
    )
    return [_label(t, f"reports.col.{key}") for key in keys]


def tables(t: Translator, figures: Figures) -> list[Table]:
    """Every table of the report, with raw numbers (rates and averages rounded to 0.1)."""
    total = figures.total()
    total_name = _label(t, "reports.col.total")
    by_type = figures.by_type()
    type_rows = [
        _outcome_row(number, _label(t, f"case_type.{name}"), cell)
        for number, (name, cell) in enumerate(by_type.items(), start=1)
    ]
    type_rows.append(_outcome_row(None, total_name, total))
    unit_rows = [
        _outcome_row(number, figures.unit_name(unit_id), cell)
        for number, (unit_id, cell) in enumerate(figures.by_unit().items(), start=1)
    ]
    unit_rows.append(_outcome_row(None, total_name, total))
    rating_rows: list[list[Value]] = [
        [
            number,
            _label(t, f"case_type.{name}"),
            cell.ratings,
            _round(cell.average_score),
            _round(cell.satisfied_rate),
            _round(cell.solved_rate),
        ]
        for number, (name, cell) in enumerate(by_type.items(), start=1)
    ]
    rating_rows.append(
        [
            None,
            total_name,
            total.ratings,
            _round(total.average_score),
            _round(total.satisfied_rate),
            _round(total.solved_rate),
        ]
    )
    rating_headers = [
        _label(t, f"reports.col.{key}")
        for key in ("number", "type", "ratings", "average_score", "satisfied_rate", "solved_rate")
    ]
    overdue_rows: list[list[Value]] = [
        [number, case.code, _label(t, f"case_type.{case.type}"), figures.unit_name(case.unit_id), case.due]
        for number, case in enumerate(figures.overdue_cases, start=1)
    ]
    overdue_headers = [_label(t, f"reports.col.{key}") for key in ("number", "code", "type", "unit", "due")]
    result = [
        Table(
            _label(t, "reports.xlsx.sheet_types"),
            _label(t, "reports.doc.table_types"),
            _outcome_headers(t, "type"),
            type_rows,
            [6, 16, 12, 12, 12, 12, 12, 12, 12, 12],
        ),
        Table(
            _label(t, "reports.xlsx.sheet_units"),
            _label(t, "reports.doc.table_units"),
            _outcome_headers(t, "unit"),
            unit_rows,
            [6, 34, 12, 12, 12, 12, 12, 12, 12, 12],
        ),
        Table(
            _label(t, "reports.xlsx.sheet_ratings"),
            _label(t, "reports.doc.table_ratings"),
            rating_headers,
            rating_rows,
            [6, 16, 12, 12, 14, 14],
        ),
        Table(
            _label(t, "reports.xlsx.sheet_overdue"),
            _label(t, "reports.doc.table_overdue"),
            overdue_headers,
            overdue_rows,
            [6, 20, 14, 34, 14],
        ),
    ]
    if figures.faq is not None:
        faq = figures.faq
        faq_rows: list[list[Value]] = [
            [_label(t, f"reports.faq.{name}"), value]
            for name, value in (
                ("questions", faq.questions),
                ("answered", faq.answered),
                ("unsure", faq.unsure),
                ("unanswered", faq.unanswered),
                ("forwarded", faq.forwarded),
                ("helpful", faq.helpful),
                ("not_helpful", faq.not_helpful),
            )
        ]
        faq_rows += [[_label(t, "reports.faq.topic", topic=topic), count] for topic, count in figures.topics]
        result.append(
            Table(
                _label(t, "reports.xlsx.sheet_faq"),
                _label(t, "reports.doc.table_faq"),
                [_label(t, "reports.col.indicator"), _label(t, "reports.col.count")],
                faq_rows,
                [48, 14],
            )
        )
    return result


def _bold(sheet: WriteOnlyWorksheet, value: Value) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    return cell


def _write_table(workbook: Workbook, table: Table, title: str) -> None:
    sheet = workbook.create_sheet(table.sheet[:31])
    for index, width in enumerate(table.widths):
        sheet.column_dimensions[_column(index)].width = width
    sheet.append([_bold(sheet, title)])
    sheet.append([_bold(sheet, table.caption)])
    sheet.append([_bold(sheet, header) for header in table.headers])
    for row in table.rows:
        sheet.append(row)


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_annex(t: Translator, figures: Figures, title: str, path: Path) -> Path:
    """The report's annex: its tables, one per sheet."""
    workbook = Workbook(write_only=True)
    for table in tables(t, figures):
        _write_table(workbook, table, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return None if moment is None else moment.astimezone(tz).replace(tzinfo=None)


async def write_cases(
    t: Translator,
    figures: Figures,
    title: str,
    lines: AsyncIterator[CaseLine],
    path: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """The tables, then one row per case, streamed; returns the number of cases written."""
    tz = figures.window.tz
    as_of_date = figures.window.as_of_date
    workbook = Workbook(write_only=True)
    for table in tables(t, figures):
        _write_table(workbook, table, title)
    sheet = workbook.create_sheet(_label(t, "reports.xlsx.sheet_cases"), 0)
    columns = (
        ("code", 18),
        ("type", 12),
        ("unit", 28),
        ("channel", 10),
        ("anonymous", 9),
        ("status", 16),
        ("received", 17),
        ("accepted", 17),
        ("first_reply", 17),
        ("resolved", 17),
        ("closed", 17),
        ("first_due", 12),
        ("final_due", 12),
        ("extensions", 9),
        ("on_time", 12),
        ("handling_days", 10),
        ("score", 9),
        ("solved", 10),
    )
    for index, (_, width) in enumerate(columns):
        sheet.column_dimensions[_column(index)].width = width
    sheet.freeze_panes = "B2"
    sheet.append([_bold(sheet, _label(t, f"reports.col.{name}")) for name, _ in columns])
    types = {name: _label(t, f"case_type.{name}") for name in figures.by_type()}
    statuses: dict[str, str] = {}
    yes, no = _label(t, "reports.col.yes"), _label(t, "reports.col.no")
    verdicts = {key: _label(t, f"reports.verdict.{key}") for key in ("on_time", "late", "open", "overdue")}
    count = 0
    async for line in lines:
        status = statuses.get(line.status)
        if status is None:
            status = statuses[line.status] = _label(t, f"reports.status.{line.status}")
        due = line.final_due or line.first_due
        finished_at = line.resolved_at or line.closed_at
        days: float | None = None
        if line.status in FINISHED_STATUSES and finished_at is not None:
            verdict = verdicts["on_time" if finished_at.astimezone(tz).date() <= due else "late"]
            days = round((finished_at - line.received_at).total_seconds() / 86400.0 + 1e-9, 1)
        else:
            verdict = verdicts["overdue" if due < as_of_date else "open"]
        sheet.append(
            [
                line.code,
                types.get(line.type, line.type),
                figures.unit_name(line.unit_id),
                line.channel,
                yes if line.anonymous else no,
                status,
                _local(line.received_at, tz),
                _local(line.accepted_at, tz),
                _local(line.first_reply_at, tz),
                _local(line.resolved_at, tz),
                _local(line.closed_at, tz),
                line.first_due,
                line.final_due,
                line.extensions,
                verdict,
                days,
                line.score,
                None if line.solved is None else (yes if line.solved else no),
            ]
        )
        count += 1
        if count % 1000 == 0:
            progress(1000)
    progress(count % 1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return count
