"""The sender drains the outbox: claims due rows, has each row's channel adapter deliver it, records
a final state.

Several senders (threads or `python -m bot worker` processes) can run at once: a row is claimed
by a conditional UPDATE (and FOR UPDATE SKIP LOCKED on PostgreSQL), and a claim that runs out
(its sender died) is taken again.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bot.channels.base import SendError
from bot.config import Config
from bot.core import outbox as states
from bot.db import session_scope, utcnow
from bot.models import OutboxMessage
from bot.privacy import mask_phone

if TYPE_CHECKING:
    from bot.channels import Channels

log = logging.getLogger(__name__)



class Sender:
    def __init__(self, config: Config, sessions: sessionmaker, channels: "Channels",
                 clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.sessions = sessions
        self.channels = channels
        self.clock = clock
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._executor: Optional[ThreadPoolExecutor] = None

    # --- claiming -----------------------------------------------------------------------
    def claim(self, limit: int = 50) -> list[OutboxMessage]:
        """Take up to `limit` due rows under a fresh claim token (the rows carry it)."""
        now = self.clock()
        token = uuid.uuid4().hex
        with session_scope(self.sessions) as s:
            q = (select(OutboxMessage.id).where(states.due_condition(now), OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = list(s.scalars(q))
            if not ids:
                return []
            until = now + dt.timedelta(seconds=self.config.sender.claim_seconds)
            claimed = [row_id for row_id in ids if states.claim(s, row_id, now, until, token)]
            return list(s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                  .order_by(OutboxMessage.id)))

    def run_once(self, limit: int = 50) -> int:
        """Send what is due now; returns how many rows were handled.

        Rows for different addressees go out in parallel (WeCom answers in tens of milliseconds
        from a county server; one at a time would cap the sender at a few dozen a second); rows
        for one addressee go out in order, so a split message arrives in one piece.
        """
        rows = self.claim(limit)
        lanes: dict[tuple, list] = {}
        for row in rows:
            lanes.setdefault((row.channel, row.target), []).append(row)
        if len(lanes) <= 1 or self.config.sender.concurrency == 1:
            for lane in lanes.values():
                self._send_lane(lane)
        else:
            list(self._pool().map(self._send_lane, lanes.values()))
        return len(rows)

    def _send_lane(self, rows: list) -> None:
        for row in rows:
            self._send_row(row)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.config.sender.concurrency, thread_name_prefix="send")
        return self._executor

    def drain(self, timeout: float = 10.0) -> None:
        """Send until nothing is due (tests and CLI); rows waiting for a later retry stay."""
        deadline = self.clock() + dt.timedelta(seconds=timeout)
        while self.run_once() and self.clock() < deadline:
            pass

    # --- one row ------------------------------------------------------------------------
    def _send_row(self, row: OutboxMessage) -> None:
        token = row.claim_token
        adapter = self.channels[row.channel] if row.channel in self.channels else None
        if adapter is None:
            self._failed(row, None, SendError(-10, f"unknown outbox channel {row.channel!r}", retriable=False))
            return
        limit = adapter.rate_limit(row)
        if limit:
            wait = self._target_wait(row, limit)
            if wait is not None:
                states.defer(self.sessions, row.id, token, wait,
                             reason=f"频率限制：每分钟最多{limit.per_minute}条，等待发送")
                return
        now = self.clock()
        # the row stays ours for the whole request, however slow the answer: no other sender may send it
        hold = dt.timedelta(seconds=adapter.request_seconds() + self.config.sender.claim_seconds / 2)
        if not states.begin_attempt(self.sessions, row.id, token, now, now + hold):
            log.warning("outbox %s: the claim ran out before its attempt; another sender has it now", row.id)
            return
        try:
            result = adapter.deliver(row)
        except SendError as e:
            self._failed(row, adapter, e)
            return
        except Exception as e:  # a bug must not lose the message: keep it for a retry
            log.exception("outbox %s: unexpected error", row.id)
            self._failed(row, adapter, SendError(-9, f"{type(e).__name__}: {e}", retriable=True))
            return
        with session_scope(self.sessions) as s:
            if states.mark_sent(s, row.id, token, attempts=row.attempts + 1, at=self.clock(), result=result):
                adapter.on_sent(s, row, result)
            else:
                log.error("outbox %s: sent, but its claim had been taken over meanwhile", row.id)

    def _failed(self, row: OutboxMessage, adapter, err: SendError) -> None:
        attempts = row.attempts + 1
        reason = mask_phone(str(err))[:500]
        cfg = self.config.sender
        token = row.claim_token
        if not err.retriable or attempts >= cfg.max_attempts:
            log.error("outbox %s to %s %s is dead after %d attempts: %s", row.id, row.channel,
                      mask_phone(row.target), attempts, reason)
            if states.mark_dead(self.sessions, row.id, token, attempts=attempts, reason=reason, unknown=err.unknown) \
                    and adapter is not None:
                adapter.on_dead(row, reason)
            return
        delay = min(cfg.backoff_base_seconds * 2 ** (attempts - 1), cfg.backoff_max_seconds)
        delay = adapter.retry_delay(err, delay) if adapter is not None else delay
        log.warning("outbox %s: attempt %d failed (%s); next in %.1fs", row.id, attempts, reason, delay)
        states.retry_later(self.sessions, row.id, token, attempts=attempts, reason=reason, unknown=err.unknown,
                           at=self.clock() + dt.timedelta(seconds=delay))

    def _target_wait(self, row: OutboxMessage, limit) -> Optional[dt.datetime]:
        """When this addressee has had its messages of the last minute: the time a slot frees up.

        Reads the send log, shared by every sender process: the N-th most recent send to this
        target (N = the per-minute limit) decides.
        """
        window_start = self.clock() - dt.timedelta(seconds=60)
        with self.sessions() as s:
            nth = s.scalar(select(OutboxMessage.sent_at)
                           .where(OutboxMessage.channel == row.channel, OutboxMessage.target == row.target,
                                  OutboxMessage.msgtype.in_(limit.kinds),
                                  OutboxMessage.state == "sent", OutboxMessage.sent_at > window_start)
                           .order_by(OutboxMessage.sent_at.desc()).offset(limit.per_minute - 1).limit(1))
        if nth is None:
            return None
        return nth + dt.timedelta(seconds=60.001)

    # --- background loop ----------------------------------------------------------------
    def next_due_in(self) -> float:
        with self.sessions() as s:
            nxt = s.scalar(select(func.min(OutboxMessage.next_attempt_at))
                           .where(OutboxMessage.state.in_(("pending", "sending"))))
        if nxt is None:
            return self.config.sender.poll_seconds
        return max(0.0, min((nxt - self.clock()).total_seconds(), self.config.sender.poll_seconds))

    def run_forever(self) -> None:
        log.info("sender started")
        while not self._stop.is_set():
            try:
                if self.run_once():
                    continue
                wait = self.next_due_in()
            except Exception:
                log.exception("sender loop error")
                wait = self.config.sender.poll_seconds
            self.wake.wait(wait)
            self.wake.clear()
        log.info("sender stopped")

    def start(self) -> "Sender":
        if self._thread is None:
            self._thread = threading.Thread(target=self.run_forever, name="outbox-sender", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        if self._executor:
            self._executor.shutdown(wait=True)
            self._executor = None
