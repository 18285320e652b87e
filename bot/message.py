"""The one `Message` that flows from a channel through the router, and the `Reply` that comes back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

Channel = Literal["aibot", "app", "mp", "cli"]


@dataclass(frozen=True)
class Message:
    """An inbound message, already verified, decrypted and parsed.

    chat_id is the config group id for group chats (None for a one-to-one chat);
    dedupe_key identifies the message across WeCom's retries.
    """
    channel: Channel
    sender: str
    text: str
    dedupe_key: str
    chat_type: Literal["group", "single"] = "single"
    chat_id: Optional[str] = None
    msg_type: str = "text"
    event: Optional[str] = None
    event_key: Optional[str] = None
    mentions: tuple[str, ...] = ()
    time: int = 0
    # channel-specific extras, e.g. the AI bot's response_url or a task card's id
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_group(self) -> bool:
        return self.chat_type == "group"


@dataclass
class Reply:
    """Something the bot says. Default target: back into the chat the message came from.

    markdown is only honoured where the reader sees WeCom markdown; elsewhere it is sent as text.
    """
    text: str
    markdown: bool = False
    mention: tuple[str, ...] = ()
    # explicit targets instead of "answer in place"
    to_group: Optional[str] = None
    to_users: tuple[str, ...] = ()
    # what the answer is about (a Q&A intent id), recorded with the inbound message
    intent: Optional[str] = None
