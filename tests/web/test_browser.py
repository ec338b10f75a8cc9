"""The web catalogue in a real browser (headless Chromium through Playwright): search, an
extension page with its README, a hostile README that must run nothing, paging; screenshots of
the catalogue and an extension page go to docs/screenshots/ for the README."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from registry.app import create_app
from registry.config import Config
from registry.handlers.pages import PAGE_SIZE
from tests.support.factories import make_user
from tests.support.registry import SOURCE_MAP, bundle_for, manifest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ICON = (
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA2NCA2NCI+PHJlY3Qgd2lkdGg9IjY0IiBoZWln"
    "aHQ9IjY0IiByeD0iMTIiIGZpbGw9IiMwZDVjOGMiLz48dGV4dCB4PSIzMiIgeT0iNDIiIGZvbnQtc2l6ZT0iMjgiIHRleHQtYW5jaG9yPSJt"
    "aWRkbGUiIGZpbGw9IiNmZmYiPldDPC90ZXh0Pjwvc3ZnPg=="
)
README = """# Word count

Counts the words in the open file and shows the total in the status bar.

## Usage

1. Open a file.
2. Read the **word count** next to the cursor position.

| setting | default |
|---|---|
| `wordCount.ignoreCode` | `true` |
"""
HOSTILE = """# Totally harmless

<script>document.title = "pwned"; window.pwned = true; alert("script")</script>
<img src=x onerror="document.title='pwned'; window.pwned = true; alert('onerror')">
<a href="javascript:window.pwned = true">click me</a>
<svg onload="window.pwned = true"></svg>
<iframe srcdoc="<script>parent.pwned = true</script>"></iframe>
<p style="background:url(javascript:alert(1))">still here</p>
"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")


@pytest.fixture
async def server(config: Config) -> AsyncIterator[str]:
    """The real app on a free port of 127.0.0.1, for the browser."""
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def _publish(session: aiohttp.ClientSession, base: str, token: str, extension_id: str, **fields: Any) -> None:
    body = {
        "extension_id": extension_id,
        "manifest": manifest(**fields),
        "bundle": bundle_for("1.0.0"),
        "source_map": SOURCE_MAP,
        "version": "1.0.0",
    }
    async with session.post(f"{base}/api/publish", json=body, headers={"Authorization": f"token {token}"}) as r:
        assert r.status == 201, await r.text()


async def test_the_catalogue_in_a_browser(server: str, db: asyncpg.Connection) -> None:
    from playwright.async_api import async_playwright

    alice = await make_user(db, "alice")
    async with aiohttp.ClientSession() as session:
        await _publish(
            session, server, alice.token, "alice/word-count", readme=README, icon=ICON, tags=["words", "status-bar"]
        )
        await _publish(
            session,
            server,
            alice.token,
            "alice/harmless",
            title="Harmless",
            description="Nothing to see.",
            readme=HOSTILE,
        )
        for n in range(PAGE_SIZE):
            await _publish(
                session, server, alice.token, f"alice/tool-{n:02}", title=f"Tool {n:02}", description=f"Tool #{n}."
            )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            dialogs: list[str] = []
            errors: list[str] = []

            async def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                await dialog.dismiss()

            page.on("dialog", on_dialog)
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))

            # search finds the published extension, through the form (no script involved)
            await page.goto(f"{server}/extensions")
            assert await page.title() == "Extensions · Wharf"
            await page.get_by_label("Search", exact=True).fill("word")
            await page.get_by_role("button", name="Search").click()
            await page.wait_for_url("**/extensions?q=word*")
            results = page.locator(".card-title a")
            assert await results.all_inner_texts() == ["Word count"]
            # the stylesheet applied despite the strict policy
            header = await page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
            assert header == "rgb(18, 50, 74)"
            await page.goto(f"{server}/extensions?sort=downloads")
            await page.screenshot(path=str(SCREENSHOTS / "catalogue.png"))

            # its page shows the rendered README
            await page.goto(f"{server}/extensions?q=word")
            await results.first.click()
            await page.wait_for_url("**/extensions/alice/word-count")
            assert await page.locator("h1").inner_text() == "Word count"
            readme = page.locator(".readme")
            assert await readme.locator("h4", has_text="Usage").count() == 1
            assert await readme.locator("strong").inner_text() == "word count"
            assert await readme.locator("td code").first.inner_text() == "wordCount.ignoreCode"
            assert await page.locator("img.icon").evaluate("img => img.naturalWidth") > 0
            await page.screenshot(path=str(SCREENSHOTS / "extension.png"))

            assert errors == []  # nothing refused by the policy, nothing missing

            # a hostile README runs nothing
            await page.goto(f"{server}/extensions/alice/harmless")
            await page.locator(".readme").get_by_text("click me").click()
            await page.wait_for_timeout(200)
            assert await page.title() == "Harmless · Wharf"
            assert await page.evaluate("() => window.pwned === undefined")
            assert await page.locator(".readme").get_by_text("still here").count() == 1
            assert dialogs == []
            # the sanitized <img src=x> is a broken image; nothing is reported about a script
            assert all("Content Security Policy" not in error for error in errors), errors
            errors.clear()

            # paging: the first page holds PAGE_SIZE, "Next" leads to the rest
            await page.goto(f"{server}/extensions")
            first = await results.all_inner_texts()
            assert len(first) == PAGE_SIZE
            await page.get_by_role("link", name="Next").click()
            await page.wait_for_url("**/extensions?cursor=*")
            second = await results.all_inner_texts()
            assert len(second) == 2 and not set(first) & set(second)
            assert await page.get_by_role("link", name="Next").count() == 0
            assert sorted(first + second) == sorted(["Word count", "Harmless", *(f"Tool {n:02}" for n in range(20))])
            assert errors == []
            await context.close()
        finally:
            await browser.close()
    for name in ("catalogue.png", "extension.png"):
        assert (SCREENSHOTS / name).stat().st_size > 1000
