"""The public page and Open311, over HTTP on both databases: figures that add up, the API's
shapes and filters, and no personal data in any response."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlmodel import col, func, select

from bot.app import App
from bot.reports import service
from bot.reports.public import build
from bot.services import publishing
from storage.models import Case, PublishedAnswer
from tests.web_helpers import personal_data, running_page

PAGES = ("/", "/?ky=quy", "/?ky=nam", "/tra-loi", "/ban-do", "/so-lieu.csv")


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


def _cells(html: str, table: str) -> dict[str, dict[str, str]]:
    """{row's data-unit: {data-k: text}} of a figures table."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for unit, row in re.findall(r'<tr[^>]*data-unit="([^"]+)">(.*?)</tr>', body, re.S):
        rows[unit] = dict(re.findall(r'data-k="(\w+)">([^<]*)<', row))
    return rows


def _vi(value: int) -> str:
    return f"{value:,}".replace(",", ".")


async def test_page_csv_digest_and_report_show_the_same_figures(app: App, tmp_path: Path) -> None:
    async with running_page(app) as base, aiohttp.ClientSession() as session:
        _, html = await _get(session, base + "/")
        _, text = await _get(session, base + "/so-lieu.csv")
        snapshot = await build(app.db, app.services)
        month = snapshot.periods["month"].period
        # What the weekly digest and the statutory report compute, for the same period.
        async with app.db.read_only() as uow:
            digest = await service.build(uow, app.services, month, tmp_path / "d", case_list=False, report=False)
            report = await service.build(uow, app.services, month, tmp_path / "r", case_list=False, report=True)
        async with app.db.read_only() as uow:
            received = (await uow.session.exec(select(func.count()).select_from(Case))).one()
    assert snapshot.periods["year"].total().received <= received
    page = _cells(html, "units")
    rows = {
        row["ma_don_vi"] or row["don_vi"]: row
        for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        if row["ky"] == "month"
    }
    by_unit = digest.figures.by_unit()
    assert report.figures.by_unit().keys() == by_unit.keys()
    checked = 0
    for unit in snapshot.communes:
        cell = by_unit.get(unit.id or 0)
        if cell is None:
            continue
        other = report.figures.by_unit()[unit.id or 0]
        assert (cell.received, cell.finished, cell.overdue, cell.on_time) == (
            other.received,
            other.finished,
            other.overdue,
            other.on_time,
        )
        assert page[unit.code]["received"] == _vi(cell.received)
        assert page[unit.code]["finished"] == _vi(cell.finished)
        assert page[unit.code]["overdue"] == _vi(cell.overdue)
        assert page[unit.code]["open"] == _vi(cell.open)
        assert int(rows[unit.code]["tiep_nhan"]) == cell.received
        assert int(rows[unit.code]["qua_han"]) == cell.overdue
        assert int(rows[unit.code]["luot_danh_gia"]) == cell.ratings
        checked += 1
    assert checked >= 5
    total = digest.figures.total()
    assert page["Toàn huyện"]["received"] == _vi(total.received)
    assert int(rows["Toàn huyện"]["da_giai_quyet"]) == total.finished
    assert _vi(total.received) in digest.text  # the digest's message says the same number


async def test_open311_lists_phan_anh_and_kien_nghi_as_the_spec_says(app: App) -> None:
    async with running_page(app) as base, aiohttp.ClientSession() as session:
        api = base + "/open311/v2"
        async with session.get(api + "/discovery.json") as response:
            discovery = await response.json()
        assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
        async with session.get(api + "/services.json") as response:
            services = await response.json()
        assert [s["service_code"] for s in services] == ["phan_anh", "kien_nghi"]
        assert services[0]["service_name"] == "Phản ánh" and services[0]["metadata"] is False
        listed: list[dict[str, Any]] = []
        for page in range(1, 100):
            async with session.get(api + f"/requests.json?page={page}&page_size=50") as response:
                batch = await response.json()
            listed += batch
            if len(batch) < 50:
                break
        now = app.services.clock()
        async with app.db.read_only() as uow:
            expected = (
                await uow.session.exec(
                    select(func.count())
                    .select_from(Case)
                    .where(
                        col(Case.type).in_(("phan_anh", "kien_nghi")),
                        col(Case.anonymous).is_(False),
                        Case.received_at >= now - timedelta(days=90),
                    )
                )
            ).one()
        assert len(listed) == expected > 20  # the last 90 days by default, every page
        assert len({r["service_request_id"] for r in listed}) == len(listed)
        assert {r["service_code"] for r in listed} == {"phan_anh", "kien_nghi"}
        assert {r["status"] for r in listed} == {"open", "closed"}
        for row in listed:
            for key in ("lat", "long"):
                assert row[key] is None or round(row[key], 3) == row[key]
            assert row["agency_responsible"]
        async with session.get(api + "/requests.json?status=closed&service_code=kien_nghi") as response:
            closed = await response.json()
        assert closed and {(r["status"], r["service_code"]) for r in closed} == {("closed", "kien_nghi")}
        first = listed[-1]["requested_datetime"]
        async with session.get(
            api + "/requests.json", params={"start_date": first, "end_date": first[:10] + "T23:59:59+07:00"}
        ) as response:
            window = await response.json()
        assert window and all(r["requested_datetime"] >= first for r in window)
        code = listed[0]["service_request_id"]
        async with session.get(api + f"/requests/{code}.json") as response:
            assert (await response.json()) == [listed[0]]
        async with app.db.read_only() as uow:
            complaint = (await uow.session.exec(select(Case).where(Case.type == "khieu_nai"))).first()
        assert complaint is not None
        for bad, status in (
            (f"/requests/{complaint.code}.json", 404),  # a khiếu nại is never a public request
            ("/requests.json?service_code=to_cao", 400),
            ("/requests.json?status=pending", 400),
            ("/requests.json?start_date=yesterday", 400),
            ("/requests.json?page=0", 400),
        ):
            async with session.get(api + bad) as response:
                assert response.status == status, bad
                assert (await response.json())[0]["code"] == status


async def test_an_approved_answer_reaches_open311_masked(app: App) -> None:
    async with running_page(app) as base, aiohttp.ClientSession() as session:
        async with app.db.unit_of_work() as uow:
            case = (
                await uow.session.exec(
                    select(Case).where(
                        Case.type == "phan_anh",
                        col(Case.status) == "closed",
                        col(Case.anonymous).is_(False),
                        col(Case.latitude).is_not(None),
                    )
                )
            ).first()
            assert case is not None
            case.description = "Ống nước vỡ trước nhà bà Út, gọi 0918 765 432"
            case.result = "Đã thay ống, đường đã khô"
            await uow.cases.save(case)
            await uow.session.exec(  # type: ignore[call-overload]
                PublishedAnswer.__table__.delete().where(PublishedAnswer.case_id == case.id)  # type: ignore[attr-defined]
            )
            assert await publishing.consent(uow, case, app.services.clock())
            assert await publishing.approve(uow, case, None, app.services.clock())
        # Open311 reads the database itself: the approval shows at once (pages at the next refresh).
        async with session.get(base + f"/open311/v2/requests/{case.code}.json") as response:
            [row] = await response.json()
        assert row["description"] == "Ống nước vỡ trước nhà bà Út, gọi ***"
        assert row["status_notes"] == "Đã thay ống, đường đã khô"
        assert row["lat"] == round(case.latitude or 0, 3)


async def test_no_response_carries_personal_data(app: App) -> None:
    async with running_page(app) as base, aiohttp.ClientSession() as session:
        secrets = await personal_data(app)
        assert len(secrets) > 100 and any(s.startswith("09") for s in secrets)
        snapshot = await build(app.db, app.services)
        urls = [*PAGES, *(f"/xa/{unit.code}" for unit in snapshot.communes)]
        urls += ["/open311/v2/discovery.json", "/open311/v2/services.json"]
        urls += [f"/open311/v2/requests.json?page={n}&page_size=100" for n in range(1, 6)]
        urls += [f"/open311/v2/requests.json?start_date=2025-{m:02d}-01T00:00:00Z" for m in range(1, 13)]
        seen = 0
        for url in urls:
            status, body = await _get(session, base + url)
            assert status == 200, url
            leaked = [s for s in secrets if s in body]
            assert not leaked, (url, leaked[:3])
            # No coordinate finer than 3 decimals (about 100 m) anywhere.
            assert not re.search(r'"(lat|long)": -?\d+\.\d{4,}', body), url
            seen += len(body)
        assert seen > 100_000


async def test_python_m_bot_web_serves_until_stopped(database_url: str) -> None:
    """The CLI command: the page on the configured port, stopped by its event (SIGTERM's)."""
    import asyncio
    import socket

    from bot.cli import _web
    from tests.conftest import make_config

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = asyncio.Event()
    server = asyncio.create_task(_web(make_config(database_url, web={"port": port}), stop))
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                status, html = await _get(session, f"http://127.0.0.1:{port}/")
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the page never answered")
    assert status == 200 and '<html lang="vi">' in html
    stop.set()
    assert await server == 0
