"""The six-month and annual reports as a DOCX laid out like a Vietnamese administrative report.

Why this module exists: the report goes to Cơ quan Tổ chức - Nội vụ signed, so the bot must hand
the clerk a draft that already follows Nghị định 30/2020/NĐ-CP: A4 with the decree's margins
(top and bottom 20 mm, left 30 mm, right 15 mm), Times New Roman 13-14 pt, the issuing body and
the national title and motto side by side, "Số: .../BC-..." left for the clerk to fill, place and
date, the document type "BÁO CÁO" with its subject, numbered sections, tables of figures, "Nơi
nhận" and the signature block. The figures are filled in; the paragraphs that need a human
judgement are highlighted so that the clerk writes them before signing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

from bot.config import ReportsConfig
from bot.dialog.catalog import Translator
from bot.reports.figures import Figures
from bot.reports.text import fmt_date, fmt_decimal, fmt_int, fmt_pct, period_name
from bot.reports.workbook import Table, Value, tables
from bot.text import plain_text

FONT = "Times New Roman"
BODY_PT = 13
TEXT_WIDTH_CM = 16.5  # A4 less the decree's left (30 mm) and right (15 mm) margins


def _set_font(element: Any, name: str = FONT) -> None:
    r_pr = element.get_or_add_rPr()
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)


def _rule(paragraph: Any, indent_cm: float) -> None:
    """A short horizontal line under a heading: a bottom border on an indented, empty paragraph."""
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "6")
    bottom.set(qn("w:space"), "1")
    bottom.set(qn("w:color"), "000000")
    borders.append(bottom)
    p_pr.append(borders)
    fmt = paragraph.paragraph_format
    fmt.left_indent = Cm(indent_cm)
    fmt.right_indent = Cm(indent_cm)
    fmt.space_after = Pt(6)


def _paragraph(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    size: float = BODY_PT,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = False,
    after: float = 0,
    highlight: bool = False,
) -> Any:
    paragraph = container.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold
        run.italic = italic
        run.font.size = Pt(size)
        if highlight:
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    return paragraph


def _cell_text(value: Value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return fmt_int(value)
    if isinstance(value, float):
        return fmt_decimal(value)
    return fmt_date(value) if not isinstance(value, str) else value


def _figure_table(document: Any, table: Table) -> None:
    _paragraph(document, table.caption, bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, after=3)
    grid = document.add_table(rows=1, cols=len(table.headers))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    for cell, header in zip(grid.rows[0].cells, table.headers, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(header)
        run.bold = True
        run.font.size = Pt(10)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for row in table.rows:
        cells = grid.add_row().cells
        last = row is table.rows[-1] and row[0] is None
        for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
            run = cell.paragraphs[0].add_run("" if index == 0 and value is None else _cell_text(value))
            run.font.size = Pt(10.5)  # "19.306" in bold fits a number column
            run.bold = last
            if index != 1:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    # The text width shared as the spreadsheet's column widths are: a narrow number column and
    # a wide name column ("Phòng Lao động - Thương binh và Xã hội" on one or two lines).
    weights = [max(width, 8) if index == 0 else width for index, width in enumerate(table.widths)]  # "STT", "10"
    total = sum(weights)
    _set_widths(grid, [Cm(TEXT_WIDTH_CM * weight / total) for weight in weights])
    _paragraph(document, after=6)


def _set_widths(grid: Any, widths: list[Any]) -> None:
    """Column widths both as Word reads them (each cell) and as LibreOffice does (the grid)."""
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def write(t: Translator, figures: Figures, config: ReportsConfig, office: str, path: Path) -> Path:
    """Write the report as DOCX at ``path``; ``office`` names the issuing body in running text."""

    def say(key: str, **values: object) -> str:
        return plain_text(t(key, **values))

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _set_font(normal.element)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.1

    period = figures.period
    name = period_name(t, period)
    name = name[:1].lower() + name[1:]  # inside a sentence
    total = figures.total()
    year = period.end.year

    # Header: the issuing body on the left, the national title and motto on the right.
    header = document.add_table(rows=1, cols=2)
    header.autofit = False
    left, right = header.rows[0].cells
    _set_widths(header, [Cm(6.3), Cm(TEXT_WIDTH_CM - 6.3)])
    left.text = right.text = ""
    first = left.paragraphs[0]
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    lines = ([config.issuer_parent.upper()] if config.issuer_parent else []) + [line.upper() for line in config.issuer]
    for index, line in enumerate(lines):
        paragraph = first if index == 0 else _paragraph(left, align=WD_ALIGN_PARAGRAPH.CENTER)
        run = paragraph.add_run(line)
        run.font.size = Pt(13)
        run.bold = not (config.issuer_parent and index == 0)
    _rule(_paragraph(left, size=4, align=WD_ALIGN_PARAGRAPH.CENTER), 1.8)
    _paragraph(left, say("reports.doc.number", symbol=config.symbol), size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    title = right.paragraphs[0]
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(say("reports.doc.nation"))
    run.bold = True
    run.font.size = Pt(12)
    _paragraph(right, say("reports.doc.motto"), bold=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    _rule(_paragraph(right, size=4, align=WD_ALIGN_PARAGRAPH.CENTER), 2.3)
    _paragraph(
        right,
        say("reports.doc.place_date", place=config.place, year=year),
        italic=True,
        size=13,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )

    _paragraph(document, after=12)
    _paragraph(document, say("reports.doc.kind"), bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    subject = say("reports.doc.subject", period=name)
    if figures.scope is not None:
        subject += " " + say("reports.doc.subject_unit", unit=figures.scope)
    _paragraph(document, subject, bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(
        document,
        say("reports.doc.period_line", start=fmt_date(period.start), end=fmt_date(period.end)),
        italic=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    _rule(_paragraph(document, size=4, align=WD_ALIGN_PARAGRAPH.CENTER), 6.0)
    _paragraph(document, after=6)

    issuer = office
    numbers = iter(("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"))

    def heading(key: str) -> None:
        _paragraph(document, say(key, number=next(numbers)), bold=True, after=6)

    def body(text: str, *, clerk: bool = False) -> None:
        _paragraph(
            document, text, italic=clerk, highlight=clerk, indent=True, after=6, align=WD_ALIGN_PARAGRAPH.JUSTIFY
        )

    body(say("reports.doc.intro", issuer=issuer, period=name))
    by_type, by_unit, ratings = tables(t, figures)[:3]

    heading("reports.doc.section_received")
    body(say("reports.doc.received", count=fmt_int(total.received)))
    _figure_table(document, by_type)
    _figure_table(document, by_unit)

    heading("reports.doc.section_results")
    body(
        say(
            "reports.doc.finished",
            count=fmt_int(total.finished),
            rejected=fmt_int(total.rejected),
            on_time=fmt_int(total.on_time),
            rate=fmt_pct(total.on_time_rate),
            days=fmt_decimal(total.average_days),
        )
    )
    body(say("reports.doc.overdue", count=fmt_int(total.overdue), date=fmt_date(figures.window.as_of_date)))

    heading("reports.doc.section_ratings")
    if total.ratings:
        body(
            say(
                "reports.doc.ratings",
                count=fmt_int(total.ratings),
                score=fmt_decimal(total.average_score),
                rate=fmt_pct(total.satisfied_rate),
                solved=fmt_pct(total.solved_rate),
            )
        )
    else:
        body(say("reports.doc.no_ratings"))
    _figure_table(document, ratings)

    if figures.faq is not None:
        faq = figures.faq
        topics = ", ".join(f"{topic} ({fmt_int(count)})" for topic, count in figures.topics)
        heading("reports.doc.section_faq")
        body(
            say(
                "reports.doc.faq",
                questions=fmt_int(faq.questions),
                answered=fmt_int(faq.answered),
                unsure=fmt_int(faq.unsure),
                unanswered=fmt_int(faq.unanswered),
                forwarded=fmt_int(faq.forwarded),
                topics=topics or say("reports.digest.none"),
            )
        )
    for key in ("assessment", "plans", "proposals"):
        heading(f"reports.doc.section_{key}")
        body(say("reports.doc.clerk", what=say(f"reports.doc.{key}_hint")), clerk=True)
    body(say("reports.doc.closing", period=name, issuer=issuer))
    _paragraph(document, after=6)

    footer = document.add_table(rows=1, cols=2)
    footer.autofit = False
    left, right = footer.rows[0].cells
    _set_widths(footer, [Cm(8.0), Cm(TEXT_WIDTH_CM - 8.0)])
    left.text = right.text = ""
    run = left.paragraphs[0].add_run(say("reports.doc.recipients"))
    run.bold = run.italic = True
    run.font.size = Pt(12)
    for recipient in config.recipients:
        _paragraph(left, f"- {recipient}", size=11)
    signer = right.paragraphs[0]
    signer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = signer.add_run(config.signer_title.upper())
    run.bold = True
    run.font.size = Pt(13)
    for _ in range(4):
        _paragraph(right, size=13)
    _paragraph(right, config.signer_name, bold=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER)

    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path
