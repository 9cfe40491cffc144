"""The labels of the case list, escaped here, are what XlsxWriter itself would write."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from xlsxwriter import Workbook  # type: ignore[import-untyped]

from bot.reports.workbook import _inline

STRINGS = ["A&B <x>", " lead", "trail ", "ctl\x01x", "_x0041_", "Thị trấn Cầu Ngang", "CN-2026-00001"]


def test_inline_strings_match_xlsxwriter(tmp_path: Path) -> None:
    path = tmp_path / "reference.xlsx"
    workbook = Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    for row, text in enumerate(STRINGS):
        sheet.write_string(row, 0, text)
    workbook.close()
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode("utf-8")
    cells = re.findall(r'<c r="A\d+"[^>]*>(.*?)</c>', xml)
    assert cells == [_inline(text) for text in STRINGS]
