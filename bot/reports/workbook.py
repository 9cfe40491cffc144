"""Spreadsheets: the annex tables of a report, and the case list with each case's lifecycle.

Why this module exists: Nội vụ and the clerks rework the figures in Excel. The annex holds the
tables of the report (by type, by unit, satisfaction, overdue cases, FAQ); the case list has one
row per case with its timestamps, deadlines, on-time verdict and rating, streamed row by row
to a temporary file so that memory stays flat whatever the number of cases. XlsxWriter (in
``constant_memory`` mode) writes the workbook: styles, the table sheets, the case sheet's header
row, column widths and frozen panes. The case rows themselves, tens of thousands of rows of 18
cells, are written as sheet XML by :class:`_CaseRows` and spliced into the case sheet when the
workbook is closed: per cell that is one f-string instead of XlsxWriter's per-cell checks and
escaping, about ten times faster (openpyxl's write-only mode, used before, was slower still).
The cells and their number formats (dates ``yyyy-mm-dd``, timestamps ``yyyy-mm-dd h:mm:ss``) are
what XlsxWriter itself would write. No description and no contact is ever written: a
denouncer's identity cannot leak from here, only the anonymous flag.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from xlsxwriter import Workbook  # type: ignore[import-untyped]

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


_EXCEL_EPOCH = datetime(1899, 12, 31)
_EXCEL_LEAP_BUG = datetime(1900, 2, 28)  # Excel counts a 29 February 1900: serials after it are one more
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _serial(moment: datetime) -> str:
    """An Excel date serial as XlsxWriter computes and prints it (1900 date system)."""
    delta = moment - _EXCEL_EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    if moment > _EXCEL_LEAP_BUG:
        serial += 1
    return f"{serial:.16G}"


def _inline(text: str) -> str:
    """The ``<is>`` element of an inline string cell, escaped as XlsxWriter escapes it."""
    if _NEEDS_ESCAPE.search(text) is None:
        return f"<is><t>{text}</t></is>"
    data = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    data = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", data)
    data = data.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    data = data.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<is><t{space}>{data}</t></is>"


class _CaseRows:
    """The case sheet's rows as SpreadsheetML, written to a temporary file one row at a time.

    :meth:`splice` puts them into the case sheet of the workbook XlsxWriter wrote (the first
    sheet, ``xl/worksheets/sheet1.xml``, whose only row is the header).
    """

    def __init__(self, columns: int, date_style: int, datetime_style: int) -> None:
        self.letters = [_column(index) for index in range(columns)]
        self.last = self.letters[-1]
        self.date_style = date_style
        self.datetime_style = datetime_style
        self.file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by splice)
        self.rows = 1  # the header
        self._strings: dict[str, str] = {}
        self._cells: list[str] = []

    def text(self, column: int, value: str, *, repeated: bool = False) -> None:
        """A string cell; ``repeated`` values (labels, names) are escaped once and cached."""
        if repeated:
            body = self._strings.get(value)
            if body is None:
                body = self._strings[value] = _inline(value)
        else:
            body = _inline(value)
        self._cells.append(f'<c r="{self.letters[column]}{self.rows + 1}" t="inlineStr">{body}</c>')

    def number(self, column: int, value: float) -> None:
        self._cells.append(f'<c r="{self.letters[column]}{self.rows + 1}"><v>{value:.16G}</v></c>')

    def moment(self, column: int, value: datetime) -> None:
        self._cells.append(
            f'<c r="{self.letters[column]}{self.rows + 1}" s="{self.datetime_style}"><v>{_serial(value)}</v></c>'
        )

    def day(self, column: int, value: date) -> None:
        serial = _serial(datetime(value.year, value.month, value.day))
        self._cells.append(f'<c r="{self.letters[column]}{self.rows + 1}" s="{self.date_style}"><v>{serial}</v></c>')

    def end_row(self) -> None:
        self.rows += 1
        self.file.write(f'<row r="{self.rows}">{"".join(self._cells)}</row>')
        self._cells.clear()

    def splice(self, path: Path) -> None:
        """Rewrite the archive at ``path`` with these rows in its first sheet, then close."""
        sheet = "xl/worksheets/sheet1.xml"
        source = path.with_name(path.name + ".partial")
        path.replace(source)
        try:
            with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as result:
                for info in original.infolist():
                    if info.filename != sheet:
                        result.writestr(info, original.read(info))
                        continue
                    xml = original.read(info).decode("utf-8")
                    head, tail = xml.split("</sheetData>", 1)
                    head = re.sub(
                        r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{self.last}{self.rows}"/>', head, count=1
                    )
                    with result.open(sheet, "w") as target:
                        target.write(head.encode("utf-8"))
                        self.file.seek(0)
                        while chunk := self.file.read(1 << 20):
                            target.write(chunk.encode("utf-8"))
                        target.write(("</sheetData>" + tail).encode("utf-8"))
        finally:
            self.file.close()
            source.unlink(missing_ok=True)


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
    workbook, formats = _open(path)
    # The case list is the first sheet: XlsxWriter orders sheets as they are added.
    sheet = workbook.add_worksheet(_label(t, "reports.xlsx.sheet_cases")[:31])
    for table in tables(t, figures):
        _write_table(workbook, formats, table, title)
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
    for index, (name, width) in enumerate(columns):
        sheet.set_column(index, index, width)
        sheet.write_string(0, index, _label(t, f"reports.col.{name}"), formats.bold)
    sheet.freeze_panes(1, 1)
    types = {name: _label(t, f"case_type.{name}") for name in figures.by_type()}
    statuses: dict[str, str] = {}
    yes, no = _label(t, "reports.col.yes"), _label(t, "reports.col.no")
    verdicts = {key: _label(t, f"reports.verdict.{key}") for key in ("on_time", "late", "open", "overdue")}
    # The style numbers XlsxWriter gives the two formats (it writes them to styles.xml).
    rows = _CaseRows(len(columns), formats.date._get_xf_index(), formats.datetime._get_xf_index())

    def moment(column: int, value: datetime | None) -> None:
        if value is not None:
            rows.moment(column, value.astimezone(tz).replace(tzinfo=None))

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
        rows.text(0, line.code)
        rows.text(1, types.get(line.type, line.type), repeated=True)
        rows.text(2, figures.unit_name(line.unit_id), repeated=True)
        rows.text(3, line.channel, repeated=True)
        rows.text(4, yes if line.anonymous else no, repeated=True)
        rows.text(5, status, repeated=True)
        moment(6, line.received_at)
        moment(7, line.accepted_at)
        moment(8, line.first_reply_at)
        moment(9, line.resolved_at)
        moment(10, line.closed_at)
        rows.day(11, line.first_due)
        if line.final_due is not None:
            rows.day(12, line.final_due)
        rows.number(13, line.extensions)
        rows.text(14, verdict, repeated=True)
        if days is not None:
            rows.number(15, days)
        if line.score is not None:
            rows.number(16, line.score)
        if line.solved is not None:
            rows.text(17, yes if line.solved else no, repeated=True)
        rows.end_row()
        count += 1
        if count % 1000 == 0:
            progress(1000)
    progress(count % 1000)
    workbook.close()
    rows.splice(path)
    return count
