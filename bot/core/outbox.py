"""The outbox: every outbound message is a row with a unique dedupe key and a final state.

Nothing is sent except through it. Rows hold channel-neutral content (see bot/channels/base.py);
the adapter of the addressee's channel splits it to its limits when it is queued and renders the
wire format when the sender delivers it. Enqueue inside the caller's transaction when the message
belongs to a domain change (a warning, a campaign slot), so that both land or neither does.

The states of a row change in one place, the functions at the end of this module:
pending → sending (claimed) → sent | pending again (retry, or waiting for a rate limit) | dead.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Address, Unreachable, image_payload, text_payload
from bot.config import Config
from bot.db import insert_unless_exists, session_scope, utcnow
from bot.models import OutboxMessage

if TYPE_CHECKING:
    from bot.channels import Channels
    from bot.core.message import Message, Reply

log = logging.getLogger(__name__)

__all__ = ["Outbox", "Unreachable", "Address"]


class Outbox:
    """Queue outbound messages by addressee. `notify` wakes the in-process sender at once."""

    def __init__(self, config: Config, sessions: sessionmaker, channels: "Channels",
                 notify: Optional[Callable[[], None]] = None):
        self.config = config
        self.sessions = sessions
        self.channels = channels
        self.notify = notify or (lambda: None)

    # --- low level ----------------------------------------------------------------------------
    def enqueue(self, *, channel: str, target: str, msgtype: str, payload: dict, dedupe_key: str,
                group_id: Optional[str] = None, source: Optional[str] = None,
                session: Optional[Session] = None, not_before: Optional[dt.datetime] = None) -> bool:
        """Add one row as it is (an adapter's payload); False when the dedupe key exists already.
        not_before: the row waits until then."""
        now = utcnow()
        values = dict(dedupe_key=dedupe_key, channel=channel, target=target, group_id=group_id,
                      msgtype=msgtype, payload=payload, state="pending", attempts=0,
                      next_attempt_at=max(not_before or now, now), created_at=now, source=source)
        return bool(self._write(lambda s: insert_unless_exists(s, OutboxMessage, values, ["dedupe_key"]) is not None,
                                session))

    def _write(self, fn, session: Optional[Session]):
        """Run fn(session) in the caller's transaction, or in one of its own that wakes the sender."""
        if session is not None:
            return fn(session)
        with session_scope(self.sessions) as s:
            result = fn(s)
        if result:
            self.notify()
        return result

    def add(self, address: Address, kind: str, payload: dict, *, dedupe_key: str, source: Optional[str],
            session: Optional[Session], not_before: Optional[dt.datetime] = None) -> int:
        """Split the payload to the channel's limits and add a row per part (key#1, key#2 …)."""
        parts = self.channels[address.channel].parts(payload, kind)

        def write(s: Session) -> int:
            added = 0
            for i, part in enumerate(parts):
                key = dedupe_key if len(parts) == 1 else f"{dedupe_key}#{i + 1}"
                added += self.enqueue(channel=address.channel, target=address.target, msgtype=kind, payload=part,
                                      dedupe_key=key, group_id=address.group_id, source=source, session=s,
                                      not_before=not_before)
            return added
        return self._write(write, session)

    def _group_address(self, group_id: str):
        group = self.config.group(group_id)
        if group is None:
            raise KeyError(f"unknown group {group_id!r}")
        return self.channels.for_group(group)

    # --- to a configured group -----------------------------------------------------------------
    def to_group(self, group_id: str, text: str, *, dedupe_key: str, rich: bool = False,
                 mentions: Iterable[str] = (), mention_mobiles: Iterable[str] = (),
                 source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a text for a configured group through the channel its `send.via` names; returns rows
        added. rich: the text is in the project's markup (readers who do not see it get it plain).
        mentions @ members by userid, mention_mobiles by mobile number. Raises Unreachable for a
        group reached only by @-mentions (aibot) or not at all."""
        adapter, address = self._group_address(group_id)
        payload = text_payload(text, rich=rich, mentions=tuple(mentions), mention_mobiles=tuple(mention_mobiles))
        return adapter.queue(self, address, "text", payload, dedupe_key=dedupe_key, source=source, session=session)

    def to_group_image(self, group_id: str, image: bytes, *, dedupe_key: str, caption: str = "",
                       source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a PNG/JPEG (at most 2 MB) for a group, with an optional caption; ValueError for a bad image."""
        adapter, address = self._group_address(group_id)
        return adapter.queue(self, address, "image", dict(image_payload(image), caption=caption),
                             dedupe_key=dedupe_key, source=source, session=session)

    def to_group_news(self, group_id: str, articles: list[dict], *, dedupe_key: str, text: str = "",
                      source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue 1–8 articles ({title, description, url, picurl}) for a group, with `text` where the
        channel carries one beside them."""
        if not 1 <= len(articles) <= 8 or any(not a.get("title") or not a.get("url") for a in articles):
            raise ValueError("news needs 1 to 8 articles, each with a title and a url")
        adapter, address = self._group_address(group_id)
        arts = [{k: a[k] for k in ("title", "description", "url", "picurl") if a.get(k)} for a in articles]
        return adapter.queue(self, address, "news", {"articles": arts, "text": text},
                             dedupe_key=dedupe_key, source=source, session=session)

    def mass_send(self, group_ids: Iterable[str], text: str, *, dedupe_key: str, attachments: list = (),
                  source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue one task for several groups of one owner where their channel allows it (customer
        groups: one mass-send task the owner confirms once); Unreachable otherwise."""
        groups = [self.config.group(g) for g in group_ids]
        if not groups or None in groups:
            raise KeyError(f"unknown group in {list(group_ids)!r}")
        adapters = {self.channels.for_group(g)[0].name for g in groups}
        adapter = self.channels[adapters.pop()] if len(adapters) == 1 else None
        if adapter is None or not hasattr(adapter, "queue_task"):
            raise Unreachable("one task for several groups is only for customer groups (send.via customer_group)")
        return adapter.queue_task(self, groups, text, list(attachments), dedupe_key=dedupe_key, source=source,
                                  session=session)

    # --- to WeCom members, one to one ----------------------------------------------------------
    def _members(self, userids: Iterable[str]) -> Address:
        if self.channels.members is None:
            raise Unreachable("no channel reaches members one to one")
        return Address(self.channels.members.name, "|".join(userids))

    def to_members(self, userids: Iterable[str], text: str, *, dedupe_key: str, rich: bool = False,
                   source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a one-to-one message to WeCom members (the self-built app's message/send)."""
        return self.add(self._members(userids), "text", text_payload(text, rich=rich), dedupe_key=dedupe_key,
                           source=source, session=session)

    def card_to_members(self, userids: Iterable[str], card: dict, *, dedupe_key: str,
                        source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue a task card {title, description, task_id, buttons: [{key, label, done_label, primary,
        danger}]} to members; they answer by clicking a button (an event with the task id and key)."""
        return self.add(self._members(userids), "card", dict(card), dedupe_key=dedupe_key, source=source,
                           session=session)

    def update_card(self, userids: Iterable[str], task_id: str, labels: list[str], *, dedupe_key: str,
                    source: Optional[str] = None, session: Optional[Session] = None) -> int:
        """Queue the update of a task card: every member who got it sees the first of `labels` (most
        detailed first) that the channel can show in place of the buttons."""
        users = list(userids)
        return self.add(self._members(users), "card_update",
                        {"task_id": task_id, "labels": list(labels), "userids": users},
                        dedupe_key=dedupe_key, source=source, session=session)

    # --- answers ---------------------------------------------------------------------------------
    def to_address(self, address: Address, text: str, *, dedupe_key: str, rich: bool = False,
                   source: Optional[str] = None, session: Optional[Session] = None,
                   not_before: Optional[dt.datetime] = None) -> int:
        return self.add(address, "text", text_payload(text, rich=rich), dedupe_key=dedupe_key, source=source,
                        session=session, not_before=not_before)

    def reply_later(self, msg: "Message", replies: list["Reply"], *, dedupe_key: str,
                    source: Optional[str] = None, not_before: Optional[dt.datetime] = None) -> int:
        """Answer `msg` after the passive deadline (or not before `not_before`), where its channel
        says a late answer goes."""
        rich = any(r.rich for r in replies)
        payload = text_payload("\n\n".join((r.rich or r.text) if rich else r.text for r in replies), rich=rich)
        where = self.channels[msg.channel].late_address(msg)
        if isinstance(where, str):           # a configured group: through the channel that reaches it
            adapter, address = self._group_address(where)
            return adapter.queue(self, address, "text", payload, dedupe_key=dedupe_key, source=source, session=None,
                                 not_before=not_before)
        address = where if isinstance(where, Address) else self._members(where)
        return self.add(address, "text", payload, dedupe_key=dedupe_key, source=source, session=None,
                        not_before=not_before)

    # --- reading ---------------------------------------------------------------------------------
    def rows(self, *, state: Optional[str] = None, limit: int = 100) -> list[OutboxMessage]:
        with self.sessions() as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
            if state:
                q = q.where(OutboxMessage.state == state)
            return list(s.scalars(q))


# --- the states of a row: every change goes through these ------------------------------------------
#
# A sender claims rows with a token (pending → sending until a time). Before each attempt it checks
# that the claim is still its own and extends it to cover the request (begin_attempt); every write of
# the outcome is made only under the same token. So a sender whose claim ran out and was taken over
# can neither send that row nor record anything about it: the claim is fenced.
_T = OutboxMessage.__table__


def due_condition(now: dt.datetime):
    """Rows a sender may take: pending ones, and claims whose sender died (or stopped)."""
    return or_(_T.c.state == "pending", (_T.c.state == "sending") & (_T.c.claimed_until < now))


def claim(session: Session, row_id: int, now: dt.datetime, until: dt.datetime, token: str) -> bool:
    """pending (or an expired claim) → sending until `until` under `token`; False when another
    sender was first. Taking over a claim whose attempt had started counts an unknown outcome: that
    request may or may not have reached WeCom."""
    res = session.execute(update(_T).where(_T.c.id == row_id, due_condition(now)).values(
        state="sending", claimed_until=until, claim_token=token, attempt_started_at=None,
        unknown_outcomes=_T.c.unknown_outcomes + case((_T.c.attempt_started_at.is_not(None), 1), else_=0)))
    return res.rowcount == 1


def _owned(row_id: int, token: str):
    return (_T.c.id == row_id) & (_T.c.claim_token == token) & (_T.c.state == "sending")


def _set(sessions: sessionmaker, session: Optional[Session], where, **values) -> bool:
    stmt = update(_T).where(where).values(**values)
    if session is not None:
        return session.execute(stmt).rowcount == 1
    with session_scope(sessions) as s:
        return s.execute(stmt).rowcount == 1


def begin_attempt(sessions: sessionmaker, row_id: int, token: str, now: dt.datetime, until: dt.datetime) -> bool:
    """The claim is still ours: mark the attempt started and hold the row until `until` (long enough
    for the request). False: the claim ran out and may be someone else's now; do not send."""
    return _set(sessions, None, _owned(row_id, token) & (_T.c.claimed_until >= now),
                attempt_started_at=now, claimed_until=until)


def mark_sent(session: Session, row_id: int, token: str, *, attempts: int, at: dt.datetime, result: dict) -> bool:
    """sending → sent, with WeCom's answer (False: the claim was not ours any more)."""
    return _set(None, session, _owned(row_id, token), state="sent", sent_at=at, attempts=attempts,
                claimed_until=None, attempt_started_at=None, last_error=None, result=result)


def defer(sessions: sessionmaker, row_id: int, token: str, until: dt.datetime, reason: Optional[str] = None) -> bool:
    """sending → pending, not tried: the addressee's rate limit is used up until `until` (`reason`
    says so in last_error, for the delivery log; a later send clears it)."""
    extra = {"last_error": reason} if reason else {}
    return _set(sessions, None, _owned(row_id, token), state="pending", next_attempt_at=until, claimed_until=None,
                **extra)


def retry_later(sessions: sessionmaker, row_id: int, token: str, *, attempts: int, reason: str, at: dt.datetime,
                unknown: bool = False) -> bool:
    """sending → pending: the attempt failed (or its outcome is unknown) and is tried again at `at`."""
    extra = {"unknown_outcomes": _T.c.unknown_outcomes + 1} if unknown else {}
    return _set(sessions, None, _owned(row_id, token), state="pending", attempts=attempts, last_error=reason,
                claimed_until=None, attempt_started_at=None, next_attempt_at=at, **extra)


def mark_dead(sessions: sessionmaker, row_id: int, token: str, *, attempts: int, reason: str,
              unknown: bool = False) -> bool:
    """sending → dead: a final error, or too many attempts."""
    extra = {"unknown_outcomes": _T.c.unknown_outcomes + 1} if unknown else {}
    return _set(sessions, None, _owned(row_id, token), state="dead", attempts=attempts, last_error=reason,
                claimed_until=None, attempt_started_at=None, **extra)


def requeue_dead(sessions: sessionmaker, now: dt.datetime) -> int:
    """dead → pending for every dead row (`python -m bot outbox retry-dead`); returns how many."""
    with session_scope(sessions) as s:
        return s.execute(update(_T).where(_T.c.state == "dead")
                         .values(state="pending", attempts=0, next_attempt_at=now)).rowcount
