"""Inbox: dedupe a message across a channel's retries, route it, and decide how replies go out.

A reply ready within the deadline goes back passively in the HTTP answer (the channel adapter
renders it); a late one goes through the outbox to where the message's channel says a late answer
goes. A retry of a message already seen gets the stored passive reply, or nothing — never a
second action.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Optional

from sqlalchemy import bindparam, select, update

from bot.channels.base import Unreachable
from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.outbox import Outbox
from bot.core.router import Router
from bot.db import begin, insert_unless_exists, session_scope, utcnow
from bot.models import CallbackSignature, InboundMessage
from bot.privacy import mask_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Guard:
    """A verified callback's signature: recorded with the message, so a replay is refused."""
    channel: str
    signature: str
    at: dt.datetime


def _dump(replies: list[Reply]) -> str:
    return json.dumps([asdict(r) for r in replies], ensure_ascii=False)


def _intent(replies: list[Reply]) -> Optional[str]:
    return next((r.intent for r in replies if r.intent), None)


def _load(text: str) -> list[Reply]:
    out = []
    for d in json.loads(text):
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        if "markdown" in d:          # stored before replies carried a rich form: text was the markup
            d["rich"] = d["text"] if d.pop("markdown") else None
        out.append(Reply(**d))
    return out


class Replayed(Exception):
    """A callback whose signature was already accepted once."""


class Inbox:
    def __init__(self, ctx: Context, router: Router, outbox: Outbox, deadline: float, workers: int = 8):
        self.ctx = ctx
        self.router = router
        self.outbox = outbox
        self.deadline = deadline
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inbox")
        self.engine = ctx.sessions.kw["bind"]

    def receive(self, msg: Message, started: Optional[float] = None, guard: Optional[Guard] = None) -> list[Reply]:
        """Handle one message; returns the replies to give passively (possibly none).

        `started` is the monotonic time the request arrived: the deadline counts from there.
        Raises Replayed when `guard`'s signature was seen before.
        """
        started = time.monotonic() if started is None else started
        row_id = self._record(msg, guard)
        if row_id is None:
            return self._replay(msg)
        future = self.pool.submit(self._route, msg)
        try:
            handled_by, replies = future.result(timeout=max(0.0, self.deadline - (time.monotonic() - started)))
        except TimeoutError:
            # too late for a passive answer: WeCom has given up on this request by now
            log.warning("answer to %s not ready in %.1fs: will send it actively", msg.dedupe_key, self.deadline)
            future.add_done_callback(lambda f: self._late(row_id, msg, f))
            return []
        except Exception as e:
            self._finish(row_id, state="failed", error=f"{type(e).__name__}: {e}")
            log.exception("handler failed on %s", msg.dedupe_key)
            return []
        in_place = [r for r in replies if r.in_place]
        self._send_targeted(row_id, msg, [r for r in replies if not r.in_place])
        if not in_place:
            self._finish(row_id, handled_by=handled_by, replied_via="none")
            return []
        if time.monotonic() - started <= self.deadline and self._finish_passive(row_id, handled_by, in_place,
                                                                                  _intent(in_place)):
            return in_place
        # a retry came in meanwhile (or time ran out): this connection's answer would be lost
        self._late_replies(row_id, msg, handled_by, in_place)
        return []

    # --- steps --------------------------------------------------------------------------
    def _record(self, msg: Message, guard: Optional[Guard]) -> Optional[int]:
        """Insert the inbound row (and the replay guard) in one transaction; None if seen before."""
        with begin(self.engine) as conn:
            if guard is not None:
                self._guard(conn, guard)
            return insert_unless_exists(conn, InboundMessage, dict(
                channel=msg.channel, dedupe_key=msg.dedupe_key, chat_id=msg.chat_id, sender=msg.sender,
                msg_type=msg.event or msg.msg_type, text=msg.text, received_at=utcnow(), deliveries=1,
                state="processing"), ["channel", "dedupe_key"])

    def remember(self, guard: Guard) -> None:
        """Record a callback that carries no message of its own (a stream refresh)."""
        with begin(self.engine) as conn:
            self._guard(conn, guard)

    def _guard(self, conn, guard: Guard) -> None:
        added = insert_unless_exists(conn, CallbackSignature, dict(
            channel=guard.channel, signature=guard.signature, seen_at=guard.at), ["channel", "signature"])
        if added is None:
            raise Replayed(guard.signature)

    def passive_replies(self, channel: str, dedupe_key: str) -> list[Reply]:
        """What was answered passively to a message (for a channel that polls for it again)."""
        with self.ctx.sessions() as s:
            stored = s.scalar(select(InboundMessage.passive_reply).where(
                InboundMessage.channel == channel, InboundMessage.dedupe_key == dedupe_key))
        return _load(stored) if stored else []

    def _replay(self, msg: Message) -> list[Reply]:
        with session_scope(self.ctx.sessions) as s:
            where = (InboundMessage.channel == msg.channel, InboundMessage.dedupe_key == msg.dedupe_key)
            s.execute(update(InboundMessage).where(*where).values(deliveries=InboundMessage.deliveries + 1))
            row = s.scalars(select(InboundMessage).where(*where)).first()
        log.info("duplicate delivery of %s (%s)", msg.dedupe_key, row.state if row else "?")
        if row is not None and row.replied_via == "passive" and row.passive_reply:
            return _load(row.passive_reply)
        return []

    def _route(self, msg: Message):
        return self.router.dispatch(msg, self.ctx)

    def _late(self, row_id: int, msg: Message, future) -> None:
        try:
            handled_by, replies = future.result()
        except Exception as e:
            log.exception("handler failed on %s", msg.dedupe_key)
            self._finish(row_id, state="failed", error=f"{type(e).__name__}: {e}")
            return
        self._send_targeted(row_id, msg, [r for r in replies if not r.in_place])
        in_place = [r for r in replies if r.in_place]
        if in_place:
            self._late_replies(row_id, msg, handled_by, in_place)
        else:
            self._finish(row_id, handled_by=handled_by, replied_via="none")

    def _late_replies(self, row_id: int, msg: Message, handled_by: str, replies: list[Reply]) -> None:
        try:
            self._send_in_place_late(row_id, msg, replies)
        except Exception as e:
            log.exception("could not queue the late answer to %s", msg.dedupe_key)
            self._finish(row_id, state="failed", error=f"{type(e).__name__}: {e}")
            return
        self._finish(row_id, handled_by=handled_by, replied_via="outbox", intent=_intent(replies))

    def _send_in_place_late(self, row_id: int, msg: Message, replies: list[Reply]) -> None:
        self.outbox.reply_later(msg, replies, dedupe_key=f"late:{msg.channel}:{msg.dedupe_key}",
                                source=f"inbound:{row_id}")

    def _send_targeted(self, row_id: int, msg: Message, replies: list[Reply]) -> None:
        for i, r in enumerate(replies):
            key = f"reply:{msg.channel}:{msg.dedupe_key}:{i}"
            if r.to_group:
                try:
                    self.outbox.to_group(r.to_group, r.rich or r.text, rich=bool(r.rich), dedupe_key=key,
                                         mentions=r.mention, source=f"inbound:{row_id}")
                except Unreachable as e:
                    log.warning("%s", e)
            if r.to_users:
                self.outbox.to_members(r.to_users, r.text, dedupe_key=key + ":u", source=f"inbound:{row_id}")

    _PASSIVE = (update(InboundMessage.__table__)
                .where(InboundMessage.__table__.c.id == bindparam("row_id"),
                       InboundMessage.__table__.c.deliveries == 1)
                .values(state="done", finished_at=bindparam("finished_at"), handled_by=bindparam("handled_by"),
                        replied_via="passive", passive_reply=bindparam("passive_reply"), intent=bindparam("intent")))

    def _finish_passive(self, row_id: int, handled_by: str, replies: list[Reply], intent: Optional[str]) -> bool:
        """Record the passive answer unless a retry arrived meanwhile (then False)."""
        with begin(self.engine) as conn:
            res = conn.execute(self._PASSIVE, dict(row_id=row_id, finished_at=utcnow(), handled_by=handled_by,
                                                   passive_reply=_dump(replies), intent=intent))
            return res.rowcount == 1

    def _finish(self, row_id: int, state: str = "done", **values) -> None:
        if "error" in values:
            values["error"] = mask_phone(values["error"])[:1000]
        with session_scope(self.ctx.sessions) as s:
            row = s.get(InboundMessage, row_id)
            row.state = state
            row.finished_at = utcnow()
            for k, v in values.items():
                setattr(row, k, v)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
