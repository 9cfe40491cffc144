"""The report and demo-data commands: synthetic cases that respect the calendar, and the files."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

from bot import cli
from bot.app import open_app
from storage.models import Case, CaseContact, CaseEvent, Citizen
from tests.conftest import make_config


async def test_demo_data_then_report_files(database_url: str, tmp_path: Path, capsys: object) -> None:
    config = make_config(database_url, reports={"out_dir": str(tmp_path / "reports")})
    assert await cli._demo_data(config, 400, 7) == 0
    app = await open_app(config, migrate=False)
    try:
        async with app.db.unit_of_work() as uow:
            cases = (await uow.session.exec(select(Case))).all()
            events = (await uow.session.exec(select(CaseEvent))).all()
            citizens = (await uow.session.exec(select(Citizen))).all()
            contacts = (await uow.session.exec(select(CaseContact))).all()
        calendar = app.services.deadlines.calendar
        assert len(cases) == 400 and len(citizens) == 100
        assert {case.type for case in cases} == {"phan_anh", "kien_nghi", "khieu_nai", "to_cao", "hoi_dap"}
        assert {"closed", "resolved", "rejected"} <= {case.status for case in cases}
        assert len({case.code for case in cases}) == 400
        received = {case.id: case for case in cases}
        assert {event.case_id for event in events if event.kind == "received"} == set(received)
        for case in cases:
            expected = app.services.deadlines.on_receipt(case.type, case.received_at)  # type: ignore[arg-type]
            assert case.first_due == expected.first_due
            for moment in (case.accepted_at, case.resolved_at):
                if moment is not None:
                    assert calendar.is_working_day(app.services.deadlines.local_date(moment)), case.code
                    assert moment >= case.received_at
        assert all(contact.full_name and contact.full_name.startswith("Người gửi mẫu") for contact in contacts)
        assert all(c.display_name and c.display_name.startswith("Người dân mẫu") for c in citizens)
    finally:
        await app.close()

    out = tmp_path / "out"
    assert await cli._report(config, "tuan", str(out), None) == 0
    names = sorted(path.name for path in out.iterdir())
    assert names == ["annex.xlsx", "cases.xlsx", "chart.png", "digest.txt", "report.docx"]
    digest = (out / "digest.txt").read_text(encoding="utf-8")
    assert digest.startswith("📊 Tổng hợp Tiếp dân: Từ ") and "Tiếp nhận mới:" in digest and "<b>" not in digest
    rows = list(load_workbook(out / "cases.xlsx")["Hồ sơ"].iter_rows(min_row=2, values_only=True))
    assert rows and all(str(row[0]).startswith("CN-") for row in rows)
    assert await cli._report(config, "2026-13", str(tmp_path / "bad"), None) == 2
    assert await cli._report(config, "tuan", str(tmp_path / "bad"), "NOPE") == 2
