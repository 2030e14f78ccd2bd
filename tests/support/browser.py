"""The console in a real headless browser: Debian's Chromium driven by Playwright.

One Chromium per test session (per xdist worker), a fresh browser context (no cookies, no
storage) per test. `console` serves the app on a fresh copy of the demo county under uvicorn on
127.0.0.1 and makes staff accounts in its database; `sign_in` goes through the real sign-in form;
`screenshot` keeps a page as an artefact under artifacts/screenshots/<engine>/.

Chromium is not optional: without it the tests fail (never skip), saying how to install it.
Playwright's own browser downloads are never used: the Debian package is the browser we test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    async_playwright,
)
from sqlalchemy.ext.asyncio import AsyncSession

from auth.users import add_user
from gateway.app import create_app
from gateway.database import Database
from gateway.settings import Settings
from tests.support.servers import serving
from tests.support.sql import sql

CHROMIUM = Path(os.environ.get("LIG_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "The console's end-to-end tests need Debian's Chromium at {path}: install it with "
    "`sudo apt-get install chromium` (CI does), or point LIG_TEST_CHROMIUM at a Chromium binary. "
    "Playwright's downloaded browsers are not used."
)
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# Long enough for a page on a loaded CI machine, short enough that a missing element fails fast.
TIMEOUT_MS = 15_000

T = TypeVar("T")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Chromium, launched once per session (once per xdist worker)."""
    if not CHROMIUM.is_file():
        pytest.fail(INSTALL_HINT.format(path=CHROMIUM), pytrace=False)
    async with async_playwright() as playwright:
        try:
            launched = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
        except Exception as error:  # any launch failure gets the same advice
            pytest.fail(f"{INSTALL_HINT.format(path=CHROMIUM)}\nLaunch failed: {error}")
        try:
            yield launched
        finally:
            await launched.close()


async def new_context(browser: Browser, **options: Any) -> BrowserContext:
    """A context as a person at a desk would have one: Chinese, a laptop's screen."""
    options.setdefault("locale", "zh-CN")
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = await browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@dataclass
class Problems:
    """What a page did wrong besides the test's own checks: script errors, console errors
    (a Content-Security-Policy refusal is one) and sub-resources that failed to load."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.seen.append(f"script error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        # A page answered 401/403/404 on purpose is logged by Chromium as a failed load; the
        # responses themselves are checked below, by resource type.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.seen.append(f"console error: {message.text}")

    def _response(self, response: Response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.seen.append(f"{response.status} for {response.url}")


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser context (cookies, storage, cache) for one test."""
    made = await new_context(browser)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A tab in the test's context; the test fails if its pages had script or loading errors."""
    problems = Problems()
    tab = await context.new_page()
    problems.watch(tab)
    yield tab
    if problems.seen:
        pytest.fail("the pages had problems:\n" + "\n".join(problems.seen), pytrace=False)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    password: str
    role: str
    region: str | None

    @property
    def subject(self) -> str:
        """The name the audit trail gives the person."""
        return f"user:{self.username}"


@dataclass(frozen=True, slots=True)
class Console:
    """The app served for real on a fresh demo county, with ways into its database."""

    base: str
    database_url: str
    engine: str

    def url(self, path: str) -> str:
        return self.base + path

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        return await sql(self.database_url, statement, **params)

    async def in_unit_of_work(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a unit of work of its own (committed when it returns)."""
        db = Database(Settings(database_url=self.database_url))
        try:
            async with db.unit_of_work() as session:
                return await work(session)
        finally:
            await db.dispose()

    async def add_user(
        self, role: str, region: str | None = None, username: str | None = None
    ) -> Account:
        """A staff account with a generated password, as `lig users add` makes one."""
        name = username or f"e2e-{role}-{secrets.token_hex(3)}"

        async def make(session: AsyncSession) -> str:
            _, password = await add_user(session, name, f"测试 {name}", role, region)
            return password

        return Account(name, await self.in_unit_of_work(make), role, region)


@pytest.fixture
async def console(demo_url: str, engine: str) -> AsyncIterator[Console]:
    """The gateway on a fresh demo county, served on 127.0.0.1 for the browser."""
    # As the API tests run it: no background comparison, webhook sending or frequent sealing.
    settings = Settings(
        database_url=demo_url,
        compare_interval_seconds=0,
        webhook_poll_seconds=0,
        audit_seal_interval=3600,
    )
    with serving(create_app(settings)) as base:
        yield Console(base, demo_url, engine)


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


async def submit(page: Page, button: Locator) -> Response:
    """Click a button that submits a form (or follows a link); the response the browser ended
    on, after any redirects."""
    async with page.expect_navigation() as navigation:
        await button.click()
    response = await navigation.value
    assert response is not None, "the click did not navigate"
    return response


async def goto(page: Page, url: str) -> Response:
    response = await page.goto(url)
    assert response is not None, f"no response for {url}"
    return response


async def fill_sign_in(page: Page, account: Account, password: str | None = None) -> Response:
    """Fill the authorization server's sign-in form the page shows and send it."""
    assert path_of(page) == "/oauth/authorize", f"not the sign-in page: {page.url}"
    await page.locator("#username").fill(account.username)
    await page.locator("#password").fill(account.password if password is None else password)
    return await submit(page, page.locator("main form button[type=submit]"))


async def sign_in(
    page: Page, console: Console, account: Account, path: str = "/console/warnings"
) -> Response:
    """Ask for a console page, be sent to the sign-in form, sign in, and land on the page."""
    await goto(page, console.url(path))
    response = await fill_sign_in(page, account)
    assert response.status == 200, f"sign-in ended on {response.status} {page.url}"
    assert path_of(page) == urlsplit(path).path, page.url
    return response


async def screenshot(page: Page, engine: str, name: str) -> Path:
    """The whole page as artifacts/screenshots/<engine>/<name>.png."""
    folder = SCREENSHOTS / engine
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    await page.screenshot(path=target, full_page=True, animations="disabled")
    assert target.stat().st_size > 1000, f"an empty screenshot: {target}"
    return target


def number(text: str) -> int:
    """A count as a page shows it (`1,234`)."""
    return int(text.replace(",", "").strip())
