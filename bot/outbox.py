"""The outbox: every outbound message is a row with a unique dedupe key and a final state.

Nothing is sent except through it. Enqueue inside the caller's transaction when the message
belongs to a domain change (a warning, a campaign slot), so that both land or neither does.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import Callable, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.db import insert_unless_exists, session_scope, utcnow
from bot.models import OutboxMessage
from bot.wechat_models import MassSendGroup, MassSendTask

log = logging.getLogger(__name__)

# UTF-8 byte limits of WeCom (reference/wecom.md §3.3, §4, §5); the official account's
# customer-service text and a mass-send task's text (4000 bytes, externalcontact/add_msg_template)
LIMITS = {
    ("webhook", "text"): 2048, ("webhook", "markdown"): 4096,
    ("app", "text"): 2048, ("app", "markdown"): 2048,
    ("appchat", "text"): 2048, ("appchat", "markdown"): 2048,
    ("aibot_response", "markdown"): 20480,
    ("mp", "text"): 2048,
    ("mass_send", "text"): 4000,
}
IMAGE_MAX_BYTES = 2 * 1024 * 1024
_MARKUP = re.compile(r"\*\*|<font[^>]*>|</font>|^> ?|^#{1,6} |`", re.M)
_AT = re.compile(r"<@([^>\s]+)>")


def plain_text(text: str) -> str:
    """WeCom markdown as plain text, for readers who do not see markdown (WeChat users)."""
    return _AT.sub("", _MARKUP.sub("", text)).strip()


def check_image(data: bytes) -> str:
    """PNG or JPEG of at most 2 MB (the robot's and WeCom's media limit); returns the MIME type."""
    if not data or len(data) > IMAGE_MAX_BYTES:
        raise ValueError(f"an image must be 1 byte to 2 MB, not {len(data)} bytes")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    raise ValueError("an image must be PNG or JPEG")


def image_body(data: bytes) -> dict:
    check_image(data)
    return {"base64": base64.b64encode(data).decode("ascii"), "md5": hashlib.md5(data).hexdigest()}


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
    """The group exists but the bot has no channel that can push into it (an intelligent-bot-only
    group, or send.via none). Customer groups are reachable: through a confirmed mass-send task."""


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
                 mentions: Iterable[str] = (), mention_mobiles: Iterable[str] = (),
                 source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a text or markdown message for a configured group; returns rows added.

        Each group's `send.via` decides the channel, and the message type is one its readers see:
        webhook robot: text (mentions by userid or mobile) or markdown (`<@userid>`); app group:
        text or markdown (a mention becomes "@name" in the text: appchat has no mention field);
        customer group: a mass-send task for the owner to confirm, always plain text.
        Raises Unreachable for a group reached only by @-mentions (aibot) or not at all.
        """
        group = self._group(group_id)
        via = group.send.via
        mentions, mention_mobiles = tuple(mentions), tuple(mention_mobiles)
        if via == "customer_group":
            return self.mass_send([group_id], plain_text(text), dedupe_key=dedupe_key, source=source,
                                  session=session)
        channel, target = self._push_channel(group)
        if channel == "appchat" and (mentions or mention_mobiles):
            names = [self._name(u) for u in mentions] + [self._name_by_mobile(m) for m in mention_mobiles]
            text = " ".join(f"@{n}" for n in names) + "\n" + text
            mentions, mention_mobiles = (), ()
        return self._queue_text(channel, target, text, markdown=markdown, mentions=mentions,
                                mention_mobiles=mention_mobiles, dedupe_key=dedupe_key, group_id=group_id,
                                source=source, session=session)

    def to_group_image(self, group_id: str, image: bytes, *, dedupe_key: str, caption: str = "",
                       source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a PNG/JPEG for a group: a robot gets base64 + md5; an app group and a mass-send task
        get it uploaded (media/upload) by the sender first. Raises ValueError for a bad image."""
        group = self._group(group_id)
        body = image_body(image)
        if group.send.via == "customer_group":
            return self.mass_send([group_id], plain_text(caption), dedupe_key=dedupe_key, source=source,
                                  attachments=[{"msgtype": "image", "image": body}], session=session)
        channel, target = self._push_channel(group)
        added = 0
        if caption:
            added += self._queue_text(channel, target, caption, markdown=False, mentions=(), mention_mobiles=(),
                                      dedupe_key=f"{dedupe_key}:caption", group_id=group_id, source=source,
                                      session=session)
        return added + int(self.enqueue(channel=channel, target=target, msgtype="image",
                                        payload={"msgtype": "image", "image": body}, dedupe_key=dedupe_key,
                                        group_id=group_id, source=source, session=session))

    def to_group_news(self, group_id: str, articles: list[dict], *, dedupe_key: str, text: str = "",
                      source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue 1–8 articles ({title, description, url, picurl}) for a group: news for a robot and an
        app group; link attachments (with `text`) in a customer group's mass-send task."""
        if not 1 <= len(articles) <= 8 or any(not a.get("title") or not a.get("url") for a in articles):
            raise ValueError("news needs 1 to 8 articles, each with a title and a url")
        group = self._group(group_id)
        arts = [{k: a[k] for k in ("title", "description", "url", "picurl") if a.get(k)} for a in articles]
        if group.send.via == "customer_group":
            links = [{"msgtype": "link", "link": {"title": a["title"], "url": a["url"],
                                                  **({"desc": a["description"]} if a.get("description") else {}),
                                                  **({"picurl": a["picurl"]} if a.get("picurl") else {})}}
                     for a in arts]
            return self.mass_send([group_id], plain_text(text), dedupe_key=dedupe_key, source=source,
                                  attachments=links, session=session)
        channel, target = self._push_channel(group)
        return int(self.enqueue(channel=channel, target=target, msgtype="news",
                                payload={"msgtype": "news", "news": {"articles": arts}}, dedupe_key=dedupe_key,
                                group_id=group_id, source=source, session=session))

    def mass_send(self, group_ids: Iterable[str], text: str, *, dedupe_key: str, attachments: list = (),
                  source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue one mass-send task (企业群发 to customer groups) for the groups' common owner.

        Nothing reaches a group until the owner confirms the task on the phone; the task and a
        row per group (mass_send_task, mass_send_group) record what really happened. Returns 1
        when the task was added, 0 when `dedupe_key` was seen before.
        """
        groups = [self._group(g) for g in group_ids]
        if not groups or any(g.send.via != "customer_group" for g in groups):
            raise Unreachable("mass sending is only for customer groups (send.via customer_group)")
        owners = {g.send.owner for g in groups}
        if len(owners) != 1:
            raise ValueError("one mass-send task has one owner: queue a task per owner")
        owner = owners.pop()
        text = split_utf8(text, LIMITS[("mass_send", "text")])[0] if text else ""
        if not text and not attachments:
            raise ValueError("a mass-send task needs text or attachments")
        payload = {"chat_type": "group", "chat_id_list": [g.send.chatid for g in groups], "sender": owner,
                   "allow_select": False}
        if text:
            payload["text"] = {"content": text}
        if attachments:
            payload["attachments"] = list(attachments)[:9]
        if session is None:
            with session_scope(self.sessions) as s:
                added = self._insert_mass_send(s, groups, owner, text, payload, dedupe_key, source)
            if added:
                self.notify()
            return added
        return self._insert_mass_send(session, groups, owner, text, payload, dedupe_key, source)

    def _insert_mass_send(self, s: Session, groups, owner, text, payload, dedupe_key, source) -> int:
        now = utcnow()
        task_id = insert_unless_exists(s, MassSendTask, dict(
            dedupe_key=dedupe_key, owner=owner, text=text or "[附件]", state="queued", source=source,
            created_at=now, polls=0), ["dedupe_key"])
        if task_id is None:
            return 0
        for g in groups:
            s.add(MassSendGroup(task_id=task_id, group_id=g.id, chat_id=g.send.chatid, status="pending",
                                updated_at=now))
        s.flush()
        self._insert(s, dict(dedupe_key=dedupe_key, channel="mass_send", target=owner,
                             group_id=groups[0].id if len(groups) == 1 else None, msgtype="mass_send",
                             payload=payload, state="pending", attempts=0, next_attempt_at=now,
                             created_at=now, source=f"mass_send:{task_id}"))
        return 1

    def to_mp(self, openid: str, text: str, *, dedupe_key: str, source: Optional[str] = None,
              session: Optional[Session] = None) -> int:
        """Queue a customer-service message (客服消息) to an official account follower: plain text."""
        return self._queue_text("mp", openid, plain_text(text), markdown=False, mentions=(), mention_mobiles=(),
                                dedupe_key=dedupe_key, source=source, session=session)

    # --- helpers --------------------------------------------------------------------------
    def _group(self, group_id: str):
        group = self.config.group(group_id)
        if group is None:
            raise KeyError(f"unknown group {group_id!r}")
        return group

    @staticmethod
    def _push_channel(group) -> tuple[str, str]:
        if group.send.via == "webhook":
            return "webhook", group.send.robot
        if group.send.via == "appchat":
            return "appchat", group.send.chatid
        raise Unreachable(f"group {group.id} ({group.name}) is not reachable by the bot (via {group.send.via})")

    def _name(self, userid: str) -> str:
        p = self.config.person(userid)
        return p.name if p else userid

    def _name_by_mobile(self, mobile: str) -> str:
        p = next((p for p in self.config.people if p.mobile == mobile), None)
        return p.name if p else mobile[:3] + "****" + mobile[-4:]

    def to_users(self, userids: Iterable[str], text: str, *, dedupe_key: str, markdown: bool = False,
                 source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a one-to-one app message (message/send) to WeCom members."""
        target = "|".join(userids)
        return self._queue_text("app", target, text, markdown=markdown, mentions=(), mention_mobiles=(),
                                dedupe_key=dedupe_key, source=source, session=session)

    def to_response_url(self, url: str, text: str, *, dedupe_key: str, group_id: Optional[str] = None,
                        source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue the AI bot's active reply (response_url is single use: one message, trimmed)."""
        content = split_utf8(text, LIMITS[("aibot_response", "markdown")])[0]
        return int(self.enqueue(channel="aibot_response", target=url, msgtype="markdown",
                                payload={"msgtype": "markdown", "markdown": {"content": content}},
                                dedupe_key=dedupe_key, group_id=group_id, source=source, session=session))

    def _queue_text(self, channel, target, text, *, markdown, mentions, dedupe_key, group_id=None,
                    source=None, session=None, mention_mobiles=()) -> int:
        msgtype = "markdown" if markdown else "text"
        if markdown and (mentions or mention_mobiles):
            # markdown mentions by userid only: a mobile is mapped to its member when known
            users = list(mentions) + [p.userid for m in mention_mobiles for p in self.config.people if p.mobile == m]
            text = text + "\n" + " ".join(f"<@{u}>" for u in dict.fromkeys(users))
        parts = split_utf8(text, LIMITS[(channel, msgtype)])
        added = 0
        for i, part in enumerate(parts):
            body: dict = {"content": part}
            if msgtype == "text" and mentions and i == 0 and channel == "webhook":
                body["mentioned_list"] = list(mentions)
            if msgtype == "text" and mention_mobiles and i == 0 and channel == "webhook":
                body["mentioned_mobile_list"] = list(mention_mobiles)
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
