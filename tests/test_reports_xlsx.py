"""The shared strings of the case list, escaped here, are what XlsxWriter itself would write."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from xlsxwriter import Workbook  # type: ignore[import-untyped]

from bot.reports.workbook import _shared_strings

STRINGS = ["A&B <x>", " lead", "trail ", "ctl\x01x", "_x0041_", "Thị trấn Cầu Ngang", "CN-2026-00001"]


def _items(xml: str) -> list[str]:
    return re.findall(r"<si>(.*?)</si>", xml)


def test_shared_strings_match_xlsxwriter(tmp_path: Path) -> None:
    path = tmp_path / "reference.xlsx"
    workbook = Workbook(str(path))  # not constant_memory: XlsxWriter writes a shared string table
    sheet = workbook.add_worksheet()
    for row, text in enumerate(STRINGS):
        sheet.write_string(row, 0, text)
    workbook.close()
    expected = zipfile.ZipFile(path).read("xl/sharedStrings.xml").decode("utf-8")
    assert _items(_shared_strings(STRINGS)) == _items(expected)
    assert len(_items(expected)) == len(STRINGS)
