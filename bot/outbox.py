"""The outbox: every outbound message is a row with a unique dedupe key and a final state.

Nothing is sent except through it. Enqueue inside the caller's transaction when the message
belongs to a domain change (a warning, a campaign slot), so that both land or neither does.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.db import insert_unless_exists, session_scope, utcnow
from bot.models import OutboxMessage

log = logging.getLogger(__name__)

# UTF-8 byte limits of WeCom (reference/wecom.md §3.3, §4, §5)
LIMITS = {
    ("webhook", "text"): 2048, ("webhook", "markdown"): 4096,
    ("app", "text"): 2048, ("app", "markdown"): 2048,
    ("appchat", "text"): 2048, ("appchat", "markdown"): 2048,
    ("aibot_response", "markdown"): 20480,
}


def split_utf8(text: str, limit: int) -> list[str]:
    """Split text into parts of at most `limit` UTF-8 bytes, never inside a character.

    Prefers to cut after a newline, then after sentence punctuation, in the second half of a part.
    """
    parts: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        # the longest prefix that fits
        lo, hi = 0, len(rest)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if len(rest[:mid].encode("utf-8")) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        for seps in ("\n", "。！？；!?;", "，, "):
            best = max(rest.rfind(s, 0, lo) for s in seps)
            if best >= lo // 2:
                cut = best + 1
                break
        parts.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not parts:
        parts.append(rest)
    return parts


class Unreachable(Exception):
    """The group exists but the bot has no channel that can push into it."""


class Outbox:
    """Enqueue outbound messages. `notify` wakes the in-process sender at once."""

    def __init__(self, config: Config, sessions: sessionmaker, notify: Optional[Callable[[], None]] = None):
        self.config = config
        self.sessions = sessions
        self.notify = notify or (lambda: None)

    # --- low level --------------------------------------------------------------------
    def enqueue(self, *, channel: str, target: str, msgtype: str, payload: dict, dedupe_key: str,
                group_id: Optional[str] = None, source: Optional[str] = None,
                session: Optional[Session] = None) -> bool:
        """Add one row; False when a row with this dedupe key already exists (nothing added)."""
        values = dict(dedupe_key=dedupe_key, channel=channel, target=target, group_id=group_id,
                      msgtype=msgtype, payload=payload, state="pending", attempts=0,
                      next_attempt_at=utcnow(), created_at=utcnow(), source=source)
        if session is None:
            with session_scope(self.sessions) as s:
                added = self._insert(s, values)
        else:
            added = self._insert(session, values)
        if added and session is None:
            self.notify()
        return added

    @staticmethod
    def _insert(session: Session, values: dict) -> bool:
        return insert_unless_exists(session, OutboxMessage, values, ["dedupe_key"]) is not None

    # --- by addressee -------------------------------------------------------------------
    def to_group(self, group_id: str, text: str, *, dedupe_key: str, markdown: bool = False,
                 mentions: Iterable[str] = (), source: Optional[str] = None,
                 session: Optional[Session] = None) -> int:
        """Queue a text or markdown message for a configured group; returns rows added.

        Raises Unreachable for a group the bot cannot push into (external customer groups
        until confirmed mass sending exists, or groups reached only by @-mentions).
        """
        group = self.config.group(group_id)
        if group is None:
            raise KeyError(f"unknown group {group_id!r}")
        via = group.send.via
        if via == "webhook":
            channel, target = "webhook", group.send.robot
        elif via == "appchat":
            channel, target = "appchat", group.send.chatid
        else:
            raise Unreachable(f"group {group_id} ({group.name}) is not reachable by the bot (via {via})")
        return self._queue_text(channel, target, text, markdown=markdown, mentions=tuple(mentions),
                                dedupe_key=dedupe_key, group_id=group_id, source=source, session=session)

    def to_users(self, userids: Iterable[str], text: str, *, dedupe_key: str, markdown: bool = False,
                 source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a one-to-one app message (message/send) to WeCom members."""
        target = "|".join(userids)
        return self._queue_text("app", target, text, markdown=markdown, mentions=(),
                                dedupe_key=dedupe_key, source=source, session=session)

    def to_response_url(self, url: str, text: str, *, dedupe_key: str, group_id: Optional[str] = None,
                        source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue the AI bot's active reply (response_url is single use: one message, trimmed)."""
        content = split_utf8(text, LIMITS[("aibot_response", "markdown")])[0]
        return int(self.enqueue(channel="aibot_response", target=url, msgtype="markdown",
                                payload={"msgtype": "markdown", "markdown": {"content": content}},
                                dedupe_key=dedupe_key, group_id=group_id, source=source, session=session))

    def _queue_text(self, channel, target, text, *, markdown, mentions, dedupe_key, group_id=None,
                    source=None, session=None) -> int:
        msgtype = "markdown" if markdown else "text"
        if markdown and mentions:
            text = text + "\n" + " ".join(f"<@{u}>" for u in mentions)
        parts = split_utf8(text, LIMITS[(channel, msgtype)])
        added = 0
        for i, part in enumerate(parts):
            body: dict = {"content": part}
            if msgtype == "text" and mentions and i == 0 and channel == "webhook":
                body["mentioned_list"] = list(mentions)
            key = dedupe_key if len(parts) == 1 else f"{dedupe_key}#{i + 1}"
            added += self.enqueue(channel=channel, target=target, msgtype=msgtype,
                                  payload={"msgtype": msgtype, msgtype: body}, dedupe_key=key,
                                  group_id=group_id, source=source, session=session)
        return added

    # --- reading ------------------------------------------------------------------------
    def rows(self, *, state: Optional[str] = None, limit: int = 100) -> list[OutboxMessage]:
        with self.sessions() as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
            if state:
                q = q.where(OutboxMessage.state == state)
            return list(s.scalars(q))
