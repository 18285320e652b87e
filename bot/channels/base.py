"""A channel adapter: everything the bot knows about one channel, in one class.

Inbound (channels that hear): a Flask blueprint that verifies and decrypts a callback, turns it
into one `Message`, hands it to the inbox and answers passively; `late_address()` says where an
answer that missed the passive deadline goes.

Outbound: `parts()` turns channel-neutral content into outbox payloads within the channel's
limits when it is queued; `deliver()` renders one payload into the wire format and sends it when
the sender claims the row. Rate limits, retry delays and what happens after a send (a customer
group's task record) are the adapter's too. Nothing outside bot/channels branches on a channel.

Outbox payload kinds (the row's msgtype): text {text, rich, mentions, mention_mobiles},
image {base64, md5}, news {articles}, card {title, description, task_id, buttons},
card_update {task_id, label, userids}, mass {chat_ids, text, attachments}.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional

from content import markup

if TYPE_CHECKING:
    from flask import Blueprint

    from bot.config import GroupConfig
    from bot.core.message import Message
    from bot.models import OutboxMessage

IMAGE_MAX_BYTES = 2 * 1024 * 1024
# seconds to connect to WeCom; its answer may then take sender.http_timeout_seconds
CONNECT_TIMEOUT = 5.0


class Unreachable(Exception):
    """The group exists but the bot has no channel that can push into it (an intelligent-bot-only
    group, or send.via none). Customer groups are reachable: through a confirmed mass-send task."""


class Unsupported(Exception):
    """The channel cannot carry this kind of content (a task card in a group, an image in a reply)."""


class SendError(Exception):
    """A send that failed. retriable: worth trying again later; otherwise final for that row.
    unknown: the request left but no answer came (a timeout, a connection cut mid-answer): WeCom may
    have taken it, and only a channel with WeCom's duplicate check can resend it without a repeat."""

    def __init__(self, errcode: int, errmsg: str, retriable: bool, unknown: bool = False):
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.retriable = retriable
        self.unknown = unknown


class PictureUnavailable(Exception):
    """A picture a channel could not hand over. code: too_big (past the limit; the download stopped
    there), gone (its link or media id expired or is wrong), network (no answer from WeCom)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Address:
    """Where a message goes: one channel's target (robot name, chat id, "u1|u2", openid, URL …)."""
    channel: str
    target: str
    group_id: Optional[str] = None


@dataclass(frozen=True)
class RateLimit:
    """WeCom's limit per addressee and minute, where exceeding it loses messages."""
    per_minute: int
    kinds: tuple[str, ...]          # the payload kinds it counts


# --- content helpers shared by adapters ---------------------------------------------------------
def split_utf8(text: str, limit: int) -> list[str]:
    """Split text into parts of at most `limit` UTF-8 bytes, never inside a character.

    Prefers to cut after a newline, then after sentence punctuation, in the second half of a part.
    """
    parts: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        lo, hi = 0, len(rest)
        while lo < hi:                      # the longest prefix that fits
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


def truncate_utf8(text: str, limit: int) -> str:
    return split_utf8(text, limit)[0] if len(text.encode("utf-8")) > limit else text


def check_image(data: bytes) -> str:
    """PNG or JPEG of at most 2 MB (the robot's and WeCom's media limit); returns the MIME type."""
    if not data or len(data) > IMAGE_MAX_BYTES:
        raise ValueError(f"an image must be 1 byte to 2 MB, not {len(data)} bytes")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    raise ValueError("an image must be PNG or JPEG")


def image_payload(data: bytes) -> dict:
    check_image(data)
    return {"base64": base64.b64encode(data).decode("ascii"), "md5": hashlib.md5(data).hexdigest()}


def image_bytes(payload: dict) -> bytes:
    return base64.b64decode(payload["base64"])


def text_payload(text: str, *, rich: bool = False, mentions: Iterable[str] = (),
                 mention_mobiles: Iterable[str] = ()) -> dict:
    p: dict = {"text": text, "rich": bool(rich)}
    if mentions:
        p["mentions"] = list(mentions)
    if mention_mobiles:
        p["mention_mobiles"] = list(mention_mobiles)
    return p


class Adapter:
    """Base class of the channel adapters; a channel overrides what it supports."""
    name = ""
    # the readers of this channel see rich text (content.markup); others get its plain form
    markup = False
    # UTF-8 bytes of one text message: plain and rich
    text_limit = 2048
    rich_limit = 2048
    # which payload kinds this channel carries
    kinds: tuple[str, ...] = ("text",)
    # a send whose result cannot be known (a timeout after the request left) may have reached
    # the reader; True when WeCom itself drops a repeat (duplicate_check), so retrying is safe
    idempotent = False

    def __init__(self, runtime):
        self.runtime = runtime
        self.config = runtime.config

    # --- inbound ------------------------------------------------------------------------------
    def blueprint(self) -> Optional["Blueprint"]:
        """The Flask blueprint of this channel's callback, or None for a send-only channel."""
        return None

    def late_address(self, msg: "Message") -> "Address | tuple[str, ...] | str":
        """Where an answer to `msg` that missed the passive deadline goes: an Address, a group id
        (str), or WeCom members (a tuple of userids)."""
        if msg.is_group and msg.chat_id and self.config.group(msg.chat_id):
            return msg.chat_id
        return (msg.sender,)

    def fetch_picture(self, ref: str, limit: int) -> bytes:
        """The bytes of a picture in a message of this channel (`Message.pictures`), at most `limit`
        of them; raises PictureUnavailable."""
        raise PictureUnavailable("gone", f"channel {self.name} carries no pictures")

    # --- outbound -----------------------------------------------------------------------------
    def group_target(self, group: "GroupConfig") -> Optional[str]:
        """This channel's address of a configured group that it reaches (send.via = name)."""
        return None

    # --- said to people (the console) ---------------------------------------------------------
    def reach(self, group: "GroupConfig") -> Optional[tuple[str, str]]:
        """How this channel serves a configured group, in Chinese for the staff: (how, what that means
        for a push); None when the group is not this channel's (README "What WeCom really allows")."""
        return None

    def delivered(self, session, group_ids: list[str]) -> Optional[dict[str, dict]]:
        """What really reached these groups of this channel, when an outbox row marked sent does not say
        it: {group id: {"at", "source", "text", "pending"}} (pending: pushes still waiting). None: a
        row sent is a message delivered, and the outbox says the last push."""
        return None

    def queue(self, outbox, address: Address, kind: str, payload: dict, *, dedupe_key: str,
              source: Optional[str], session, not_before=None) -> int:
        """Queue content for a group: text; an image with its caption first; news (its text is for
        channels that carry text beside articles). Returns the rows added."""
        if kind not in self.kinds:
            raise Unsupported(f"channel {self.name} cannot carry {kind}")
        kw = dict(source=source, session=session, not_before=not_before)
        if kind == "image":
            payload = dict(payload)
            caption = payload.pop("caption", "")
            added = 0
            if caption:
                added += outbox.add(address, "text", text_payload(caption), dedupe_key=f"{dedupe_key}:caption", **kw)
            return added + outbox.add(address, "image", payload, dedupe_key=dedupe_key, **kw)
        if kind == "news":
            payload = {"articles": payload["articles"]}
        return outbox.add(address, kind, payload, dedupe_key=dedupe_key, **kw)

    def parts(self, payload: dict, kind: str) -> list[dict]:
        """Split a text payload into payloads within this channel's limits; rich text becomes plain
        for readers who do not see markup. Other kinds pass unchanged (one message each)."""
        if kind != "text":
            return [payload]
        rich = payload.get("rich") and self.markup
        text = payload["text"] if rich else (markup.plain(payload["text"]) if payload.get("rich")
                                             else payload["text"])
        chunks = split_utf8(text, self.rich_limit if rich else self.text_limit)
        out = []
        for i, chunk in enumerate(chunks):
            p = dict(payload, text=chunk, rich=bool(rich))
            if i > 0:                          # the mentions go with the first part
                p.pop("mentions", None)
                p.pop("mention_mobiles", None)
            out.append(p)
        return out

    def request_seconds(self) -> float:
        """The longest one send can take (the sender holds the row at least this long)."""
        return CONNECT_TIMEOUT + self.config.sender.http_timeout_seconds

    def deliver(self, row: "OutboxMessage") -> dict:
        """Render the row's payload into the wire format and send it; raises SendError."""
        raise SendError(-10, f"channel {self.name!r} sends nothing", retriable=False)

    def rate_limit(self, row: "OutboxMessage") -> Optional[RateLimit]:
        return None

    def retry_delay(self, err: SendError, delay: float) -> float:
        return delay

    def on_sent(self, session, row: "OutboxMessage", result: dict) -> None:
        """Runs in the transaction that marks the row sent."""

    def on_dead(self, row: "OutboxMessage", reason: str) -> None:
        """Runs after the row was marked dead."""

    def jobs(self) -> list:
        """Scheduled jobs this channel needs (bot.core.scheduling.JobSpec)."""
        return []
