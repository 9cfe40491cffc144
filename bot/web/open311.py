"""Open311 GeoReport v2, read-only (http://wiki.open311.org/GeoReport_v2), JSON only.

Why this module exists: civic-tech tools read service requests through Open311, as they do
from FixMyStreet's server. Only phản ánh and kiến nghị are service requests here; khiếu nại and
tố cáo are never listed. As FixMyStreet does: ``status`` is open or closed; the list is the
newest first, at most ``MAX_REQUESTS`` a page; ``agency_responsible`` names the commune. And,
for privacy (storage/public_queries.py): ``description`` and ``status_notes`` are only the
question and answer the citizen allowed and an officer approved (empty otherwise), ``lat`` and
``long`` are rounded to 3 decimals (about 100 m), no name, address, phone or media is given,
anonymous petitions are not listed. Without dates, the last 90 days (``DEFAULT_DAYS``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.app import App
from bot.web.keys import APP, SNAPSHOT
from storage.public_queries import PUBLIC_TYPES, PublicQueries, PublicRequest

SERVICES = PUBLIC_TYPES
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
COORDINATE_DECIMALS = 3
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
_DESCRIPTIONS = {
    "phan_anh": "Phản ánh về hạ tầng, môi trường, trật tự ở địa phương",
    "kien_nghi": "Kiến nghị, đề xuất với chính quyền địa phương",
}


def _error(status: int, description: str) -> web.Response:
    """GeoReport v2 errors: a list of {code, description}."""
    return web.json_response([{"code": status, "description": description}], status=status)


def _app(request: web.Request) -> App:
    return request.app[APP]


def _w3c(moment: datetime, request: web.Request) -> str:
    return moment.astimezone(_app(request).services.config.deployment.tz).isoformat(timespec="seconds")


def _base_url(request: web.Request) -> str:
    configured = _app(request).services.config.web.base_url.rstrip("/")
    return configured or f"{request.scheme}://{request.host}"


async def discovery(request: web.Request) -> web.Response:
    snapshot_changeset = "2026-12-08T00:00:00Z"
    name = _app(request).services.config.deployment.name
    return web.json_response(
        {
            "changeset": snapshot_changeset,
            "contact": f"{name}: dùng chatbot tiếp dân (Telegram, Zalo) để liên hệ.",
            "key_service": "Chỉ đọc, không cần khóa.",
            "max_requests": MAX_REQUESTS,
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": f"{_base_url(request)}/open311/v2",
                    "changeset": snapshot_changeset,
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }
    )


async def services(request: web.Request) -> web.Response:
    t = _app(request).services.catalog.bind("vi")
    return web.json_response(
        [
            {
                "service_code": code,
                "service_name": t(f"case_type.{code}"),
                "description": _DESCRIPTIONS.get(code, ""),
                "metadata": False,
                "type": "realtime",
                "keywords": "",
                "group": "",
            }
            for code in SERVICES
        ]
    )


def _parse_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment.astimezone(UTC)


def _positive(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _as_json(request: web.Request, item: PublicRequest) -> dict[str, Any]:
    type_name = _app(request).services.catalog.bind("vi")
    snapshot = request.app[SNAPSHOT].current
    agency = snapshot.unit_name(item.unit_id) if snapshot is not None else str(item.unit_id)
    located = item.latitude is not None and item.longitude is not None
    return {
        "service_request_id": item.code,
        "status": "closed" if item.closed else "open",
        "status_notes": item.answer or "",
        "service_name": type_name(f"case_type.{item.type}"),
        "service_code": item.type,
        "description": item.question or "",
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": _w3c(item.received_at, request),
        "updated_datetime": _w3c(item.updated_at, request),
        "expected_datetime": item.due.isoformat(),
        "address": "",
        "address_id": "",
        "zipcode": "",
        "lat": round(item.latitude, COORDINATE_DECIMALS) if located and item.latitude is not None else None,
        "long": round(item.longitude, COORDINATE_DECIMALS) if located and item.longitude is not None else None,
        "media_url": "",
    }


async def requests(request: web.Request) -> web.Response:
    query = request.query
    now = _app(request).services.clock()
    try:
        end = _parse_moment(query["end_date"]) if query.get("end_date") else None
        start = _parse_moment(query["start_date"]) if query.get("start_date") else None
        page = _positive(query.get("page"), 1)
        size = min(MAX_REQUESTS, _positive(query.get("page_size") or query.get("max_requests"), MAX_REQUESTS))
    except ValueError:
        return _error(
            400, "start_date, end_date: ISO 8601 với múi giờ (2026-12-01T00:00:00+07:00); page, page_size: số dương"
        )
    if start is None and end is None:
        end, start = now, now - timedelta(days=DEFAULT_DAYS)
    elif start is None:
        assert end is not None
        start = end - timedelta(days=DEFAULT_DAYS)
    elif end is None:
        end = start + timedelta(days=DEFAULT_DAYS)
    codes = tuple(code for code in query.get("service_code", "").split(",") if code) or SERVICES
    if any(code not in SERVICES for code in codes):
        return _error(400, f"service_code: một trong {', '.join(SERVICES)}")
    status = query.get("status", "")
    if status not in ("", "open", "closed"):
        return _error(400, "status: open hoặc closed")
    app = _app(request)
    async with app.db.read_only() as uow:
        rows = await PublicQueries(uow.session).requests(
            start=start,
            end=end,
            types=codes,
            closed=None if not status else status == "closed",
            offset=(page - 1) * size,
            limit=size,
        )
    return web.json_response([_as_json(request, row) for row in rows])


async def one_request(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    app = _app(request)
    async with app.db.read_only() as uow:
        row = await PublicQueries(uow.session).request(code)
    if row is None:
        return _error(404, f"Không có yêu cầu {code} công khai.")
    return web.json_response([_as_json(request, row)])


def add_routes(site: web.Application) -> None:
    site.router.add_get("/open311/v2/discovery.json", discovery)
    site.router.add_get("/open311/v2/services.json", services)
    site.router.add_get("/open311/v2/requests.json", requests)
    site.router.add_get("/open311/v2/requests/{code}.json", one_request)
