"""The one `Message` that flows from a channel through the router, and the `Reply` that comes back.

Both are channel-neutral: a channel adapter (bot/channels) makes the Message from the wire and
renders the Reply for its readers (rich text where they see it, plain text elsewhere).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from content import markup


@dataclass(frozen=True)
class Message:
    """An inbound message, already verified, decrypted and parsed.

    channel names the adapter it came through; chat_id is the config group id for group chats
    (None for a one-to-one chat); dedupe_key identifies the message across retries.
    member: the sender is identified as one of the organisation's members (a WeCom userid), so
    the roles in config apply; a WeChat follower is not, and is a resident whatever the id.
    """
    channel: str
    sender: str
    text: str
    dedupe_key: str
    chat_type: str = "single"          # "group" | "single"
    chat_id: Optional[str] = None
    msg_type: str = "text"
    event: Optional[str] = None
    event_key: Optional[str] = None
    mentions: tuple[str, ...] = ()
    time: int = 0
    member: bool = True
    # pictures in the message: references its channel adapter fetches (`Adapter.fetch_picture`)
    pictures: tuple[str, ...] = ()
    # channel-specific extras, e.g. the AI bot's response_url or a task card's id
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_group(self) -> bool:
        return self.chat_type == "group"


@dataclass(frozen=True)
class Reply:
    """Something the bot says. Default target: back into the chat the message came from.

    text is what every reader can see; rich (optional) is the same with emphasis in the
    project's markup (content.markup), for readers whose channel shows it.
    """
    text: str
    rich: Optional[str] = None
    mention: tuple[str, ...] = ()
    # explicit targets instead of "answer in place"
    to_group: Optional[str] = None
    to_users: tuple[str, ...] = ()
    # what the answer is about (a Q&A intent id), recorded with the inbound message
    intent: Optional[str] = None
    # the Q&A's verdict, recorded with the inbound message for the console's review: how sure it was
    # (the matcher's top score) and what it did (answer | ask | suspect | none | follow | menu | unread …)
    score: Optional[float] = None
    decision: Optional[str] = None
    # not before this time (UTC): the answer waits in the outbox (a member's answers per minute)
    after: Optional[dt.datetime] = None

    @classmethod
    def formatted(cls, rich: str, **kw) -> "Reply":
        """A reply written in markup; its plain text is derived."""
        return cls(markup.plain(rich), rich=rich, **kw)

    @property
    def in_place(self) -> bool:
        """Answered where the message came from, now (passively when in time)."""
        return not (self.to_group or self.to_users or self.after)
