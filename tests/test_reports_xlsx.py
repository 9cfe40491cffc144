"""The case rows written as sheet XML are what XlsxWriter itself would write."""

from __future__ import annotations

import re
import zipfile
from datetime import datetime
from pathlib import Path

from xlsxwriter import Workbook  # type: ignore[import-untyped]

from bot.reports.workbook import _inline, _serial

STRINGS = ["A&B <x>", " lead", "trail ", "ctl\x01x", "_x0041_", "Thị trấn Cầu Ngang", "CN-2026-00001"]
MOMENTS = [datetime(2026, 11, 23, 14, 35, 12), datetime(2026, 1, 1), datetime(1900, 2, 28, 6), datetime(1900, 3, 1)]


def test_inline_strings_and_serials_match_xlsxwriter(tmp_path: Path) -> None:
    path = tmp_path / "reference.xlsx"
    workbook = Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
    for row, text in enumerate(STRINGS):
        sheet.write_string(row, 0, text)
    for row, moment in enumerate(MOMENTS, start=len(STRINGS)):
        sheet.write_datetime(row, 0, moment, stamp)
    workbook.close()
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode("utf-8")
    cells = re.findall(r'<c r="A\d+"[^>]*>(.*?)</c>', xml)
    assert cells[: len(STRINGS)] == [_inline(text) for text in STRINGS]
    assert cells[len(STRINGS) :] == [f"<v>{_serial(moment)}</v>" for moment in MOMENTS]
