"""The one typed `Context` that handlers and scheduled jobs get: everything they may use."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from bot.config import Config
from bot.core.message import Message
from bot.db import utcnow

if TYPE_CHECKING:  # type hints only: the content package loads jieba
    from sqlalchemy.orm import sessionmaker

    from bot.core.outbox import Outbox
    from bot.core.router import Router
    from content.library import Library
    from content.matcher import Matcher


@dataclass
class Context:
    """Config, database sessions, the outbox, the clock and the content of one running service.

    Built once by the app factory; tests build one with only what they use.
    """
    config: Config
    sessions: Optional["sessionmaker"] = None
    outbox: Optional["Outbox"] = None
    clock: Callable[[], dt.datetime] = utcnow
    library: Optional["Library"] = None
    matcher: Optional["Matcher"] = None
    venues: Any = None
    router: Optional["Router"] = None
    channels: Any = None
    engine: Any = field(default=None, repr=False)
    # reads the pictures residents send (bot.pictures.Reader)
    reader: Any = None

    def roles(self, msg: Message) -> set[str]:
        """The sender's roles from config (anyone not listed is a resident). An identity from a
        channel of the public (a WeChat follower's openid) is a resident, whatever its letters."""
        if not msg.member:
            return {"resident"}
        return self.config.roles_of(msg.sender)

    def chat_kind(self, msg: Message) -> str:
        """The config kind of the chat ('community', 'linkage' …), 'single', or 'unknown'."""
        if not msg.is_group:
            return "single"
        g = self.config.group(msg.chat_id or "")
        return g.kind if g else "unknown"
