"""A real Chromium (Debian's /usr/bin/chromium, driven by Playwright; nothing is downloaded) on the bot
and the WeCom simulator over HTTP. Without Chromium these tests skip, unless FANZHA_REQUIRE_BROWSER=1
(CI sets it), when they fail."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.console.conftest import SECRET

CHROMIUM = os.environ.get("FANZHA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"


def chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("FANZHA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium is needed for the browser tests and is not at {CHROMIUM} "
                        "(apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; CI requires it)")
    return CHROMIUM


_SHARED: dict = {}


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session; each test opens its own context (cookies apart).

    Every browser test module imports this fixture, which makes one session fixture per module: they
    share one Playwright (a second sync Playwright in the same thread refuses to start)."""
    path = chromium_or_skip()
    owner = "browser" not in _SHARED
    if owner:
        from playwright.sync_api import sync_playwright
        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(executable_path=path, headless=True,
                                                                   args=["--no-sandbox"])
    yield _SHARED["browser"]
    if owner:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()


@pytest.fixture
def console_stack(stack_factory):
    """The bot (local log-in) and the simulator, on real sockets."""
    return stack_factory(env={"CONSOLE_LOGIN": "local", "FANZHA_CONSOLE_SECRET": SECRET})


class Desk:
    """One person at a PC: a browser context logged in to the console."""

    def __init__(self, chromium, stack, userid: str):
        self.stack = stack
        self.context = chromium.new_context(viewport={"width": 1360, "height": 860}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.goto(f"{stack.bot_url}/console/login")
        self.page.click(f"button[data-userid='{userid}']")
        self.page.wait_for_url("**/console/**")

    def go(self, path: str):
        self.page.goto(f"{self.stack.bot_url}{path}")
        return self.page

    def shot(self, name: str) -> None:
        """A screenshot for the README (docs/console/NAME.png), when FANZHA_SCREENSHOTS=1."""
        if os.environ.get("FANZHA_SCREENSHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desk(chromium, console_stack):
    """desk("police_duty") → a Desk; every desk is closed after the test."""
    made = []

    def make(userid: str) -> Desk:
        d = Desk(chromium, console_stack, userid)
        made.append(d)
        return d
    yield make
    for d in made:
        d.close()
