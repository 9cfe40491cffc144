"""Charts drawn on the server as inline SVG: no script, no library, a few kilobytes.

The monthly trend is two bars a month (received, finished). The map places rounded points in
Web Mercator; with a tile URL configured (OpenStreetMap), the tiles under them are ``<image>``
elements the browser fetches; without one, the points stand alone on a plain background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

TILE = 256


@dataclass(frozen=True)
class Bar:
    label: str
    received: int
    finished: int


def trend(bars: list[Bar], title_id: str) -> str:
    """Received and finished cases by month, as an SVG bar chart labelled by ``title_id``."""
    width, height, left, bottom, top = 640, 220, 44, 28, 12
    peak = max([1, *(max(b.received, b.finished) for b in bars)])
    step = (width - left - 8) / max(1, len(bars))
    bar = step * 0.36
    plot = height - bottom - top
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{title_id}" class="chart" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{round(peak * fraction)}</text>')
    for index, item in enumerate(bars):
        x = left + index * step + step * 0.12
        for offset, value, css in ((0.0, item.received, "received"), (bar, item.finished, "finished")):
            h = plot * value / peak
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot - h:.1f}" width="{bar:.1f}" height="{h:.1f}" class="{css}"/>'
            )
        parts.append(f'<text x="{x + bar:.1f}" y="{height - 10}" text-anchor="middle">{escape(item.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    closed: bool
    note: str  # what the point tells on hover: the published text, or only its state


def _world(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel coordinates of a point at a zoom level."""
    scale = TILE * 2**zoom
    x = (lon + 180.0) / 360.0 * scale
    sin = math.sin(math.radians(max(-85.0, min(85.0, lat))))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale
    return x, y


def map_svg(points: list[Point], tile_url: str, attribution: str, title_id: str, width: int = 640) -> str:
    """The points on a map ``width`` pixels wide (height 3/4 of it), tiles under them if given."""
    height = width * 3 // 4
    lats = [p.lat for p in points] or [9.8]
    lons = [p.lon for p in points] or [106.45]
    zoom = 16
    while zoom > 3:
        x0, y1 = _world(min(lats), min(lons), zoom)
        x1, y0 = _world(max(lats), max(lons), zoom)
        if x1 - x0 <= width * 0.9 and y1 - y0 <= height * 0.9:
            break
        zoom -= 1
    cx, cy = _world((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2, zoom)
    left, top = cx - width / 2, cy - height / 2
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{title_id}" class="map" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<rect width="{width}" height="{height}" class="land"/>',
    ]
    if tile_url:
        for tx in range(int(left // TILE), int((left + width) // TILE) + 1):
            for ty in range(int(top // TILE), int((top + height) // TILE) + 1):
                url = tile_url.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
                parts.append(
                    f'<image href="{escape(url)}" x="{tx * TILE - left:.0f}" y="{ty * TILE - top:.0f}" '
                    f'width="{TILE}" height="{TILE}"/>'
                )
    for point in points:
        x, y = _world(point.lat, point.lon, zoom)
        css = "closed" if point.closed else "open"
        parts.append(
            f'<circle cx="{x - left:.1f}" cy="{y - top:.1f}" r="7" class="{css}"><title>{escape(point.note)}</title></circle>'
        )
    if tile_url and attribution:
        parts.append(
            f'<text x="{width - 4}" y="{height - 4}" text-anchor="end" class="credit">{escape(attribution)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
