"""Spreadsheets: the annex tables of a report, and the case list with each case's lifecycle.

Why this module exists: Nội vụ and the clerks rework the figures in Excel. The annex holds the
tables of the report (by type, by unit, satisfaction, overdue cases, FAQ); the case list has one
row per case with its timestamps, deadlines, on-time verdict and rating. XlsxWriter writes both
through its public API, in ``constant_memory`` mode (each row goes to disk as soon as the next
starts: memory stays flat whatever the number of cases). The case rows come from the database
as plain values (:meth:`storage.report_queries.ReportQueries.case_rows`), a batch at a time,
and are written cell by cell in a worker thread while the event loop reads the next batch: a
weekly list of 40,000 cases on a million takes a few seconds, off the event loop (a weekly job;
docs/benchmarks.md). Local times are written as Excel serials by XlsxWriter from the local
date and time, exact to the microsecond (LibreOffice cuts the seconds it does not show, so a
serial a few microseconds early would show 11:00:00 as 10:59:59). No description and no
contact is ever written: a denouncer's identity cannot leak from here, only the anonymous flag.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook  # type: ignore[import-untyped]

from bot.dialog.catalog import Translator
from bot.reports.figures import Cell, Figures
from bot.services.cases import CASE_TYPES
from bot.text import plain_text
from storage.report_queries import FINISHED_STATUSES, OPEN_STATUSES, CaseRow

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


class _Formats:
    """The cell formats of one workbook (XlsxWriter formats belong to their workbook)."""

    def __init__(self, workbook: Any) -> None:
        self.bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "vcenter"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})


def _open(path: Path) -> tuple[Any, _Formats]:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(str(path), {"constant_memory": True})
    return workbook, _Formats(workbook)


def _write(sheet: Any, row: int, column: int, value: Value, formats: _Formats) -> None:
    """One cell, by its Python type (None leaves the cell empty)."""
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, column, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, value, formats.datetime)
    elif isinstance(value, date):
        sheet.write_datetime(row, column, value, formats.date)
    else:
        sheet.write_number(row, column, value)


def _write_table(workbook: Any, formats: _Formats, table: Table, title: str) -> None:
    sheet = workbook.add_worksheet(table.sheet[:31])
    for index, width in enumerate(table.widths):
        sheet.set_column(index, index, width)
    sheet.write_string(0, 0, title, formats.bold)
    sheet.write_string(1, 0, table.caption, formats.bold)
    for column, header in enumerate(table.headers):
        sheet.write_string(2, column, header, formats.bold)
    for row_index, row in enumerate(table.rows, start=3):
        for column, value in enumerate(row):
            _write(sheet, row_index, column, value, formats)


def write_annex(t: Translator, figures: Figures, title: str, path: Path) -> Path:
    """The report's annex: its tables, one per sheet."""
    workbook, formats = _open(path)
    for table in tables(t, figures):
        _write_table(workbook, formats, table, title)
    workbook.close()
    return path


# The case sheet's columns: their label key (reports.col.*) and width.
_CASE_COLUMNS = (
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


async def write_cases(
    t: Translator,
    figures: Figures,
    title: str,
    batches: AsyncIterator[Sequence[CaseRow]],
    path: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """The case list (first sheet) and the tables; returns the number of cases written.

    XlsxWriter works in a worker thread, one batch at a time, while the event loop reads the
    next batch from the database: the loop stays free for the bot's chats meanwhile.
    """
    sheet = await asyncio.to_thread(_CaseSheet, t, figures, title, path)
    count = 0
    writing: asyncio.Future[None] | None = None
    try:
        async for batch in batches:
            if writing is not None:
                await writing
            writing = asyncio.ensure_future(asyncio.to_thread(sheet.write_rows, batch))
            count += len(batch)
            progress(len(batch))
        if writing is not None:
            await writing
    finally:
        if writing is not None:
            await asyncio.gather(writing, return_exceptions=True)
        await asyncio.to_thread(sheet.close)
    return count


class _CaseSheet:
    """The case workbook being written: its first sheet, the case list, filled row by row
    (``constant_memory``: each row goes to disk once the next one starts), then the tables."""

    def __init__(self, t: Translator, figures: Figures, title: str, path: Path) -> None:
        self.workbook, self.formats = _open(path)
        self.figures, self.tz = figures, figures.window.tz
        self.types: dict[str, str] = {name: _label(t, f"case_type.{name}") for name in CASE_TYPES}
        self.statuses = {name: _label(t, f"reports.status.{name}") for name in (*OPEN_STATUSES, *FINISHED_STATUSES)}
        self.verdicts = {key: _label(t, f"reports.verdict.{key}") for key in ("on_time", "late", "open", "overdue")}
        self.yes_no = {True: _label(t, "reports.col.yes"), False: _label(t, "reports.col.no")}
        # The case list is the first sheet: XlsxWriter orders sheets as they are added.
        self.sheet = self.workbook.add_worksheet(_label(t, "reports.xlsx.sheet_cases")[:31])
        for index, (name, width) in enumerate(_CASE_COLUMNS):
            self.sheet.set_column(index, index, width)
            self.sheet.write_string(0, index, _label(t, f"reports.col.{name}"), self.formats.bold)
        self.sheet.freeze_panes(1, 1)
        self.row = 0
        self.tables = tables(t, figures), title

    def _moment(self, column: int, value: datetime | None) -> None:
        """A UTC timestamp as the local date and time (Excel has no time zones)."""
        if value is not None:
            self.sheet.write_datetime(
                self.row, column, value.astimezone(self.tz).replace(tzinfo=None), self.formats.datetime
            )

    def write_rows(self, rows: Sequence[CaseRow]) -> None:
        sheet, date_format = self.sheet, self.formats.date
        for case in rows:
            self.row += 1
            row = self.row
            sheet.write_string(row, 0, case.code)
            sheet.write_string(row, 1, self.types.get(case.type, case.type))
            sheet.write_string(row, 2, self.figures.unit_name(case.unit_id))
            sheet.write_string(row, 3, case.channel)
            sheet.write_string(row, 4, self.yes_no[bool(case.anonymous)])
            sheet.write_string(row, 5, self.statuses.get(case.status, case.status))
            self._moment(6, case.received_at)
            self._moment(7, case.accepted_at)
            self._moment(8, case.first_reply_at)
            self._moment(9, case.resolved_at)
            self._moment(10, case.closed_at)
            sheet.write_datetime(row, 11, case.first_due, date_format)
            if case.final_due is not None:
                sheet.write_datetime(row, 12, case.final_due, date_format)
            sheet.write_number(row, 13, case.extensions)
            sheet.write_string(row, 14, self.verdicts[case.verdict])
            finished = case.resolved_at or case.closed_at
            if case.verdict in ("on_time", "late") and finished is not None:
                days = (finished - case.received_at).total_seconds() / 86400.0
                sheet.write_number(row, 15, _round(days))
            if case.score is not None:
                sheet.write_number(row, 16, case.score)
            if case.solved is not None:
                sheet.write_string(row, 17, self.yes_no[bool(case.solved)])

    def close(self) -> None:
        """The autofilter over the rows written, the tables' sheets, and the file itself."""
        if self.row:
            self.sheet.autofilter(0, 0, self.row, len(_CASE_COLUMNS) - 1)
        found, title = self.tables
        for table in found:
            _write_table(self.workbook, self.formats, table, title)
        self.workbook.close()
