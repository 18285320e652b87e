"""The app factory: `create_app(config)` wires database, outbox, sender, router and channels."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Callable, Optional

from flask import Flask, jsonify

from bot.channels.crypto import CallbackCrypto
from bot.config import Config, ConfigError
from bot.db import ensure_schema, make_engine, session_factory, utcnow
from bot.inbox import Inbox
from bot.outbox import Outbox
from bot.sender import Sender
from bot.wecom_api import WeComApi
from handlers import Context, Handler, build_router
from handlers.ask import AskHandler
from handlers.warnings import warning_handlers
from handlers.wechat import MpHandler
from handlers.campaigns import CampaignHandler
from handlers.stats import stats_handlers

log = logging.getLogger(__name__)


_CONTENT_CACHE: dict = {}


def load_content(config: Config):
    """The content library and its matcher; raises content.ContentError naming file and field.

    Loaded once per process and content version (building jieba's dictionary takes most of a
    second); an edited file changes the version and is loaded anew.
    """
    from content import Matcher, load_library
    from content.library import DEFAULT_DIR, LEXICON_PATH
    folder = Path(config.qa.content_dir) if config.qa.content_dir else DEFAULT_DIR
    files = sorted(folder.glob("*.yaml")) + [LEXICON_PATH]
    version = (str(folder.resolve()), tuple((str(f), f.stat().st_mtime_ns) for f in files if f.exists()))
    if version not in _CONTENT_CACHE:
        lib = load_library(folder)
        _CONTENT_CACHE.clear()
        _CONTENT_CACHE[version] = (lib, Matcher(lib))
    return _CONTENT_CACHE[version]


def load_venues():
    """The venue templates of the eight venues (content/venues); ContentError when invalid."""
    try:
        from content.venues import load_venues as load
    except ImportError:      # content/venues not present in this checkout
        return None
    return load()


class Service:
    """Everything one bot process holds; Flask keeps it in app.extensions['fanzha']."""

    def __init__(self, config: Config, *, clock: Callable[[], dt.datetime] = utcnow,
                 handlers: Optional[list[Handler]] = None, engine=None):
        self.config = config
        self.clock = clock
        base_dir = Path(config.source).parent if config.source else None
        self.engine = engine or make_engine(config.database.url, base_dir)
        ensure_schema(self.engine)
        self.sessions = session_factory(self.engine)
        self.api = WeComApi(config, self.sessions)
        self.mp_api = None
        if config.mp is not None:
            from bot.mp_api import MpApi
            self.mp_api = MpApi(config, self.sessions)
        self.sender = Sender(config, self.sessions, self.api, mp_api=self.mp_api)
        self.outbox = Outbox(config, self.sessions, notify=self.sender.wake.set)
        self.ctx = Context(config=config, sessions=self.sessions, outbox=self.outbox, clock=clock)
        self.library, self.matcher = load_content(config)
        self.venues = load_venues()
        from bot.campaigns import check_pools
        pool_errors = check_pools(config, self.library, self.venues)
        if pool_errors:
            raise ConfigError(config.source or "config", pool_errors)
        self.router = build_router(list(handlers or []) + [CampaignHandler(lambda: self), *stats_handlers(lambda: self),
                                                           MpHandler(), *warning_handlers(self.matcher, self.library),
                                                           AskHandler(self.library, self.matcher)])
        self.inbox = Inbox(self.ctx, self.router, self.outbox, deadline=config.wecom.reply_deadline_seconds)
        self.app_crypto = CallbackCrypto(config.wecom.token, config.wecom.encoding_aes_key, config.wecom.corp_id)
        self.aibot_crypto = CallbackCrypto(config.wecom.aibot.token, config.wecom.aibot.encoding_aes_key, "")
        # the official account in safe mode: the same scheme, receiveid = AppID (reference/wecom.md §6)
        self.mp_crypto = (CallbackCrypto(config.mp.token, config.mp.encoding_aes_key, config.mp.app_id)
                          if config.mp is not None and config.mp.safe_mode else None)
        self.scheduler = None

    def scheduled_jobs(self) -> list:
        """Every job the service runs on a schedule (each domain module adds its own)."""
        from scheduler.campaigns import campaign_jobs
        from scheduler.jobs import foundation_jobs
        from scheduler.warnings import warning_jobs
        from scheduler.stats import stats_jobs
        from scheduler.wechat import wechat_jobs
        return (foundation_jobs(self.config) + campaign_jobs(self.config) + wechat_jobs(self.config)
                + warning_jobs(self.config) + stats_jobs(self.config))

    def start(self, sender: bool = True, scheduler: bool = True) -> None:
        if sender:
            self.sender.start()
        if scheduler and self.scheduler is None:
            from scheduler import Scheduler
            self.scheduler = Scheduler(self, self.scheduled_jobs()).start()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.sender.stop()
        self.inbox.shutdown()


def create_app(config: Config, *, start_sender: bool = True, start_scheduler: bool = False,
               clock: Callable[[], dt.datetime] = utcnow, handlers: Optional[list[Handler]] = None,
               engine=None) -> Flask:
    """Build the bot's Flask app. `handlers` are extra handlers placed before the built-in ones.

    The in-process sender and scheduler are for one-process runs (serve, demo); under gunicorn
    they run in `python -m bot worker` instead.
    """
    from bot import api
    from bot.channels import aibot, mp, wecom_app

    app = Flask("fanzha")
    app.config["MAX_CONTENT_LENGTH"] = config.wecom.max_body_bytes
    svc = Service(config, clock=clock, handlers=handlers, engine=engine)
    app.extensions["fanzha"] = svc
    app.register_blueprint(wecom_app.bp)
    app.register_blueprint(aibot.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(mp.bp)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.errorhandler(413)
    def too_large(_e):
        return "request body too large", 413

    svc.start(sender=start_sender, scheduler=start_scheduler)
    return app
