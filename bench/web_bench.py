"""Benchmark of the public page (bot/web) on the report bench's synthetic cases, SQLite.

Run from the repository root:

    .venv/bin/python bench/web_bench.py [--db bench/out/web.db] [--cases 1000000] [--requests 200]

The database is filled once with ``python -m bot demo-data --cases N --seed 1`` (as
bench/report_bench.py does; reused while it holds N cases). Then, in one process, with the
page served on a local port as ``python -m bot web`` serves it:

* the time to build the cached snapshot (every figure of the page: this month, quarter and
  year, twelve months of trend, published answers, map points), five times;
* ``--requests`` sequential GETs of each page (overview, year tab, a commune, published
  answers, map, CSV), timed by the client: p50, p95, max;
* the same while the snapshot is being rebuilt (the worst moment: the refresh shares the
  process and the database);
* Open311 ``requests.json`` (read from the database on every call, 1,000 rows a page).

Prints JSON, then a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"


def _prepare(db: Path, cases: int) -> None:
    import sqlite3

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "web.toml").write_text(f'[deployment]\ndata_dir = "{ROOT / "data"}"\n', encoding="utf-8")
    if db.exists():
        with sqlite3.connect(db) as connection:
            if connection.execute("SELECT count(*) FROM cases").fetchone()[0] == cases:
                return
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    env = {**os.environ, "TIEPDAN_DATABASE_URL": f"sqlite:///{db}", "TIEPDAN_CONFIG": str(OUT / "web.toml")}
    subprocess.run(
        [sys.executable, "-m", "bot", "demo-data", "--cases", str(cases), "--seed", "1"], check=True, env=env
    )


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[max(0, int(len(ordered) * 0.95) - 1)],
        "max_ms": 1000 * ordered[-1],
        "n": len(ordered),
    }


async def _measure(db: Path, requests: int) -> dict[str, Any]:
    import aiohttp

    from bot import config as config_module
    from bot.app import open_app
    from bot.reports import public
    from bot.web.server import serving

    config = config_module.load(str(OUT / "web.toml"), {"TIEPDAN_DATABASE_URL": f"sqlite:///{db}"})
    app = await open_app(config)
    result: dict[str, Any] = {}
    builds = []
    for _ in range(5):
        started = time.perf_counter()
        snapshot = await public.build(app.db, app.services)
        builds.append(time.perf_counter() - started)
    result["snapshot_build_s"] = {"median": statistics.median(builds), "runs": builds}
    result["cases_this_year"] = snapshot.periods["year"].total().received
    commune = snapshot.communes[0].code
    pages = ["/", "/?ky=nam", f"/xa/{commune}", "/tra-loi", "/ban-do", "/so-lieu.csv"]
    async with serving(app, "127.0.0.1", 0) as port, aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{port}"

        async def timed(path: str) -> float:
            started = time.perf_counter()
            async with session.get(base + path) as response:
                await response.read()
                assert response.status == 200, path
            return time.perf_counter() - started

        for path in pages:  # warm-up: templates compiled, connections open
            await timed(path)
        per_page = {}
        every: list[float] = []
        for path in pages:
            samples = [await timed(path) for _ in range(requests)]
            per_page[path] = _stats(samples)
            every += samples
        result["pages"] = per_page
        result["all_pages"] = _stats(every)
        # While the snapshot is rebuilt in the same process.
        cache = public.SnapshotCache(lambda: public.build(app.db, app.services), 600)
        during: list[float] = []
        refresh = asyncio.create_task(cache.refresh())
        while not refresh.done():
            for path in pages:
                during.append(await timed(path))
        await refresh
        result["during_refresh"] = _stats(during)
        api = [await timed("/open311/v2/requests.json") for _ in range(20)]
        result["open311_requests_json"] = _stats(api)
    await app.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=str(OUT / "web.db"))
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    db = Path(args.db)
    _prepare(db, args.cases)
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    result = asyncio.run(_measure(db, args.requests))
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    print(json.dumps(result, indent=2, default=str))
    print("\n| page | p50 (ms) | p95 (ms) | max (ms) |\n|---|---:|---:|---:|")
    for path, stats in {
        **result["pages"],
        "all pages": result["all_pages"],
        "all, during a refresh": result["during_refresh"],
        "Open311 requests.json": result["open311_requests_json"],
    }.items():
        print(f"| {path} | {stats['p50_ms']:.1f} | {stats['p95_ms']:.1f} | {stats['max_ms']:.1f} |")


if __name__ == "__main__":
    main()
