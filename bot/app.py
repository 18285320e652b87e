"""The app factory, `create_app(config)`: the one place that assembles the service.

It wires the database, the channel adapters (bot/channels), the outbox and its sender, the
inbox and router (bot/core) with the features: the handlers (handlers/) and the scheduled jobs
(scheduler/, and each channel's own). Nothing below this module imports handlers or scheduler.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Callable, Optional

from flask import Flask, jsonify

import handlers
import scheduler
from bot import api, console
from bot.campaigns import check_pools
from bot.channels import Channels
from bot.channels.wecom_api import WeComApi
from bot.config import Config, ConfigError
from bot.core.context import Context
from bot.core.inbox import Inbox
from bot.core.outbox import Outbox
from bot.core.router import Handler, Router
from bot.core.scheduling import JobSpec, Scheduler
from bot.core.sender import Sender
from bot.db import ensure_schema, make_engine, session_factory, utcnow
from bot.pictures import Reader
from content import Matcher, load_library
from content.library import LEXICON_PATH
from content.venues import load_venues

log = logging.getLogger(__name__)


_CONTENT_CACHE: dict = {}
_CONTENT_LOCK = threading.RLock()


def content_folder(config: Config) -> Path:
    return config.content_path


def check_startup(config: Config, library=None, venues=None) -> None:
    """Everything start-up checks besides the database, for `check-config` and the service alike:
    the content library and venue texts (ContentError: file, field, reason), and the config against
    them (ConfigError: key, reason)."""
    library = library if library is not None else load_library(content_folder(config))
    venues = venues if venues is not None else load_venues()
    errors = config.content_errors() + check_pools(config, library, venues)
    if errors:
        raise ConfigError(config.source or "config", errors)


def load_content(config: Config):
    """The content library and its matcher; raises content.ContentError naming file and field.

    Loaded once per process and content version (building jieba's dictionary takes most of a
    second); an edited file (a scenario, the lexicon, the learned weights) changes the version and is
    loaded anew.
    """
    folder = content_folder(config)
    weights = config.weights_path
    version = content_version(config)
    with _CONTENT_LOCK:
        if version not in _CONTENT_CACHE:
            lib = load_library(folder, weights_path=weights)
            _CONTENT_CACHE.clear()
            _CONTENT_CACHE[version] = (lib, Matcher(lib))
        return _CONTENT_CACHE[version]


def content_version(config: Config) -> tuple:
    """What the loaded content depends on: its files and their modification times."""
    folder = content_folder(config)
    files = sorted(folder.glob("*.yaml")) + [LEXICON_PATH, config.weights_path]
    return (str(folder.resolve()), tuple((str(f), f.stat().st_mtime_ns) for f in files if f.exists()))


class Service:
    """Everything one bot process holds; Flask keeps it in app.extensions['fanzha'].

    `ctx` is what handlers and jobs get; the adapters get the service itself (its config,
    sessions, clock, API clients, inbox and outbox).
    """
    # how often a running service looks whether its content files changed (new weights applied from the
    # console in another process, an edited scenario) and loads them
    CONTENT_CHECK_SECONDS = 30.0

    def __init__(self, config: Config, *, clock: Callable[[], dt.datetime] = utcnow,
                 handlers: Optional[list[Handler]] = None, engine=None):
        self.config = config
        self.clock = clock
        base_dir = Path(config.source).parent if config.source else None
        self.engine = engine or make_engine(config.database.url, base_dir)
        ensure_schema(self.engine)
        self.sessions = session_factory(self.engine)
        self.api = WeComApi(config, self.sessions)
        self.robot_keys = {name: r.key for name, r in config.robots.items()}
        self.channels = Channels(self)
        self.sender = Sender(config, self.sessions, self.channels)
        self.outbox = Outbox(config, self.sessions, self.channels, notify=self.sender.wake.set)
        self.library, self.matcher = load_content(config)
        self.venues = load_venues()
        check_startup(config, self.library, self.venues)
        self.router = build_router(handlers)
        self.ctx = Context(config=config, sessions=self.sessions, outbox=self.outbox, clock=clock,
                           library=self.library, matcher=self.matcher, venues=self.venues, router=self.router,
                           channels=self.channels, engine=self.engine, reader=Reader.from_config(config.pictures))
        self.inbox = Inbox(self.ctx, self.router, self.outbox, deadline=config.wecom.reply_deadline_seconds,
                           lease_seconds=config.wecom.handling_lease_seconds,
                           heavy_workers=config.pictures.workers, heavy_queue=config.pictures.queue)
        self.scheduler = None
        self._content_version = content_version(config)
        self._stopping = threading.Event()
        self._watcher: Optional[threading.Thread] = None

    def reload_content(self) -> bool:
        """Load the content again when its files changed (new weights, an edited scenario) and answer
        with it from now on; True when something changed. A broken file keeps the content in use (logged)."""
        version = content_version(self.config)
        if version == self._content_version:
            return False
        try:
            library, matcher = load_content(self.config)
        except Exception:
            log.exception("content changed on disk but cannot be loaded: still answering with the content in use")
            self._content_version = version        # said once; the next edit is tried again
            return False
        self.library, self.matcher = library, matcher
        self.ctx.library, self.ctx.matcher = library, matcher
        self._content_version = version
        log.info("content reloaded: %d learned-weight examples", getattr(library.weights, "examples", 0))
        return True

    def _watch_content(self) -> None:
        while not self._stopping.wait(self.CONTENT_CHECK_SECONDS):
            try:
                self.reload_content()
            except Exception:
                log.exception("content check failed")

    def scheduled_jobs(self) -> list[JobSpec]:
        """Every job the service runs on a schedule: the features' and the channels' own."""
        return scheduler.all_jobs(self.config) + [j for a in self.channels for j in a.jobs()]

    def start(self, sender: bool = True, scheduler: bool = True) -> None:
        self.inbox.start()
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_content, name="content-check", daemon=True)
            self._watcher.start()
        if sender:
            self.sender.start()
        if scheduler and self.scheduler is None:
            self.scheduler = Scheduler(self.ctx, self.scheduled_jobs()).start()

    def stop(self) -> None:
        self._stopping.set()
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.sender.stop()
        self.inbox.shutdown()


def build_router(extra: Optional[list[Handler]] = None) -> Router:
    """The router over the service's handlers; `extra` handlers (tests) join them by priority."""
    return Router(list(extra or []) + handlers.all_handlers(), fallback=handlers.FallbackHandler())


def create_app(config: Config, *, start_sender: bool = True, start_scheduler: bool = False,
               clock: Callable[[], dt.datetime] = utcnow, handlers: Optional[list[Handler]] = None,
               engine=None) -> Flask:
    """Build the bot's Flask app. `handlers` are extra handlers (tests), ordered by priority.

    The in-process sender and scheduler are for one-process runs (serve, demo); under gunicorn
    they run in `python -m bot worker` instead.
    """
    app = Flask("fanzha")
    app.config["MAX_CONTENT_LENGTH"] = config.wecom.max_body_bytes
    svc = Service(config, clock=clock, handlers=handlers, engine=engine)
    app.extensions["fanzha"] = svc
    for bp in svc.channels.blueprints():
        app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    console.init_app(app, config)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.errorhandler(413)
    def too_large(_e):
        return "request body too large", 413

    svc.start(sender=start_sender, scheduler=start_scheduler)
    return app
