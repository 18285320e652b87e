"""Inbox: dedupe a message across a channel's retries, route it, and decide how replies go out.

A reply ready within the deadline goes back passively in the HTTP answer (the channel adapter
renders it); a late one goes through the outbox to where the message's channel says a late answer
goes. A retry of a message already seen gets the stored passive reply, or nothing — never a
second action.

A message is handled under a lease, renewed while its handler works. If the process dies, the lease
runs out and the message is taken up again, once: by WeCom's next retry, or by any running process's
inbox (`recover`, every half lease) when no retry comes. A handler that changes something writes its replies in the same
transaction (`record_applied`), so a message taken up again answers them instead of acting twice.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.channels.base import Unreachable
from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.outbox import Outbox
from bot.core.router import Router
from bot.db import begin, insert_unless_exists, session_scope, too_long, utcnow
from bot.models import CallbackSignature, InboundMessage
from bot.privacy import mask_phone

log = logging.getLogger(__name__)

_T = InboundMessage.__table__
# a message left unfinished longer than this is not taken up again (the answer would come too late to
# help, and a channel's late path expires: the AI bot's response_url, the official account's 48 h)
RECOVERY_HORIZON = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Guard:
    """A verified callback's signature: recorded with the message, so a replay is refused."""
    channel: str
    signature: str
    at: dt.datetime


@dataclass(frozen=True)
class Handling:
    """This process handles row `row_id` under `token`; `deliveries` is how many deliveries the row
    had when it was taken: another one since means the channel gave up on this connection."""
    row_id: int
    token: str
    deliveries: int


_REPLY_FIELDS = tuple(f.name for f in dataclasses.fields(Reply))
_MESSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Message))


def _dump(replies: list[Reply]) -> str:
    # by hand, not dataclasses.asdict: it deep-copies, and this runs on every callback
    return json.dumps([{k: getattr(r, k) for k in _REPLY_FIELDS} for r in replies], ensure_ascii=False, default=str)


def _intent(replies: list[Reply]) -> Optional[str]:
    return next((r.intent for r in replies if r.intent), None)


def _verdict(replies: list[Reply]) -> dict:
    """The Q&A's score and decision of the first reply that carries one (columns of inbound_message)."""
    r = next((r for r in replies if r.decision), None)
    return {"score": r.score, "decision": r.decision} if r is not None else {"score": None, "decision": None}


def _load(text: str) -> list[Reply]:
    out = []
    for d in json.loads(text):
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        if "markdown" in d:          # stored before replies carried a rich form: text was the markup
            d["rich"] = d["text"] if d.pop("markdown") else None
        if isinstance(d.get("after"), str):
            d["after"] = dt.datetime.fromisoformat(d["after"])
        out.append(Reply(**d))
    return out


def _message_doc(msg: Message) -> dict:
    d = {k: getattr(msg, k) for k in _MESSAGE_FIELDS}
    d["mentions"], d["pictures"], d["extra"] = list(msg.mentions), list(msg.pictures), dict(msg.extra)
    return d


def _message(doc: dict) -> Message:
    return Message(**{**doc, "mentions": tuple(doc.get("mentions") or ()), "pictures": tuple(doc.get("pictures") or ())})


def record_applied(session: Session, msg: Message, replies: list[Reply]) -> None:
    """Call in the transaction that makes a message's changes, with the replies about them: if the
    process dies before the message is finished, whoever takes it up again answers these instead of
    making the changes a second time."""
    session.execute(update(_T).where(_T.c.channel == msg.channel, _T.c.dedupe_key == msg.dedupe_key)
                    .values(applied_reply=_dump(replies)))


def received_at(session: Session, msg: Message) -> Optional[dt.datetime]:
    """When the inbox first heard this message (the same on every retry and every take-over)."""
    return session.scalar(select(_T.c.received_at).where(_T.c.channel == msg.channel,
                                                         _T.c.dedupe_key == msg.dedupe_key))


class Replayed(Exception):
    """A callback whose signature was already accepted once."""


class BadMessage(Exception):
    """A message that cannot be recorded as it is (an id longer than its column): refused, with why."""


def clean(msg: Message) -> Message:
    """The message with NUL characters made visible (U+FFFD): PostgreSQL stores no NUL in text, and a
    message refused on every retry would never be answered."""
    if "\x00" not in f"{msg.text}{msg.sender}{msg.chat_id}{msg.dedupe_key}{msg.event_key}":
        return msg
    fix = (lambda v: v.replace("\x00", "\ufffd") if isinstance(v, str) else v)
    return dataclasses.replace(msg, text=fix(msg.text), sender=fix(msg.sender), chat_id=fix(msg.chat_id),
                               dedupe_key=fix(msg.dedupe_key), event_key=fix(msg.event_key),
                               extra={k: fix(v) for k, v in msg.extra.items()})


class Inbox:
    def __init__(self, ctx: Context, router: Router, outbox: Outbox, deadline: float, lease_seconds: float = 30.0,
                 workers: int = 8, heavy_workers: int = 1, heavy_queue: int = 30):
        self.ctx = ctx
        self.router = router
        self.outbox = outbox
        self.deadline = deadline
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inbox")
        # heavy handlers (reading a picture) have their own pool: a burst of them waits in its line
        # (at most heavy_queue) and never holds up the text answers
        self.heavy_pool = ThreadPoolExecutor(max_workers=heavy_workers, thread_name_prefix="heavy")
        self.heavy_capacity = heavy_workers + heavy_queue
        self._heavy_load = 0
        self.engine = ctx.sessions.kw["bind"]
        # rows this process handles now: their leases are renewed until they are finished
        self._active: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._keeper: Optional[threading.Thread] = None

    def receive(self, msg: Message, started: Optional[float] = None, guard: Optional[Guard] = None) -> list[Reply]:
        """Handle one message; returns the replies to give passively (possibly none).

        `started` is the monotonic time the request arrived: the deadline counts from there.
        Raises Replayed when `guard`'s signature was seen before.
        """
        started = time.monotonic() if started is None else started
        msg = clean(msg)
        long = too_long(InboundMessage, dict(channel=msg.channel, dedupe_key=msg.dedupe_key, chat_id=msg.chat_id,
                                             sender=msg.sender, msg_type=msg.event or msg.msg_type))
        if long:
            raise BadMessage(", ".join(f"{f} longer than {n} characters" for f, n in long))
        answered = self._answer_first(msg, started)
        h = self._record(msg, guard, answered)
        if h is None:
            h, applied = self._take_over(msg, delivery=True)
            if h is None:
                return self._replay(msg)
            if applied is not None:            # its changes were made before the process died
                return self._answer(h, msg, "applied", applied, started)
        elif answered is not None:             # answered and recorded in one transaction
            return answered[1]
        try:
            route = self.router.select(msg, self.ctx)
            if route.quick:   # no hop to the pool: a quick answer is ready long before the deadline
                return self._answer(h, msg, route.name, route.answer(), started)
            if route.heavy:
                return self._heavy(h, msg, route, started)
        except Exception as e:
            self._finish(h, state="failed", error=f"{type(e).__name__}: {e}")
            log.exception("handler failed on %s", msg.dedupe_key)
            return []
        future = self.pool.submit(lambda: (route.name, route.answer()))
        try:
            handled_by, replies = future.result(timeout=max(0.0, self.deadline - (time.monotonic() - started)))
        except TimeoutError:
            # too late for a passive answer: WeCom has given up on this request by now
            log.warning("answer to %s not ready in %.1fs: will send it actively", msg.dedupe_key, self.deadline)
            future.add_done_callback(lambda f: self._late(h, msg, f))
            return []
        except Exception as e:
            self._finish(h, state="failed", error=f"{type(e).__name__}: {e}")
            log.exception("handler failed on %s", msg.dedupe_key)
            return []
        return self._answer(h, msg, handled_by, replies, started)

    def _answer(self, h: Handling, msg: Message, handled_by: str, replies: list[Reply], started: float) -> list[Reply]:
        in_place = [r for r in replies if r.in_place]
        self._send_targeted(h, msg, [r for r in replies if not r.in_place])
        if not in_place:
            self._finish(h, handled_by=handled_by, replied_via="outbox" if replies else "none",
                         intent=_intent(replies), **_verdict(replies))
            return []
        if time.monotonic() - started <= self.deadline and self._finish_passive(h, handled_by, in_place,
                                                                                  _intent(replies), _verdict(replies)):
            return in_place
        # a retry came in meanwhile (or time ran out): this connection's answer would be lost
        self._late_replies(h, msg, handled_by, in_place)
        return []

    def _heavy(self, h: Handling, msg: Message, route, started: float) -> list[Reply]:
        """Slow work: the handler's quick look, then the work in the heavy pool. The passive answer is
        the handler's `pending` text; the result goes out through the outbox when it is ready."""
        handler = route.handler
        first = handler.at_once(msg, self.ctx)
        if first is not None:
            return self._answer(h, msg, route.name, first, started)
        if not self._submit_heavy(h, msg, route):
            log.warning("heavy work full (%d in line): %s answered busy", self.heavy_capacity, msg.dedupe_key)
            return self._answer(h, msg, route.name, [Reply(handler.busy)] if handler.busy else [], started)
        return [Reply(handler.pending)] if handler.pending else []

    def _submit_heavy(self, h: Handling, msg: Message, route) -> bool:
        """Queue a heavy route; False when its line is full."""
        with self._lock:
            if self._heavy_load >= self.heavy_capacity:
                return False
            self._heavy_load += 1

        def run():
            try:
                return route.name, route.answer()
            finally:
                with self._lock:
                    self._heavy_load -= 1
        self.heavy_pool.submit(run).add_done_callback(lambda f: self._late(h, msg, f))
        return True

    def _answer_first(self, msg: Message, started: float) -> Optional[tuple[str, list[Reply]]]:
        """A quick handler that only reads (help, the Q&A) answers before the message is recorded, so that
        recording it and its answer is one transaction: (handler, replies), or None for the usual path
        (a handler that changes something, a reply that does not go back in place, an error)."""
        try:
            route = self.router.select(msg, self.ctx)
            if not (route.quick and route.reads_only):
                return None
            replies = route.answer()
        except Exception:
            return None                        # the usual path runs it again and records the failure
        if any(not r.in_place for r in replies) or time.monotonic() - started > self.deadline:
            return None
        return route.name, replies

    # --- steps --------------------------------------------------------------------------
    def _record(self, msg: Message, guard: Optional[Guard],
                answered: Optional[tuple[str, list[Reply]]] = None) -> Optional[Handling]:
        """Insert the inbound row (and the replay guard) in one transaction; None if seen before. With
        `answered` the row is recorded finished, with its passive answer."""
        token = uuid.uuid4().hex
        now = utcnow()
        row = dict(channel=msg.channel, dedupe_key=msg.dedupe_key, chat_id=msg.chat_id, sender=msg.sender,
                   msg_type=msg.event or msg.msg_type, text=msg.text, received_at=now, deliveries=1,
                   message=_message_doc(msg))
        if answered is None:
            row.update(state="processing", lease_until=now + self.lease, handler_token=token)
        else:
            handled_by, replies = answered
            row.update(state="done", finished_at=now, handled_by=handled_by, intent=_intent(replies),
                       **_verdict(replies), replied_via="passive" if replies else "none",
                       passive_reply=_dump(replies) if replies else None)
        with begin(self.engine) as conn:
            if guard is not None:
                self._guard(conn, guard)
            row_id = insert_unless_exists(conn, InboundMessage, row, ["channel", "dedupe_key"])
        if row_id is None:
            return None
        if answered is None:
            self._hold(row_id, token)
        return Handling(row_id, token, 1)

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

    # --- taking up a message whose handler died ---------------------------------------------
    def _take_over(self, msg: Message, delivery: bool) -> tuple[Optional[Handling], Optional[list[Reply]]]:
        """Take a message over when it is still processing and its lease ran out (its process died):
        → (handling, the replies its changes were committed with, if they were). (None, None) when
        it is finished or still in someone's hands."""
        now, token = utcnow(), uuid.uuid4().hex
        where = ((_T.c.channel == msg.channel) & (_T.c.dedupe_key == msg.dedupe_key) & (_T.c.state == "processing")
                 & (_T.c.lease_until < now))
        with begin(self.engine) as conn:
            values = dict(lease_until=now + self.lease, handler_token=token)
            if delivery:
                values["deliveries"] = _T.c.deliveries + 1
            row = conn.execute(update(_T).where(where).values(**values)
                               .returning(_T.c.id, _T.c.deliveries, _T.c.applied_reply)).first()
        if row is None:
            return None, None
        log.warning("taking up %s %s again: its handler stopped before finishing", msg.channel, msg.dedupe_key)
        self._hold(row.id, token)
        return Handling(row.id, token, row.deliveries), (_load(row.applied_reply) if row.applied_reply else None)

    def recover(self) -> int:
        """Handle again every message whose handler died (its lease ran out) and no retry took up;
        the answers go out through the outbox. Older than RECOVERY_HORIZON: recorded as failed."""
        now = utcnow()
        with self.ctx.sessions() as s:
            stale = list(s.execute(select(_T.c.id, _T.c.message, _T.c.received_at)
                                   .where(_T.c.state == "processing", _T.c.lease_until < now)
                                   .order_by(_T.c.id).limit(200)))
        done = 0
        for row_id, doc, received in stale:
            if doc is None or now - received > RECOVERY_HORIZON:
                self._abandon(row_id, now)
                continue
            msg = _message(doc)
            h, applied = self._take_over(msg, delivery=False)
            if h is None:
                continue
            if applied is None:
                route = self.router.select(msg, self.ctx)
                if route.heavy and self._submit_heavy(h, msg, route):
                    done += 1
                    continue
            done += self._answer_late(h, msg, (lambda a=applied: ("applied", a)) if applied is not None
                                      else (lambda m=msg: self._route(m)))
        return done

    def _abandon(self, row_id: int, now: dt.datetime) -> None:
        with begin(self.engine) as conn:
            conn.execute(update(_T).where(_T.c.id == row_id, _T.c.state == "processing", _T.c.lease_until < now)
                         .values(state="failed", finished_at=now, lease_until=None,
                                 error="abandoned: its handler stopped, and it is too old to answer now"))

    # --- leases ------------------------------------------------------------------------------
    def _hold(self, row_id: int, token: str) -> None:
        with self._lock:
            self._active[row_id] = token
        if self._keeper is None:
            self.start()

    def _release(self, h: Handling) -> None:
        with self._lock:
            if self._active.get(h.row_id) == h.token:
                del self._active[h.row_id]

    def start(self) -> None:
        """Start renewing this process's leases and taking up messages whose handler died."""
        with self._lock:
            if self._keeper is not None:
                return
            self._keeper = threading.Thread(target=self._keep, name="inbox-leases", daemon=True)
            self._keeper.start()

    def _keep(self) -> None:
        """A third of the lease a time: renew what this process handles; every other round, take up
        what a dead process left (a takeover is a conditional update, so processes never both win)."""
        every = self.lease.total_seconds() / 3
        rounds = 0
        while not self._stop.wait(every):
            rounds += 1
            with self._lock:
                held = dict(self._active)
            for row_id, token in held.items():
                try:
                    with begin(self.engine) as conn:
                        conn.execute(update(_T).where(_T.c.id == row_id, _T.c.handler_token == token,
                                                      _T.c.state == "processing")
                                     .values(lease_until=utcnow() + self.lease))
                except Exception:
                    log.exception("could not renew the lease of inbound message %s", row_id)
            if rounds % 2 == 0:
                try:
                    n = self.recover()
                    if n:
                        log.warning("took up %d message(s) whose handler had stopped", n)
                except Exception:
                    log.exception("taking up stopped messages failed")

    # --- answering ---------------------------------------------------------------------------
    def _route(self, msg: Message):
        return self.router.dispatch(msg, self.ctx)

    def _late(self, h: Handling, msg: Message, future) -> None:
        self._answer_late(h, msg, future.result)

    def _answer_late(self, h: Handling, msg: Message, answer) -> bool:
        """Answer through the outbox with what `answer()` gives: (handled by, replies). False: it failed."""
        try:
            handled_by, replies = answer()
        except Exception as e:
            log.exception("handler failed on %s", msg.dedupe_key)
            self._finish(h, state="failed", error=f"{type(e).__name__}: {e}")
            return False
        self._send_targeted(h, msg, [r for r in replies if not r.in_place])
        in_place = [r for r in replies if r.in_place]
        if in_place:
            self._late_replies(h, msg, handled_by, in_place)
        else:
            self._finish(h, handled_by=handled_by, replied_via="none")
        return True

    def _late_replies(self, h: Handling, msg: Message, handled_by: str, replies: list[Reply]) -> None:
        try:
            self.outbox.reply_later(msg, replies, dedupe_key=f"late:{msg.channel}:{msg.dedupe_key}",
                                    source=f"inbound:{h.row_id}")
        except Exception as e:
            log.exception("could not queue the late answer to %s", msg.dedupe_key)
            self._finish(h, state="failed", error=f"{type(e).__name__}: {e}")
            return
        self._finish(h, handled_by=handled_by, replied_via="outbox", intent=_intent(replies), **_verdict(replies))

    def _send_targeted(self, h: Handling, msg: Message, replies: list[Reply]) -> None:
        """Replies that do not go back now: to another group or to members, or later (`after`)."""
        for i, r in enumerate(replies):
            key = f"reply:{msg.channel}:{msg.dedupe_key}:{i}"
            if r.after and not (r.to_group or r.to_users):
                self.outbox.reply_later(msg, [r], dedupe_key=f"later:{msg.channel}:{msg.dedupe_key}:{i}",
                                        source=f"inbound:{h.row_id}", not_before=r.after)
            if r.to_group:
                try:
                    self.outbox.to_group(r.to_group, r.rich or r.text, rich=bool(r.rich), dedupe_key=key,
                                         mentions=r.mention, source=f"inbound:{h.row_id}")
                except Unreachable as e:
                    log.warning("%s", e)
            if r.to_users:
                self.outbox.to_members(r.to_users, r.text, dedupe_key=key + ":u", source=f"inbound:{h.row_id}")

    # built once: this statement ends every callback answered in time
    _PASSIVE = (update(_T).where(_T.c.id == bindparam("row_id"), _T.c.handler_token == bindparam("token"),
                                 _T.c.deliveries == bindparam("seen"))
                .values(state="done", finished_at=bindparam("at"), handled_by=bindparam("by"), lease_until=None,
                        replied_via="passive", passive_reply=bindparam("reply"), intent=bindparam("intent"),
                        score=bindparam("score"), decision=bindparam("decision")))

    def _finish_passive(self, h: Handling, handled_by: str, replies: list[Reply], intent: Optional[str],
                        verdict: Optional[dict] = None) -> bool:
        """Record the passive answer unless a retry arrived meanwhile (then False)."""
        verdict = verdict or {"score": None, "decision": None}
        with begin(self.engine) as conn:
            res = conn.execute(self._PASSIVE, dict(row_id=h.row_id, token=h.token, seen=h.deliveries, at=utcnow(),
                                                   by=handled_by, reply=_dump(replies), intent=intent, **verdict))
        if res.rowcount == 1:
            self._release(h)
        return res.rowcount == 1

    def _finish(self, h: Handling, state: str = "done", **values) -> None:
        if "error" in values:
            values["error"] = mask_phone(values["error"])[:1000]
        with begin(self.engine) as conn:
            res = conn.execute(update(_T).where(_T.c.id == h.row_id, _T.c.handler_token == h.token)
                               .values(state=state, finished_at=utcnow(), lease_until=None, **values))
        if res.rowcount != 1:
            log.warning("inbound message %s was taken over by another process before it finished here", h.row_id)
        self._release(h)

    def shutdown(self) -> None:
        self._stop.set()
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.heavy_pool.shutdown(wait=True, cancel_futures=False)
