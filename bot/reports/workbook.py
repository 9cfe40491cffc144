"""Spreadsheets: the annex tables of a report, and the case list with each case's lifecycle.

Why this module exists: Nội vụ and the clerks rework the figures in Excel. The annex holds the
tables of the report (by type, by unit, satisfaction, overdue cases, FAQ); the case list has one
row per case with its timestamps, deadlines, on-time verdict and rating. XlsxWriter (in
``constant_memory`` mode) writes the workbooks: styles, the table sheets, the case sheet's
header row, column widths and frozen panes. The case rows themselves, tens of thousands of rows
of 18 cells, are written as SpreadsheetML by the database
(:meth:`storage.report_queries.ReportQueries.case_sheet_rows`), their labels as indexes into
a shared string table written here, and streamed batch by batch into the case sheet,
compressed in a worker thread: memory stays flat whatever the number of cases, and Python does
no work per cell (built cell by cell in Python, the rows cost 75 to 200 µs each). Read back,
the cells and their number formats (dates ``yyyy-mm-dd``, timestamps ``yyyy-mm-dd h:mm:ss``)
are what XlsxWriter itself would have written (tests/test_reports_case_sheet.py; LibreOffice
and openpyxl read them). No description and no contact is ever written: a
denouncer's identity cannot leak from here, only the anonymous flag.
"""

from __future__ import annotations

import asyncio
import re
import zipfile
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
from storage.report_queries import CASE_SHEET_COLUMNS, FINISHED_STATUSES, OPEN_STATUSES, CaseSheet

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


_SHEET = "xl/worksheets/sheet1.xml"  # the case sheet: the first sheet of the case workbook
# zlib level of the case workbook. The case sheet is tens of megabytes of repetitive XML: level 1
# compresses it about three times faster than the default 6, into a file about a quarter larger.
_COMPRESSION = 1
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")


def _text(text: str) -> str:
    """The ``<t>`` element of a string, escaped as XlsxWriter escapes it."""
    if _NEEDS_ESCAPE.search(text) is None:
        return f"<t>{text}</t>"
    data = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    data = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", data)
    data = data.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    data = data.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<t{space}>{data}</t>"


async def write_cases(
    t: Translator,
    figures: Figures,
    title: str,
    rows: AsyncIterator[tuple[str, int]],
    total: int,
    strings: Sequence[str],
    path: Path,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """The case list (first sheet) and the tables; returns the number of cases written.

    ``rows`` gives the case rows as SpreadsheetML in batches (text, number of rows), written by
    the database (:meth:`storage.report_queries.ReportQueries.case_sheet_rows`) with the
    labels and styles of :func:`case_sheet`; ``total`` is how many there are; ``strings`` the
    shared strings of that :class:`CaseSheet`. XlsxWriter writes the workbook (in a thread)
    with only the header row in the case sheet; the rows are then streamed into that sheet
    while the archive is copied, each batch compressed in a worker thread while the database
    produces the next, and the shared strings are added.
    """
    await asyncio.to_thread(_case_workbook, t, figures, title, path)
    return await _stream_rows(path, rows, total, strings, progress)


# The case workbook numbers its cell styles in this order before anything is written (bold 1,
# date 2, date and time 3; 0 is Excel's default), so that the database is told the styles of
# the rows before XlsxWriter has run.
_DATE_STYLE, _DATETIME_STYLE = 2, 3


def case_sheet(t: Translator, units: dict[int, str]) -> CaseSheet:
    """The labels and styles the database needs to write the case rows; ``units``: names by id.

    Each label is a shared string of the case workbook: a row holds its index, not its text
    (a third of the sheet's size, and every row's text stays ASCII, which Python and zlib
    handle faster than Vietnamese text).
    """
    strings: dict[str, int] = {}

    def cell(label: str) -> str:
        return f'<c t="s"><v>{strings.setdefault(label, len(strings))}</v></c>'

    return CaseSheet(
        types={name: cell(_label(t, f"case_type.{name}")) for name in CASE_TYPES},
        units={unit_id: cell(name) for unit_id, name in units.items()},
        statuses={name: cell(_label(t, f"reports.status.{name}")) for name in (*OPEN_STATUSES, *FINISHED_STATUSES)},
        verdicts={key: cell(_label(t, f"reports.verdict.{key}")) for key in ("on_time", "late", "open", "overdue")},
        yes=cell(_label(t, "reports.col.yes")),
        no=cell(_label(t, "reports.col.no")),
        date_style=_DATE_STYLE,
        datetime_style=_DATETIME_STYLE,
        strings=tuple(strings),
    )


def _case_workbook(t: Translator, figures: Figures, title: str, path: Path) -> None:
    """The case workbook with the header row only in its case sheet."""
    workbook, formats = _open(path)
    for number, used in enumerate((formats.bold, formats.date, formats.datetime), start=1):
        assert used._get_xf_index() == number
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
    assert len(columns) == CASE_SHEET_COLUMNS
    for index, (name, width) in enumerate(columns):
        sheet.set_column(index, index, width)
        sheet.write_string(0, index, _label(t, f"reports.col.{name}"), formats.bold)
    sheet.freeze_panes(1, 1)
    workbook.close()


async def _stream_rows(
    path: Path,
    chunks: AsyncIterator[tuple[str, int]],
    total: int,
    strings: Sequence[str],
    progress: Callable[[int], None],
) -> int:
    """Rewrite the archive at ``path`` with the rows of ``chunks`` in its case sheet, numbered
    from 2 (row 1 is the header), and ``strings`` as its shared strings; returns how many rows
    were written."""
    source = path.with_name(path.name + ".partial")
    await asyncio.to_thread(path.replace, source)
    count = 0
    try:
        with (
            zipfile.ZipFile(source) as original,
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION) as result,
        ):
            parts = {info.filename for info in original.infolist()}
            # In constant_memory mode XlsxWriter writes inline strings only: the table is ours.
            assert _SHARED_STRINGS not in parts and _SHEET in parts, parts
            for info in original.infolist():
                if info.filename == _CONTENT_TYPES:
                    result.writestr(info, _with_shared_strings_type(original.read(info).decode("utf-8")))
                elif info.filename == _WORKBOOK_RELATIONS:
                    result.writestr(info, _with_shared_strings_relation(original.read(info).decode("utf-8")))
                elif info.filename != _SHEET:
                    result.writestr(info, original.read(info))
                else:
                    count = await _write_sheet(result, original.read(info).decode("utf-8"), chunks, total, progress)
            result.writestr(_SHARED_STRINGS, _shared_strings(strings))
    finally:
        source.unlink(missing_ok=True)
    return count


async def _write_sheet(
    result: zipfile.ZipFile,
    header: str,
    chunks: AsyncIterator[tuple[str, int]],
    total: int,
    progress: Callable[[int], None],
) -> int:
    """The case sheet: XlsxWriter's ``header`` sheet with the rows of ``chunks`` added."""
    head, tail = header.split("</sheetData>", 1)
    last = f"{_column(CASE_SHEET_COLUMNS - 1)}{total + 1}"
    head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>', head, count=1)
    count = 0
    with result.open(_SHEET, "w") as target:

        def write(data: bytes) -> None:
            target.write(data)

        write(head.encode("utf-8"))
        writing: asyncio.Future[None] | None = None
        async for data_text, rows in chunks:
            data = data_text.encode("utf-8")
            count += rows
            if writing is not None:
                await writing
            # zlib and the file write release the GIL: this batch is compressed while the
            # database produces the next one.
            writing = asyncio.ensure_future(asyncio.to_thread(write, data))
            progress(rows)
        if writing is not None:
            await writing
        write(("</sheetData>" + tail).encode("utf-8"))
    return count


_SHARED_STRINGS = "xl/sharedStrings.xml"
_CONTENT_TYPES = "[Content_Types].xml"
_WORKBOOK_RELATIONS = "xl/_rels/workbook.xml.rels"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SHARED_STRINGS_RELATION = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def _shared_strings(strings: Sequence[str]) -> str:
    items = "".join(f"<si>{_text(text)}</si>" for text in strings)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="{_MAIN}" uniqueCount="{len(strings)}">{items}</sst>'
    )


def _with_shared_strings_type(types: str) -> str:
    override = f'<Override PartName="/{_SHARED_STRINGS}" ContentType="{_SHARED_STRINGS_TYPE}"/>'
    return types.replace("</Types>", override + "</Types>", 1)


def _with_shared_strings_relation(relations: str) -> str:
    number = max((int(found) for found in re.findall(r'Id="rId(\d+)"', relations)), default=0) + 1
    relation = f'<Relationship Id="rId{number}" Type="{_SHARED_STRINGS_RELATION}" Target="sharedStrings.xml"/>'
    return relations.replace("</Relationships>", relation + "</Relationships>", 1)


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
