"""The web console in Debian's Chromium (headless, driven by Playwright) against real `relay
serve` processes: an operator's first hour through the UI (setup → login → channel → test →
token → copy the key → a relay call with the openai SDK → Logs and Dashboard → a model ratio →
log out), and what a normal user may see. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from relay_harness import REPO, Backend, MockUpstream, RelayServer, Store, fresh_backend, running

from relay.admin.accounts import MSG_CREDENTIALS_WRONG
from relay.store.users import create_user

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
DIST = REPO / "web" / "dist"
SHOTS = REPO / "test-artifacts" / "console"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SECONDS = re.compile(r"^\d+\.\d\d s$")  # a channel test's latency

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium for the module. A missing browser or unbuilt console fails, never skips."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist is missing: cd web && npm ci && npm run build")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


class Tab:
    """One browser context and page on a relay's admin port; records console errors."""

    def __init__(self, context: BrowserContext, page: Page, server: RelayServer) -> None:
        self.context, self.page, self.server = context, page, server
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def goto(self, path: str) -> None:
        await self.page.goto(self.server.admin_url + path)

    async def nav(self, label: str) -> None:
        await (
            self.page.get_by_role("navigation", name="Main")
            .get_by_role("link", name=label, exact=True)
            .click()
        )
        await expect(self.page.get_by_role("heading", level=1, name=label)).to_be_visible()

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    async def sign_in(self, username: str, password: str) -> None:
        form = self.page.get_by_role("form", name="Sign in")
        await form.locator("input[name=username]").fill(username)
        await form.locator("input[name=password]").fill(password)
        await form.get_by_role("button", name="Sign in").click()
        await expect(self.page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()


async def open_tab(browser: Browser, server: RelayServer, **options: Any) -> Tab:
    context = await browser.new_context(viewport=options.pop("viewport", DESKTOP), **options)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.admin_url)
    return Tab(context, await context.new_page(), server)


async def test_operator_journey_through_the_console(
    browser: Browser, backend: Backend, upstream: MockUpstream, tmp_path: Path
) -> None:
    with fresh_backend(backend) as fresh:
        server = RelayServer(
            backend=fresh,
            data_dir=tmp_path / "data",
            extra_env={"INITIAL_ROOT_PASSWORD": "", "INITIAL_ROOT_ACCESS_TOKEN": ""},
        )
        async with running(server):
            await _journey(browser, server, upstream)
    assert "Traceback" not in server.log(), server.log()


async def _journey(browser: Browser, server: RelayServer, upstream: MockUpstream) -> None:
    """The operator's steps in one tab, each checked on screen (and in SQL where it matters)."""
    tab = await open_tab(browser, server)
    page = tab.page
    await tab.goto("/")

    # first-run setup, then sign in
    setup = page.get_by_role("form", name="Setup")
    await setup.locator("input[name=username]").fill("ops")
    await setup.locator("input[name=password]").fill("first-pass-1")
    await setup.locator("input[name=confirmPassword]").fill("first-pass-1")
    await tab.shot("01-setup")
    await setup.get_by_role("button", name="Finish setup").click()
    await expect(page.get_by_role("form", name="Sign in")).to_be_visible()
    await tab.shot("02-login")
    await tab.sign_in("ops", "first-pass-1")

    # a channel to the mock upstream, its models picked from the upstream's list
    await tab.nav("Channels")
    await page.get_by_role("button", name="New channel").click()
    form = page.get_by_role("form", name="Channel")
    await form.locator("input[name=name]").fill("mock upstream")
    await form.locator("input[name=base_url]").fill(upstream.url)
    await form.locator("textarea[name=key]").fill("mock;tag=J;pt=40;ct=10")
    await form.locator("textarea[name=model_mapping]").fill("{not json")
    await expect(form.get_by_text("Not valid JSON")).to_be_visible()
    await form.locator("textarea[name=model_mapping]").fill("")
    await form.get_by_role("button", name="Fetch from upstream").click()
    picker = form.get_by_label("Upstream models")
    await picker.get_by_label("gpt-4o-mini", exact=True).check()
    await tab.shot("03-channel-form")
    await form.get_by_role("button", name="Create channel").click()
    row = page.locator("tr[data-channel='mock upstream']")
    await expect(row).to_be_visible()
    await row.get_by_role("button", name="Test", exact=True).click()
    await expect(row.locator(".latency .ok")).to_have_text(SECONDS)
    await tab.shot("04-channels")

    # the tag filter: a tag no channel has hides the row; the channel's own tag shows it
    tag_filter = page.get_by_role("textbox", name="Filter by tag")
    await tag_filter.fill("no-such-tag")
    await expect(page.get_by_text("No channels")).to_be_visible()
    await tag_filter.fill("")
    await row.get_by_role("checkbox").check()
    await page.get_by_role("textbox", name="Tag", exact=True).fill("journey")
    await page.get_by_role("button", name="Set tag").click()
    await expect(row).to_contain_text("journey")
    await tag_filter.fill("journey")
    await expect(row).to_be_visible()
    await expect(page.locator("tbody tr")).to_have_count(1)
    await tag_filter.fill("")

    # a token; copy its key (revealed on demand) from the clipboard
    await tab.nav("Tokens")
    await page.get_by_role("button", name="New token").click()
    token_form = page.get_by_role("form", name="Token")
    await token_form.locator("input[name=name]").fill("ci")
    await token_form.locator("input[name=quota]").fill("1")
    await token_form.get_by_role("button", name="Create token").click()
    token_row = page.locator("tr[data-token='ci']")
    await expect(token_row).to_contain_text("$1")
    await token_row.get_by_role("button", name="Copy key").click()
    await expect(token_row.get_by_role("button", name="Copied")).to_be_visible()
    key = await page.evaluate("navigator.clipboard.readText()")
    assert key.startswith("sk-") and len(key) == 51, key
    await token_row.get_by_role("button", name="Reveal").click()
    await expect(token_row.get_by_test_id("token-key")).to_have_text(key)
    await tab.shot("05-tokens")

    # a relay call with the openai SDK
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0) as client:
        reply = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
        )
    assert reply.parse().choices[0].message.content.startswith("[J]")
    request_id = reply.headers["X-Oneapi-Request-Id"]
    store = Store(server)
    try:
        await store.wait_drained()

        # the call in Logs, with its billing breakdown
        await tab.nav("Logs")
        await page.locator("input[name=request_id]").fill(request_id)
        await page.get_by_role("button", name="Apply filters").click()
        log_row = page.locator(f"tr[data-request-id='{request_id}']")
        await expect(log_row).to_contain_text("gpt-4o-mini")
        await tab.shot("06-logs")
        await log_row.click()
        drawer = page.get_by_role("dialog")
        await expect(drawer.get_by_text("Model ratio", exact=True)).to_be_visible()
        await expect(drawer).to_contain_text("0.075")
        await expect(drawer.locator(".formula")).to_contain_text("= 6")
        await tab.shot("07-log-detail")
        await drawer.get_by_role("button", name="Close").click()

        # and on the Dashboard
        await tab.nav("Dashboard")
        await expect(page.get_by_test_id("stat-requests")).to_contain_text("1")
        await expect(page.get_by_role("figure", name="Requests · by model")).to_contain_text(
            "gpt-4o-mini"
        )
        await expect(page.get_by_role("figure", name="Requests · by channel")).to_contain_text(
            "mock upstream"
        )
        await tab.shot("08-dashboard")

        # a model ratio changed in the table editor
        await tab.nav("Settings")
        table = page.get_by_role("region", name="Model ratios")
        await table.get_by_role("searchbox", name="Filter models").fill("gpt-4o-mini")
        value = table.get_by_label("gpt-4o-mini Value", exact=True)
        await value.fill("-1")
        await expect(table.get_by_text("Must be a number ≥ 0")).to_be_visible()
        await value.fill("0.15")
        await table.get_by_role("button", name="Save Model ratios").click()
        await expect(page.get_by_role("status").first).to_have_text("Saved")
        stored = await store.scalar("SELECT value FROM options WHERE key = 'ModelRatio'")
        assert orjson.loads(stored)["gpt-4o-mini"] == 0.15
        await tab.shot("09-settings")
        await page.get_by_role("tab", name="Audio ratios").click()
        audio = page.get_by_role("region", name="Audio ratios")
        await expect(audio.get_by_label("gpt-4o-audio-preview Value", exact=True)).to_have_value(
            "16"
        )

        # quota in the configured display: the token's $1 in CNY at the default 7.3
        display = page.get_by_role("form", name="Quota display")
        await display.locator("select[name='general_setting.quota_display_type']").select_option(
            "CNY"
        )
        await display.get_by_role("button", name="Save").click()
        await expect(display.get_by_role("status")).to_have_text("Saved")
        await tab.nav("Tokens")
        await expect(page.locator("tr[data-token='ci']")).to_contain_text("¥7.30")

        for number, name in enumerate(("Users", "Redemption codes", "Personal settings"), 10):
            await tab.nav(name)
            await tab.shot(f"{number}-{name.lower().replace(' ', '-')}")

        # notifications, on the Personal settings page just opened
        notify = page.get_by_role("form", name="Notifications")
        await notify.locator("select[name=notify_type]").select_option("webhook")
        await notify.locator("input[name=quota_warning_threshold]").fill("0")
        await notify.get_by_role("button", name="Save notifications").click()
        await expect(notify.get_by_role("alert")).to_have_text(
            "The warning threshold must be a number > 0"
        )
        await notify.locator("input[name=quota_warning_threshold]").fill("2")
        await notify.get_by_role("button", name="Save notifications").click()
        await expect(notify.get_by_role("alert")).to_have_text("Webhook URL cannot be empty")
        await notify.locator("input[name=webhook_url]").fill("https://hooks.example/ops")
        await notify.get_by_role("checkbox", name="Record the client IP in my logs").check()
        await notify.get_by_role("button", name="Save notifications").click()
        await expect(page.get_by_role("status").first).to_have_text("Saved")
        setting = orjson.loads(
            await store.scalar("SELECT setting FROM users WHERE username = 'ops'")
        )
        assert setting == {
            "notify_type": "webhook",
            "quota_warning_threshold": round(2 / 7.3 * 500_000),  # ¥2, the display being CNY
            "webhook_url": "https://hooks.example/ops",
            "gotify_priority": 0,
            "record_ip_log": True,
        }
        await page.reload()
        await expect(notify.locator("input[name=webhook_url]")).to_have_value(
            "https://hooks.example/ops"
        )
    finally:
        await store.close()

    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("form", name="Sign in")).to_be_visible()
    assert tab.errors == []
    await tab.context.close()


async def test_normal_user_sees_no_admin_pages(
    browser: Browser, relay: RelayServer, store: Store
) -> None:
    async with store.engine.begin() as conn:
        await create_user(conn, "plainuser", "plain-pass-1")
    tab = await open_tab(browser, relay)
    page = tab.page
    await tab.goto("/login")
    form = page.get_by_role("form", name="Sign in")
    await form.locator("input[name=username]").fill("plainuser")
    await form.locator("input[name=password]").fill("wrong-pass-1")
    await form.get_by_role("button", name="Sign in").click()
    await expect(form.get_by_role("alert")).to_have_text(MSG_CREDENTIALS_WRONG)
    await tab.sign_in("plainuser", "plain-pass-1")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link")).to_have_text(
        ["Dashboard", "Tokens", "Logs", "Personal settings"]
    )
    for path in ("/channels", "/users", "/redemptions", "/settings"):
        await tab.goto(path)
        await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await tab.shot("13-user-forbidden")
    await tab.goto("/logs")
    await expect(page.get_by_role("columnheader", name="User")).to_have_count(0)
    assert tab.errors == []
    await tab.context.close()


async def test_register_language_theme_and_phone(browser: Browser, relay: RelayServer) -> None:
    tab = await open_tab(browser, relay, viewport=PHONE)
    page = tab.page
    await tab.goto("/register")
    form = page.get_by_role("form", name="Register")
    await form.locator("input[name=username]").fill("newcomer")
    await form.locator("input[name=password]").fill("newcomer-pass")
    await form.locator("input[name=confirm]").fill("newcomer-pass")
    await form.get_by_role("button", name="Create account").click()
    await tab.sign_in("newcomer", "newcomer-pass")
    await tab.shot("14-phone-dashboard")

    await page.get_by_role("button", name="Menu").click()
    await expect(page.get_by_role("link", name="Tokens")).to_be_visible()
    await page.get_by_role("button", name="Theme").click()
    await page.get_by_role("button", name="Language").click()
    await expect(page.get_by_role("heading", level=1, name="仪表盘")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", level=1, name="仪表盘")).to_be_visible()
    assert await page.evaluate("document.documentElement.dataset.theme") == "dark"
    await tab.shot("15-phone-dark-zh")
    assert tab.errors == []
    await tab.context.close()
