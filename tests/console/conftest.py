"""The console under test: the bot's Flask app with the demo's local log-in (server-side tests), and
a real Chromium driving the bot and the simulator over HTTP (browser tests, in tests/console/browser.py)."""
from __future__ import annotations

import pytest

from bot.app import create_app
from tests.conftest import demo_config

SECRET = "console-test-secret-0123456789abcdef"


def console_config(db_url: str, api_base: str = "http://127.0.0.1:9", **env):
    return demo_config(db_url, api_base, CONSOLE_LOGIN="local", FANZHA_CONSOLE_SECRET=SECRET, **env)


class Console:
    """The bot's app and its service; `as_(userid)` gives a test client logged in as that person."""

    def __init__(self, config):
        self.app = create_app(config, start_sender=False)
        self.service = self.app.extensions["fanzha"]
        self.config = config

    def client(self):
        return self.app.test_client()

    def as_(self, userid: str):
        c = self.app.test_client()
        c.get("/console/login")
        r = c.post("/console/login/local", data={"userid": userid, "csrf_token": csrf(c)})
        assert r.status_code == 302, r.data.decode()
        return c

    def post(self, client, path: str, data: dict | None = None, **kw):
        """A form sent the way the page sends it: with the session's CSRF token."""
        return client.post(path, data={**(data or {}), "csrf_token": csrf(client)}, **kw)


def csrf(client) -> str:
    with client.session_transaction() as s:
        return s.get("csrf", "")


@pytest.fixture
def console(db_url) -> Console:
    return Console(console_config(db_url))
