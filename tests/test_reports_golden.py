"""Golden figures: every number of the W47 report on the hand-built dataset, in every output.

The expected values are worked out by hand from tests/reports_dataset.py (see its docstring):
6 cases received in the week, 4 finished (C1 on time, C3 late, C6 rejected on time, C10 late by
its local date), 2 overdue at the end of the week (C5, and C7 which was finished only after it),
3 ratings (5, 2, 4), 5 FAQ questions.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image

from bot.app import App
from bot.reports import periods, service
from bot.text import plain_text
from tests import reports_dataset
from tests.reports_dataset import DENOUNCER_ADDRESS, DENOUNCER_NAME, DENOUNCER_PHONE

A, B, T = "Thị trấn Cầu Ngang", "Thị trấn Mỹ Long", "Thanh tra huyện Cầu Ngang"

EXPECTED_TEXT = f"""📊 Tổng hợp Tiếp dân: Tuần 47/2026
16/11/2026 – 22/11/2026 · toàn địa bàn

📥 Tiếp nhận mới: 6
• Theo loại: Phản ánh 3, Khiếu nại 1, Tố cáo 1, Câu hỏi 1
• Theo đơn vị: {B} 3, {A} 2, {T} 1

✅ Đã giải quyết xong: 4 (trong đó không thụ lý: 1)
• Đúng hạn: 2/4 (50,0%)
• Thời gian xử lý trung bình: 14,3 ngày

⏰ Quá hạn chưa giải quyết (đến 23/11/2026): 2
• CN-2026-00005, CN-2026-00007

⭐ Mức độ hài lòng: 3,7/5 (3 lượt đánh giá, 66,7% hài lòng)
❓ Hỏi đáp thủ tục: 5 câu hỏi; bot tự trả lời 3; chuyển cán bộ 1
• Chủ đề được hỏi nhiều: Hộ tịch 2, Cư trú và căn cước 1"""

OUTCOME_HEADERS = [
    "STT",
    "?",
    "Tiếp nhận mới",
    "Đã giải quyết",
    "Trong đó không thụ lý",
    "Đúng hạn",
    "Trễ hạn",
    "Tỷ lệ đúng hạn (%)",
    "Quá hạn chưa xong",
    "Thời gian xử lý TB (ngày)",
]
# received, finished, rejected, on time, late, on-time %, overdue, average days
BY_TYPE = [
    [1, "Phản ánh", 3, 1, 0, 1, 0, 100.0, 1, 2.0],
    [2, "Kiến nghị", 0, 0, 0, 0, 0, None, 1, None],
    [3, "Khiếu nại", 1, 2, 0, 0, 2, 0.0, 0, 27.4],
    [4, "Tố cáo", 1, 0, 0, 0, 0, None, 0, None],
    [5, "Câu hỏi", 1, 1, 1, 1, 0, 100.0, 0, 0.2],
    [None, "Tổng cộng", 6, 4, 1, 2, 2, 50.0, 2, 14.3],
]
BY_UNIT = [
    [1, A, 2, 3, 1, 2, 1, 66.7, 1, 17.4],
    [2, B, 3, 1, 0, 0, 1, 0.0, 1, 4.9],
    [3, T, 1, 0, 0, 0, 0, None, 0, None],
    [None, "Tổng cộng", 6, 4, 1, 2, 2, 50.0, 2, 14.3],
]
RATINGS = [
    [1, "Phản ánh", 1, 5.0, 100.0, 100.0],
    [2, "Kiến nghị", 0, None, None, None],
    [3, "Khiếu nại", 2, 3.0, 50.0, 50.0],
    [4, "Tố cáo", 0, None, None, None],
    [5, "Câu hỏi", 0, None, None, None],
    [None, "Tổng cộng", 3, 3.7, 66.7, 66.7],
]
FAQ = [
    ["Số câu hỏi về thủ tục", 5],
    ["Bot tự trả lời", 3],
    ["Bot gợi ý, chưa chắc chắn", 1],
    ["Bot chưa trả lời được", 1],
    ["Chuyển cán bộ trả lời", 1],
    ["Người hỏi thấy hữu ích", 1],
    ["Người hỏi thấy chưa hữu ích", 1],
    ["Chủ đề: Hộ tịch", 2],
    ["Chủ đề: Cư trú và căn cước", 1],
]


def L(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day} {hhmm}")


D = date.fromisoformat
# code, type, unit, channel, anonymous, status, received, accepted, first reply, resolved, closed,
# first due, final due, extensions, on time?, handling days, rating, solved
CASE_ROWS = [
    ["CN-2026-00003", "Khiếu nại", A, "telegram", "Không", "Đã đóng", L("2026-10-01", "08:00"),
     L("2026-10-10", "09:00"), L("2026-10-10", "09:00"), L("2026-11-20", "08:00"), L("2026-11-21", "08:00"),
     D("2026-10-15"), D("2026-11-09"), 0, "Trễ hạn", 50.0, 1, "Không"],
    ["CN-2026-00005", "Kiến nghị", B, "telegram", "Không", "Đang giải quyết", L("2026-11-02", "08:00"),
     L("2026-11-03", "08:00"), None, None, None, D("2026-11-16"), D("2026-11-16"), 0, "Quá hạn", None, None, None],
    ["CN-2026-00007", "Phản ánh", A, "telegram", "Không", "Đã giải quyết", L("2026-11-05", "08:00"), None, None,
     L("2026-11-24", "08:00"), None, D("2026-11-19"), D("2026-11-19"), 0, "Trễ hạn", 19.0, None, None],
    ["CN-2026-00001", "Phản ánh", A, "telegram", "Không", "Đã giải quyết", L("2026-11-16", "08:00"),
     L("2026-11-16", "09:00"), L("2026-11-17", "10:00"), L("2026-11-18", "08:00"), None, D("2026-11-30"),
     D("2026-11-30"), 0, "Đúng hạn", 2.0, 5, "Có"],
    ["CN-2026-00010", "Khiếu nại", B, "telegram", "Không", "Đã giải quyết", L("2026-11-16", "09:00"),
     L("2026-11-16", "10:00"), L("2026-11-16", "10:00"), L("2026-11-21", "06:00"), None, D("2026-11-30"),
     D("2026-11-20"), 0, "Trễ hạn", 4.9, 4, "Có"],
    ["CN-2026-00002", "Phản ánh", B, "telegram", "Không", "Mới tiếp nhận", L("2026-11-17", "10:00"), None, None,
     None, None, D("2026-12-01"), D("2026-12-01"), 0, "Đang xử lý", None, None, None],
    ["CN-2026-00004", "Tố cáo", T, "telegram", "Không", "Đang giải quyết", L("2026-11-18", "14:00"),
     L("2026-11-19", "09:00"), None, None, None, D("2026-11-27"), D("2026-12-18"), 0, "Đang xử lý", None, None,
     None],
    ["CN-2026-00006", "Câu hỏi", A, "telegram", "Không", "Không thụ lý", L("2026-11-19", "08:00"), None, None,
     None, L("2026-11-19", "12:00"), D("2026-11-26"), D("2026-11-26"), 0, "Đúng hạn", 0.2, None, None],
    ["CN-2026-00008", "Phản ánh", B, "telegram", "Có", "Mới tiếp nhận", L("2026-11-22", "23:30"), None, None, None,
     None, D("2026-12-07"), D("2026-12-07"), 0, "Đang xử lý", None, None, None],
]  # fmt: skip


async def _bundle(app: App, out: Path) -> service.Bundle:
    await reports_dataset.build(app)
    period = periods.parse("2026-W47", app.services.local_now().date(), app.config.reports)
    async with app.db.unit_of_work() as uow:
        return await service.build(uow, app.services, period, out, case_list=True, report=True)


def _values(sheet: object, first_row: int) -> list[list[object]]:
    rows = list(sheet.iter_rows(min_row=first_row, values_only=True))  # type: ignore[attr-defined]
    return [list(row) for row in rows]


def _dates_only(row: list[object]) -> list[object]:
    return [value.date() if isinstance(value, datetime) and value.time() == datetime.min.time() else value
            for value in row]  # fmt: skip


async def test_digest_text_has_every_figure(app: App, tmp_path: Path) -> None:
    bundle = await _bundle(app, tmp_path)
    assert plain_text(bundle.text) == EXPECTED_TEXT


async def test_annex_and_case_list_cells(app: App, tmp_path: Path) -> None:
    bundle = await _bundle(app, tmp_path)
    for name in ("annex.xlsx", "cases.xlsx"):
        book = load_workbook(tmp_path / name)
        types = _values(book["Theo loại"], 3)
        assert types[0] == [h if h != "?" else "Loại" for h in OUTCOME_HEADERS]
        assert types[1:] == BY_TYPE
        units = _values(book["Theo đơn vị"], 3)
        assert units[0] == [h if h != "?" else "Đơn vị" for h in OUTCOME_HEADERS]
        assert units[1:] == BY_UNIT
        assert _values(book["Hài lòng"], 4) == RATINGS
        overdue = [_dates_only(row) for row in _values(book["Quá hạn"], 4)]
        assert overdue == [
            [1, "CN-2026-00005", "Kiến nghị", B, date(2026, 11, 16)],
            [2, "CN-2026-00007", "Phản ánh", A, date(2026, 11, 19)],
        ]
        assert _values(book["Hỏi đáp"], 4) == FAQ
    cases = load_workbook(tmp_path / "cases.xlsx")
    assert cases.sheetnames[0] == "Hồ sơ"
    rows = _values(cases["Hồ sơ"], 1)
    assert rows[0][:3] == ["Mã hồ sơ", "Loại", "Đơn vị"] and len(rows[0]) == 18
    assert [_dates_only(row) for row in rows[1:]] == CASE_ROWS
    assert bundle.case_count == 9


async def test_docx_tables_and_figures(app: App, tmp_path: Path) -> None:
    await _bundle(app, tmp_path)
    document = Document(str(tmp_path / "report.docx"))

    def text(value: object) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:.1f}".replace(".", ",")
        return str(value)

    tables = document.tables
    header, by_type, by_unit, ratings, footer = tables
    for table, expected in ((by_type, BY_TYPE), (by_unit, BY_UNIT), (ratings, RATINGS)):
        body = [[cell.text for cell in row.cells] for row in table.rows][1:]
        assert body == [["" if i == 0 and v is None else text(v) for i, v in enumerate(row)] for row in expected]
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "tiếp nhận 6 hồ sơ" in paragraphs
    assert (
        "Đã giải quyết xong 4 hồ sơ (trong đó không thụ lý 1); giải quyết đúng hạn 2 hồ sơ, đạt tỷ lệ 50,0%"
        in paragraphs
    )
    assert "thời gian xử lý trung bình 14,3 ngày" in paragraphs
    assert "Đến ngày 23/11/2026, còn 2 hồ sơ quá hạn" in paragraphs
    assert "Có 3 lượt người dân đánh giá; điểm trung bình 3,7/5; tỷ lệ hài lòng (4–5 điểm) 66,7%" in paragraphs
    assert (
        "Người dân đặt 5 câu hỏi về thủ tục hành chính; hệ thống tự trả lời 3 câu, gợi ý 1 câu, chưa trả lời được 1 câu; 1 câu hỏi"
        in paragraphs
    )
    assert "Các chủ đề được hỏi nhiều: Hộ tịch (2), Cư trú và căn cước (1)." in paragraphs
    left, right = (cell.text for cell in header.rows[0].cells)
    assert left.startswith("ỦY BAN NHÂN DÂN\nHUYỆN CẦU NGANG") and "Số:" in left and "/BC-UBND" in left
    assert right.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")
    assert "Cầu Ngang, ngày" in right and "tháng" in right
    assert "BÁO CÁO" in [p.text for p in document.paragraphs]
    assert "Nơi nhận:" in footer.rows[0].cells[0].text and "CHỦ TỊCH" in footer.rows[0].cells[1].text


async def test_docx_follows_decree_30_layout(app: App, tmp_path: Path) -> None:
    await _bundle(app, tmp_path)
    document = Document(str(tmp_path / "report.docx"))
    section = document.sections[0]
    mm = 36000  # EMU per millimetre
    assert round(section.page_width / mm) == 210 and round(section.page_height / mm) == 297
    assert 20 <= round(section.top_margin / mm) <= 25 and 20 <= round(section.bottom_margin / mm) <= 25
    assert 30 <= round(section.left_margin / mm) <= 35 and 15 <= round(section.right_margin / mm) <= 20
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt in (13, 14)
    numbered = [p.text for p in document.paragraphs if p.text[:3] in ("I. ", "II.", "III", "IV.", "V. ", "VI.", "VII")]
    assert [text.split(".")[0] for text in numbered] == ["I", "II", "III", "IV", "V", "VI", "VII"]
    marked = [
        run
        for paragraph in document.paragraphs
        for run in paragraph.runs
        if run.font.highlight_color is not None and run.text.startswith("[Cán bộ tổng hợp")
    ]
    assert len(marked) == 3
    # Column widths fill the text width (165 mm) in the grid LibreOffice reads and in the cells
    # Word reads: the header's national title on one line, names of units not cut word by word.
    cm = 360000  # EMU per centimetre
    header, by_type, by_unit = document.tables[:3]
    for table in (header, by_type, by_unit):
        widths = [column.width for column in table.columns]
        assert round(sum(widths) / cm, 1) == 16.5
        assert all(cell.width == widths[index] for row in table.rows for index, cell in enumerate(row.cells))
    assert [round(column.width / cm, 1) for column in header.columns] == [6.3, 10.2]
    unit_name, number = (by_unit.columns[index].width / cm for index in (1, 2))
    assert unit_name > 3.5 and number > 1.3 and by_unit.columns[0].width / cm >= 0.9


async def test_chart_shows_data(app: App, tmp_path: Path) -> None:
    bundle = await _bundle(app, tmp_path)
    path = bundle.file(".png")
    assert path is not None and path.name == "chart.png"
    with Image.open(path) as image:
        assert image.width >= 900 and image.height >= 700
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None
    # The three series colours are drawn (bars), not just the white page and the text.
    drawn = {colour for count, colour in colours if count > 500}
    assert {(0x1F, 0x77, 0xB4), (0x2C, 0xA0, 0x2C), (0xD6, 0x27, 0x28)} <= drawn


@pytest.mark.parametrize("unit_code", ["29416"])
async def test_unit_report_counts_only_that_unit(app: App, tmp_path: Path, unit_code: str) -> None:
    data = await reports_dataset.build(app)
    period = periods.parse("2026-W47", app.services.local_now().date(), app.config.reports)
    async with app.db.unit_of_work() as uow:
        bundle = await service.build(
            uow, app.services, period, tmp_path, unit=(data.unit_a, A), case_list=True, report=False
        )
    text = plain_text(bundle.text)
    assert "đơn vị Thị trấn Cầu Ngang" in text
    assert "Tiếp nhận mới: 2" in text and "Theo loại: Phản ánh 1, Câu hỏi 1" in text
    assert "Đúng hạn: 2/3 (66,7%)" in text and "CN-2026-00007" in text and "CN-2026-00005" not in text
    assert "Hỏi đáp" not in text  # the FAQ is district-wide
    rows = _values(load_workbook(tmp_path / "cases.xlsx")["Hồ sơ"], 2)
    assert sorted(row[0] for row in rows) == ["CN-2026-00001", "CN-2026-00003", "CN-2026-00006", "CN-2026-00007"]


async def test_denouncer_identity_never_appears(app: App, tmp_path: Path) -> None:
    out = tmp_path / "out"
    bundle = await _bundle(app, out)
    secrets = (DENOUNCER_NAME, DENOUNCER_PHONE, DENOUNCER_ADDRESS, "Bímật")
    outputs = [bundle.text]
    for name in ("annex.xlsx", "cases.xlsx"):
        book = load_workbook(out / name)
        outputs += [str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row]
    document = Document(str(out / "report.docx"))
    outputs += [p.text for p in document.paragraphs]
    outputs += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    joined = "\n".join(outputs)
    assert "CN-2026-00004" in joined  # the denunciation itself is counted and listed
    for secret in secrets:
        assert secret not in joined
    for name in ("annex.xlsx", "cases.xlsx", "report.docx"):
        with zipfile.ZipFile(out / name) as archive:
            for member in archive.namelist():
                content = archive.read(member).decode("utf-8", errors="replace")
                for secret in secrets:
                    assert secret not in content, f"{name}:{member}"
