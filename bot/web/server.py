"""The public page's HTTP server (aiohttp): routes, view models, and running it.

Pages render from the cached snapshot (:class:`bot.reports.public.SnapshotCache`) and never
touch the database; Open311 reads through :mod:`storage.public_queries` in read-only units of
work. Nothing here accepts a write. Responses carry a strict Content-Security-Policy: the
pages need no script at all, and images only from this site and the tile server.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.app import App
from bot.reports import public
from bot.reports.figures import Cell, Figures
from bot.web import open311, svg
from bot.web.keys import APP, SNAPSHOT

log = logging.getLogger(__name__)

PERIOD_LABELS = {"month": "Tháng này", "quarter": "Quý này", "year": "Năm nay"}
PERIOD_WORDS = {"thang": "month", "quy": "quarter", "nam": "year"}
ANSWERS_ON_PAGE = 50

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.web", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def number(value: float | int | None, decimals: int = 0) -> str:
    """Vietnamese style: 1.234 and 4,5; a dash for nothing."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{number(value, 1)} %"


_templates.filters["number"] = number
_templates.filters["percent"] = percent


def row_of(name: str, cell: Cell, code: str | None = None) -> dict[str, Any]:
    """One table row of figures, as shown and as the CSV writes it."""
    return {
        "name": name,
        "code": code,
        "received": cell.received,
        "finished": cell.finished,
        "on_time_rate": cell.on_time_rate,
        "average_days": cell.average_days,
        "open": cell.open,
        "overdue": cell.overdue,
        "ratings": cell.ratings,
        "average_score": cell.average_score,
    }


def unit_rows(snapshot: public.Snapshot, figures: Figures) -> list[dict[str, Any]]:
    """A row per commune, one for every other unit together, and the total: they add up."""
    by_unit = figures.by_unit()
    rows = [row_of(unit.name, by_unit.get(unit.id or 0, Cell()), unit.code) for unit in snapshot.communes]
    communes = {unit.id for unit in snapshot.communes}
    others = Cell()
    for unit_id, cell in by_unit.items():
        if unit_id not in communes:
            others.add(cell)
    rows.append(row_of("Cơ quan khác (thanh tra, phòng ban)", others))
    rows.append(row_of("Toàn huyện", figures.total()))
    return rows


def _type_name(app: App, case_type: str) -> str:
    return app.services.catalog.bind("vi")(f"case_type.{case_type}")


def type_rows(app: App, cells: dict[str, Cell]) -> list[dict[str, Any]]:
    return [row_of(_type_name(app, case_type), cell) for case_type, cell in cells.items()]


def trend_svg(snapshot: public.Snapshot, title_id: str, unit_id: int | None = None) -> tuple[str, list[svg.Bar]]:
    bars = []
    for month in snapshot.trend:
        cell = month.total() if unit_id is None else month.by_unit().get(unit_id, Cell())
        bars.append(svg.Bar(month.period.start.strftime("%m/%y"), cell.received, cell.finished))
    return svg.trend(bars, title_id), bars


def _period(request: web.Request) -> str:
    return PERIOD_WORDS.get(request.query.get("ky", ""), "month")


def _render(name: str, **context: Any) -> web.Response:
    return web.Response(text=_templates.get_template(name).render(**context), content_type="text/html")


def _common(request: web.Request, snapshot: public.Snapshot, title: str, current: str) -> dict[str, Any]:
    app = request.app[APP]
    tz = app.services.config.deployment.tz
    return {
        "title": title,
        "site": app.services.config.deployment.name,
        "current": current,
        "built_at": snapshot.built_at.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
        "communes": snapshot.communes,
    }


async def overview(request: web.Request) -> web.Response:
    snapshot = await request.app[SNAPSHOT].get()
    app = request.app[APP]
    period = _period(request)
    figures = snapshot.periods[period]
    chart, bars = trend_svg(snapshot, "trend-title")
    return _render(
        "overview.html",
        **_common(request, snapshot, "Kết quả tiếp nhận, giải quyết phản ánh, kiến nghị", "overview"),
        period=period,
        period_labels=PERIOD_LABELS,
        period_words={v: k for k, v in PERIOD_WORDS.items()},
        span=figures.period,
        rows=unit_rows(snapshot, figures),
        types=type_rows(app, figures.by_type()),
        chart=chart,
        bars=bars,
    )


async def commune(request: web.Request) -> web.Response:
    snapshot = await request.app[SNAPSHOT].get()
    app = request.app[APP]
    unit = snapshot.commune(request.match_info["code"])
    if unit is None or unit.id is None:
        raise web.HTTPNotFound(text="Không có xã này.")
    columns = []
    for name, figures in snapshot.periods.items():
        cell = figures.by_unit().get(unit.id, Cell())
        columns.append((PERIOD_LABELS[name], figures.period, row_of(unit.name, cell)))
    chart, bars = trend_svg(snapshot, "trend-title", unit.id)
    weekday = app.services.catalog.bind("vi")
    slots = [
        {
            "day": weekday(f"weekday.{slot.weekday}"),
            "start": slot.start,
            "end": slot.end,
            "place": slot.place,
            "host": slot.host,
        }
        for slot in snapshot.reception.get(unit.id, [])
    ]
    answers = [a for a in snapshot.answers if a.unit_id == unit.id][:ANSWERS_ON_PAGE]
    return _render(
        "commune.html",
        **_common(request, snapshot, unit.name, "commune"),
        unit=unit,
        columns=columns,
        chart=chart,
        bars=bars,
        slots=slots,
        answers=[_answer(app, snapshot, a) for a in answers],
    )


def _answer(app: App, snapshot: public.Snapshot, item: Any) -> dict[str, str]:
    tz = app.services.config.deployment.tz
    return {
        "unit": snapshot.unit_name(item.unit_id),
        "type": _type_name(app, item.type),
        "question": item.question,
        "answer": item.answer,
        "date": item.approved_at.astimezone(tz).strftime("%d/%m/%Y"),
    }


async def answers(request: web.Request) -> web.Response:
    snapshot = await request.app[SNAPSHOT].get()
    app = request.app[APP]
    code = request.query.get("xa", "")
    unit = snapshot.commune(code) if code else None
    wanted_type = request.query.get("loai", "")
    items = [
        a
        for a in snapshot.answers
        if (unit is None or a.unit_id == unit.id) and (not wanted_type or a.type == wanted_type)
    ][:ANSWERS_ON_PAGE]
    types = [(t, _type_name(app, t)) for t in open311.SERVICES]
    return _render(
        "answers.html",
        **_common(request, snapshot, "Câu hỏi và trả lời được công bố", "answers"),
        items=[_answer(app, snapshot, a) for a in items],
        unit=unit,
        wanted_type=wanted_type,
        types=types,
    )


async def map_page(request: web.Request) -> web.Response:
    snapshot = await request.app[SNAPSHOT].get()
    app = request.app[APP]
    config = app.services.config.web
    points = [
        svg.Point(
            round(p.latitude or 0.0, open311.COORDINATE_DECIMALS),
            round(p.longitude or 0.0, open311.COORDINATE_DECIMALS),
            p.closed,
            _point_note(p),
        )
        for p in snapshot.points
    ]
    opened = sum(1 for p in points if not p.closed)
    return _render(
        "map.html",
        **_common(request, snapshot, "Bản đồ phản ánh", "map"),
        chart=svg.map_svg(points, config.tile_url, config.tile_attribution, "map-title"),
        opened=opened,
        closed=len(points) - opened,
        days=public.MAP_DAYS,
        tiles=bool(config.tile_url),
    )


def _point_note(point: Any) -> str:
    state = "Đã giải quyết" if point.closed else "Đang giải quyết"
    if point.question and point.answer:
        return f"{state}. Hỏi: {point.question} — Trả lời: {point.answer}"
    return state


CSV_COLUMNS = (
    ("ky", "period"),
    ("tu_ngay", "start"),
    ("den_ngay", "end"),
    ("don_vi", "name"),
    ("ma_don_vi", "code"),
    ("tiep_nhan", "received"),
    ("da_giai_quyet", "finished"),
    ("ty_le_dung_han", "on_time_rate"),
    ("so_ngay_giai_quyet_tb", "average_days"),
    ("dang_mo", "open"),
    ("qua_han", "overdue"),
    ("luot_danh_gia", "ratings"),
    ("diem_danh_gia_tb", "average_score"),
)


def csv_rows(snapshot: public.Snapshot) -> Iterable[dict[str, Any]]:
    for name, figures in snapshot.periods.items():
        for row in unit_rows(snapshot, figures):
            yield {**row, "period": name, "start": figures.period.start, "end": figures.period.end}


async def figures_csv(request: web.Request) -> web.Response:
    snapshot = await request.app[SNAPSHOT].get()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in CSV_COLUMNS])
    for row in csv_rows(snapshot):
        values = [row[key] for _, key in CSV_COLUMNS]
        writer.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, float) else v) for v in values])
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),  # a BOM: Excel then reads UTF-8
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="so-lieu.csv"'},
    )


# A red square with a white dot: browsers ask for an icon, and a 404 is an error in their console.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#8b0000"/><circle cx="8" cy="8" r="3" fill="#fff"/></svg>'
)


async def favicon(request: web.Request) -> web.Response:
    return web.Response(text=FAVICON, content_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    tiles = request.app[APP].services.config.web.tile_url
    origin = ""
    if tiles:
        parts = urlsplit(tiles.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        origin = f" {parts.scheme}://{parts.netloc}"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'{origin}; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def create_app(app: App, cache: public.SnapshotCache) -> web.Application:
    site = web.Application(middlewares=[security_headers])
    site[APP] = app
    site[SNAPSHOT] = cache
    site.router.add_get("/", overview)
    site.router.add_get("/xa/{code}", commune)
    site.router.add_get("/tra-loi", answers)
    site.router.add_get("/ban-do", map_page)
    site.router.add_get("/so-lieu.csv", figures_csv)
    site.router.add_get("/favicon.ico", favicon)
    open311.add_routes(site)
    return site


def cache_for(app: App) -> public.SnapshotCache:
    return public.SnapshotCache(lambda: public.build(app.db, app.services), app.config.web.refresh_minutes * 60)


@contextlib.asynccontextmanager
async def serving(app: App, host: str | None = None, port: int | None = None) -> Any:
    """Serve the page until the block ends; yields the port (0 picks a free one)."""
    config = app.config.web
    cache = cache_for(app)
    await cache.refresh()  # the first page is never a cold one
    refresher = asyncio.create_task(cache.run(), name="public-figures")
    runner = web.AppRunner(create_app(app, cache), access_log=None)
    await runner.setup()
    # Our own socket, so that port 0 (tests) tells which port it got.
    listener = socket.socket(socket.AF_INET6 if ":" in (host or config.listen) else socket.AF_INET)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host or config.listen, config.port if port is None else port))
        bound = int(listener.getsockname()[1])
        await web.SockSite(runner, listener).start()
        log.info("public page on http://%s:%s", host or config.listen, bound)
        yield bound
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        await runner.cleanup()
        listener.close()
