"""Shared fixtures: a fresh migrated database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL points at a server), the demo config, and the bot and the WeCom
simulator running on real sockets.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import load_config
from bot.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
_counter = itertools.count()


def _pg_admin(url: str):
    admin = make_url(url).set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template():
    """A migrated PostgreSQL database that each test copies (CREATE DATABASE … TEMPLATE)."""
    if not PG_URL:
        yield None
        return
    name = f"fanzha_tmpl_{os.getpid()}"
    admin = _pg_admin(PG_URL)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(str(make_url(PG_URL).set(database=name)))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file that each test copies (migrating anew costs a tenth of a second a test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextlib.contextmanager
def fresh_database(folder: Path, pg_template, sqlite_template):
    """A migrated database of its own: a copy of the SQLite template, or a PostgreSQL database made
    from the migrated template (dropped afterwards)."""
    if not pg_template:
        target = folder / "test.db"
        shutil.copyfile(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    name = f"fanzha_t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    admin = _pg_admin(PG_URL)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    try:
        yield str(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def stopping_services():
    """Every Service built inside is stopped on the way out, so that no background thread of one test
    (an inbox's lease keeper, a sender) outlives it and works on a database that is gone."""
    from bot.app import Service
    made, original = [], Service.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)
    Service.__init__ = init
    try:
        yield
    finally:
        Service.__init__ = original
        for service in made:
            service.stop()
            service.engine.dispose()


@pytest.fixture
def db_url(tmp_path, pg_template, sqlite_template):
    """A fresh, migrated database for one test; services built on it stop before it is dropped."""
    with fresh_database(tmp_path, pg_template, sqlite_template) as url, stopping_services():
        yield url


def demo_config(db_url: str, api_base: str = "http://127.0.0.1:9", **env):
    """The shipped config.yaml with the test's database and simulator address."""
    environ = dict(os.environ, DATABASE_URL=db_url, WECOM_API_BASE=api_base, MP_API_BASE=api_base, **env)
    return load_config(ROOT / "config.yaml", env=environ)


@pytest.fixture
def config(db_url):
    return demo_config(db_url)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def settled(service, sim_url: str | None = None) -> bool:
    """Nothing left in flight: the simulator runs no delivery (first tries and WeCom's retries), the bot
    handles no message, and the outbox holds nothing due now. A test waits for this before it checks
    that something did NOT happen (a second reply, a duplicate warning)."""
    from sqlalchemy import func, select
    from bot.models import InboundMessage, OutboxMessage
    from bot.db import utcnow
    if sim_url is not None:
        stats = requests.get(f"{sim_url}/sim/stats", timeout=5).json()
        if stats.get("pending_deliveries", 0) > 0:
            return False
    with service.sessions() as s:
        busy = s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.state == "processing"))
        due = s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state.in_(("pending", "sending")), OutboxMessage.next_attempt_at <= utcnow()))
    return busy == 0 and due == 0


def mass_tasks_recorded(service, n: int) -> bool:
    """True once the bot has recorded n mass-send tasks as created at WeCom (waiting for owners);
    the simulator lists a task a moment before the bot's sender has committed its record."""
    from sqlalchemy import func, select
    from bot.wechat_models import MassSendTask
    with service.sessions() as s:
        return s.scalar(select(func.count()).select_from(MassSendTask)
                        .where(MassSendTask.state == "waiting")) >= n


class _LateApp:
    """A WSGI app set after the socket is bound (the simulator needs the bot's address first)."""

    def __call__(self, environ, start_response):
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"starting"]


class Stack:
    """The bot and the WeCom simulator, each on its own port, talking real HTTP."""

    def __init__(self, db_url: str, handlers=None, callback_timeout: float = 5.0, start_sender: bool = True,
                 token_ttl: int = 7200, sender: dict | None = None, wecom: dict | None = None,
                 mp: dict | None = None, extra_groups: list | None = None, pictures: dict | None = None,
                 env: dict | None = None, qa: dict | None = None):
        from bot.app import create_app
        from bot.netutil import ServerThread
        from bot.simulator import create_simulator

        # both servers bind port 0 first, then learn each other's address: no port race
        self.sim = ServerThread(_LateApp(), port=0)
        self.sim_url = self.sim.url
        # env values may name the simulator's address as {sim_url} (it is known only now)
        self.config = demo_config(db_url, self.sim_url, **{k: v.replace("{sim_url}", self.sim_url)
                                                            for k, v in (env or {}).items()})
        self.config = self.config.model_copy(update={
            "sender": self.config.sender.model_copy(update=sender or {}),
            "wecom": self.config.wecom.model_copy(update=wecom or {})})
        if mp:
            self.config = self.config.model_copy(update={"mp": self.config.mp.model_copy(update=mp)})
        if pictures:
            self.config = self.config.model_copy(update={"pictures": self.config.pictures.model_copy(update=pictures)})
        if qa:
            self.config = self.config.model_copy(update={"qa": self.config.qa.model_copy(update=qa)})
        if extra_groups:
            from bot.config import GroupConfig
            self.config = self.config.model_copy(update={
                "groups": list(self.config.groups) + [GroupConfig.model_validate(g) for g in extra_groups]})
        self.app = create_app(self.config, start_sender=start_sender, handlers=handlers)
        self.service = self.app.extensions["fanzha"]
        self.bot = ServerThread(self.app, port=0).start()
        self.bot_url = self.bot.url
        self.sim_app = create_simulator(self.config, bot_url=self.bot_url, token_ttl=token_ttl,
                                        callback_timeout=callback_timeout, public_url=self.sim_url)
        self.sim.server.app = self.sim_app
        self.sim.start()

    # --- driving the simulator like a person or a test would ---------------------------
    def say(self, chat: str, user: str, text: str, **extra) -> dict:
        r = requests.post(f"{self.sim_url}/sim/say", json={"chat": chat, "user": user, "text": text, **extra}, timeout=5)
        r.raise_for_status()
        return r.json()

    def messages(self, chat: str, since: int = 0) -> list[dict]:
        r = requests.get(f"{self.sim_url}/sim/messages", params={"chat": chat, "since": since}, timeout=5)
        r.raise_for_status()
        return r.json()

    def bot_messages(self, chat: str) -> list[dict]:
        """What the bot (or one of its robots) said in a chat."""
        return [m for m in self.messages(chat) if m["from"] == "bot" or m["from"].startswith("robot:")]

    def sim_post(self, path: str, body: dict) -> dict:
        r = requests.post(f"{self.sim_url}{path}", json=body, timeout=5)
        r.raise_for_status()
        return r.json()

    def stats(self) -> dict:
        return requests.get(f"{self.sim_url}/sim/stats", timeout=5).json()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until nothing is in flight between the simulator and the bot (see `settled`)."""
        assert wait_for(lambda: settled(self.service, self.sim_url), timeout=timeout), "still busy"

    def stop(self) -> None:
        self.bot.stop()
        self.service.stop()
        self.sim.stop()
        self.service.engine.dispose()


@pytest.fixture
def stack_factory(db_url):
    made = []

    def make(**kw) -> Stack:
        s = Stack(db_url, **kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


@pytest.fixture
def stack(stack_factory) -> Stack:
    return stack_factory()


# --- tiers: `pytest -m "not slow"` for the quick loop; CI runs everything --------------------------
SLOW_FIXTURES = {"stack", "stack_factory", "world", "ocr_reader", "console"}


def pytest_collection_modifyitems(config, items):
    """End-to-end tests (the bot and the simulator on real sockets) and tests that read pictures with the
    OCR are slow; so are the ones marked by hand (subprocesses, model training)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
