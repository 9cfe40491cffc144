"""The public page in a real browser: Debian's Chromium driven by Playwright's Python API.

Every page at a phone's width (360 px) and a desktop's (1280 px): it loads without a console
error, says lang="vi", has one h1, tables with header cells, labelled charts and form fields,
shows the database's figures, and carries none of the demo people's data. A screenshot of each
is kept in tests/output/web/ (not committed) to look at. Chromium comes from the Debian package
(.ci/run installs it); without it these tests FAIL: a skipped browser test proves nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import ConsoleMessage, Page, async_playwright

from bot.app import App
from bot.reports.public import build
from tests.web_helpers import personal_data, running_page

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parent / "output" / "web"
WIDTHS = {"phone": 360, "desktop": 1280}


async def _accessible(page: Page, url: str) -> None:
    """What a screen reader needs from our pages."""
    assert await page.evaluate("document.documentElement.lang") == "vi", url
    assert await page.locator("h1").count() == 1, url
    assert await page.locator("main").count() == 1 and await page.locator("nav[aria-label]").count() >= 1, url
    for table in await page.locator("table").all():
        assert await table.locator("th").count() > 0, url
    for graphic in await page.locator("svg[role=img]").all():
        label = await graphic.get_attribute("aria-labelledby")
        assert label and await page.locator(f"#{label}").inner_text(), url
    for field in await page.locator("select, input").all():
        field_id = await field.get_attribute("id")
        assert field_id and await page.locator(f"label[for={field_id}]").count() == 1, url


def _vi(value: int) -> str:
    return f"{value:,}".replace(",", ".")


@pytest.fixture
def chromium() -> Path:
    """The browser, or a failure (never a skip); and the screenshots' folder."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install -y chromium (.ci/run does)"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


async def test_every_page_in_chromium_at_phone_and_desktop_width(app: App, backend: str, chromium: Path) -> None:
    async with running_page(app) as base, async_playwright() as playwright:
        snapshot = await build(app.db, app.services)
        secrets = await personal_data(app)
        commune = snapshot.communes[0]
        pages = {
            "tong-quan": "/",
            "nam": "/?ky=nam",
            "xa": f"/xa/{commune.code}",
            "tra-loi": "/tra-loi",
            "ban-do": "/ban-do",
        }
        browser = await playwright.chromium.launch(executable_path=str(chromium))
        try:
            for width_name, width in WIDTHS.items():
                context = await browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=1)
                page = await context.new_page()
                errors: list[str] = []
                page.on("console", lambda message, errors=errors: _record(message, errors))
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                for name, path in pages.items():
                    response = await page.goto(base + path)
                    assert response is not None and response.status == 200, path
                    await _accessible(page, path)
                    content = await page.content()
                    leaked = [s for s in secrets if s in content]
                    assert not leaked, (path, leaked[:3])
                    await page.screenshot(path=OUTPUT / f"{backend}-{name}-{width_name}.png", full_page=True)
                    # Nothing wider than the screen but the tables' own scrolling boxes.
                    assert await page.evaluate("document.documentElement.scrollWidth") <= width + 1, (path, width)
                assert errors == [], errors
                # The figures the browser shows are the database's (figures.collect).
                await page.goto(base + "/")
                total = snapshot.periods["month"].total()
                shown = page.locator('#units tr.total td[data-k="received"]')
                assert await shown.inner_text() == _vi(total.received)
                row = page.locator(f'#units tr[data-unit="{commune.code}"] td[data-k="overdue"]')
                cell = snapshot.periods["month"].by_unit().get(commune.id or 0)
                assert await row.inner_text() == _vi(cell.overdue if cell else 0)
                await page.goto(base + "/tra-loi")
                await page.select_option("#xa", commune.code)
                await page.click("button[type=submit]")
                assert f"xa={commune.code}" in page.url
                await context.close()
        finally:
            await browser.close()


def _record(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type in ("error", "warning"):
        errors.append(f"{message.type}: {message.text}")
