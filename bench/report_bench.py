"""Benchmark of the Nội vụ reports on a million synthetic cases, on SQLite and PostgreSQL.

Run from the repository root:

    .venv/bin/python bench/report_bench.py --backend sqlite [--cases 1000000] [--runs 5]
    .venv/bin/python bench/report_bench.py --backend postgresql [--cases 1000000] [--runs 5]

The database (bench/out/reports.db, or the PostgreSQL database ``tiepdan_bench`` on
$TIEPDAN_TEST_POSTGRES_URL's server, default postgresql://postgres@127.0.0.1:5432/test) is filled
once with ``python -m bot demo-data --cases N --seed 1`` (timed; reused while it holds N cases).
Then each run is a fresh process that opens the app, imports the report libraries, and times:

* the six-month report with all its files: figures, digest text, chart.png, report.docx and
  annex.xlsx (the statutory period of the current year, 1 January to 9 June);
* the weekly digest with all its files: figures, text, chart.png and cases.xlsx (one row per
  case of the last complete ISO week), and the digest message alone (figures, text, chart);
* a bare ``SELECT type, unit_id, count(*) ... GROUP BY type, unit_id`` over each same period,
  the yardstick for the ratio;

the CPU time of its own process for each report (on SQLite the database's work included, not
PostgreSQL's server processes: a figure that a machine shared with other work changes less than
the elapsed time), and reports its peak resident memory (ru_maxrss, the whole process: interpreter, libraries and
data). Prints the medians over the runs as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def _url(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{OUT / 'reports.db'}"
    admin = os.environ.get("TIEPDAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    return admin.rpartition("/")[0] + "/tiepdan_bench"


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "TIEPDAN_DATABASE_URL": url, "TIEPDAN_CONFIG": str(OUT / "bench.toml")}


async def _count_cases(url: str) -> int:
    from sqlalchemy import text

    from storage.uow import Database

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM cases"))).scalar_one())
    except Exception:
        return -1
    finally:
        await db.close()


async def _create_pg(url: str) -> None:
    import asyncpg

    admin = os.environ.get("TIEPDAN_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    connection = await asyncpg.connect(admin)
    try:
        name = url.rpartition("/")[2]
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _vacuum(url: str) -> None:
    """PostgreSQL: statistics and the visibility map (index-only scans), as autovacuum would."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def prepare(backend: str, cases: int) -> float | None:
    """Fill the database with ``cases`` demo cases unless it already holds them; seconds taken."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.toml").write_text(f'[deployment]\ndata_dir = "{ROOT / "data"}"\n', encoding="utf-8")
    url = _url(backend)
    if asyncio.run(_count_cases(url)) == cases:
        if backend == "postgresql":
            asyncio.run(_vacuum(url))
        return None
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(OUT / "reports.db") + suffix).unlink(missing_ok=True)
    else:
        asyncio.run(_create_pg(url))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "demo-data", "--cases", str(cases), "--seed", "1"],
        check=True,
        env=_env(url),
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - started
    if backend == "postgresql":
        asyncio.run(_vacuum(url))
    return elapsed


async def _measure(url: str) -> dict[str, Any]:
    import matplotlib  # noqa: F401  (imported before timing, as in the running bot)
    import xlsxwriter  # noqa: F401
    from docx import Document  # noqa: F401

    from bot import config as config_module
    from bot.app import open_app
    from bot.reports import periods, service
    from storage.report_queries import ReportQueries

    config = config_module.load(str(OUT / "bench.toml"), {"TIEPDAN_DATABASE_URL": url})
    app = await open_app(config, migrate=False)
    tz = config.deployment.tz
    now = app.services.clock()
    today = now.astimezone(tz).date()
    half = periods.half_year(today.year, config.reports)
    week = periods.week_ending(today - timedelta(days=today.weekday() + 1))
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        # Warm-up, as a running bot is: matplotlib's fonts, python-docx's template, first queries.
        day = periods.Period("range", "warm-up", today - timedelta(days=1), today - timedelta(days=1))
        async with app.db.read_only() as uow:
            await service.build(uow, app.services, day, Path(directory) / "warm", case_list=True, report=True)
        # The digest message alone (figures, text, chart), without the case list.
        started = time.perf_counter()
        async with app.db.read_only() as uow:
            await service.build(uow, app.services, week, Path(directory) / "text", case_list=False, report=False)
        result["weekly_message"] = time.perf_counter() - started
        for name, period, case_list, report in (("half_year", half, False, True), ("weekly", week, True, False)):
            started, cpu = time.perf_counter(), time.process_time()
            async with app.db.read_only() as uow:
                bundle = await service.build(
                    uow, app.services, period, Path(directory) / name, case_list=case_list, report=report
                )
            result[name] = time.perf_counter() - started
            result[f"{name}_cpu"] = time.process_time() - cpu
            result[f"{name}_cases"] = bundle.figures.total().received
            result[f"{name}_rows"] = bundle.case_count
            started = time.perf_counter()
            async with app.db.read_only() as uow:
                await ReportQueries(uow.session).bare_group_by(period.window(tz, now))
            result[f"{name}_bare"] = time.perf_counter() - started
    await app.close()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run(backend: str, runs: int) -> list[dict[str, Any]]:
    url = _url(backend)
    results = []
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, __file__, "--measure", url],
            check=True,
            capture_output=True,
            text=True,
            env=_env(url),
            cwd=ROOT,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure))))
        return
    load = prepare(args.backend, args.cases)
    load_before = os.getloadavg()[0]
    results = run(args.backend, args.runs)
    load_after = os.getloadavg()[0]

    def median(key: str) -> float:
        return statistics.median(result[key] for result in results)

    print(f"\n### {args.backend}, {args.cases:,} cases, median of {args.runs} runs\n")
    if load is not None:
        print(f"demo-data load: {load:.0f} s\n")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after\n")

    def runs(key: str) -> str:
        return " / ".join(f"{value:.2f}" for value in sorted(result[key] for result in results))

    print(
        "| report | cases in period | case-list rows | time (s), median | runs (s) | CPU of the bot's process (s),"
        " median | bare GROUP BY (s) | ratio |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for name in ("half_year", "weekly"):
        total, bare = median(name), median(f"{name}_bare")
        rows = results[0][f"{name}_rows"]
        print(
            f"| {name} | {results[0][f'{name}_cases']:,} | {rows:,} | {total:.2f} | {runs(name)} "
            f"| {median(f'{name}_cpu'):.2f} | {bare:.3f} | {total / bare:.0f}x |"
        )
    message = median("weekly_message")
    bare = median("weekly_bare")
    print(
        f"| weekly message only (text + chart) | | | {message:.2f} | {runs('weekly_message')} | | {bare:.3f} "
        f"| {message / bare:.0f}x |"
    )
    print(
        f"\npeak RSS (whole process): median {median('peak_rss_mb'):.0f} MB, max "
        f"{max(r['peak_rss_mb'] for r in results):.0f} MB"
    )
    print("\nall runs: " + json.dumps(results))


if __name__ == "__main__":
    main()
