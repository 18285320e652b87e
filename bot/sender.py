"""The sender drains the outbox: claims due rows, sends them, records a final state.

Several senders (threads or `python -m bot worker` processes) can run at once: a row is
claimed by a conditional UPDATE (and FOR UPDATE SKIP LOCKED on PostgreSQL), and a claim
that runs out (its sender died) is taken again.
"""
from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import sessionmaker

from bot.config import Config
from bot.db import session_scope, utcnow
from bot.models import OutboxMessage
from bot.privacy import mask_phone
from bot.wecom_api import ApiError, WeComApi

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60


class Sender:
    def __init__(self, config: Config, sessions: sessionmaker, api: WeComApi, clock: Callable[[], dt.datetime] = utcnow,
                 mp_api=None):
        self.config = config
        self.sessions = sessions
        self.api = api
        self.mp_api = mp_api
        self.clock = clock
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._executor: Optional[ThreadPoolExecutor] = None
        self.robot_keys = {name: r.key for name, r in config.robots.items()}

    # --- claiming -----------------------------------------------------------------------
    def claim(self, limit: int = 50) -> list[OutboxMessage]:
        now = self.clock()
        with session_scope(self.sessions) as s:
            due = or_(OutboxMessage.state == "pending",
                      (OutboxMessage.state == "sending") & (OutboxMessage.claimed_until < now))
            q = (select(OutboxMessage.id).where(due, OutboxMessage.next_attempt_at <= now)
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
            if s.bind.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = list(s.scalars(q))
            if not ids:
                return []
            until = now + dt.timedelta(seconds=CLAIM_SECONDS)
            claimed = []
            for row_id in ids:
                res = s.execute(update(OutboxMessage)
                                .where(OutboxMessage.id == row_id, due)
                                .values(state="sending", claimed_until=until))
                if res.rowcount == 1:
                    claimed.append(row_id)
            rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                                  .order_by(OutboxMessage.id)))
            return rows

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
        now = self.clock()
        limit = self._per_minute(row)
        if limit:
            wait = self._target_wait(row.channel, row.target, limit, now)
            if wait is not None:
                self._update(row.id, state="pending", next_attempt_at=wait, claimed_until=None)
                return
        try:
            result = self._deliver(row)
        except ApiError as e:
            self._failed(row, e)
            return
        except Exception as e:  # a bug must not lose the message: keep it for a retry
            log.exception("outbox %s: unexpected error", row.id)
            self._failed(row, ApiError(-9, f"{type(e).__name__}: {e}", retriable=True))
            return
        with session_scope(self.sessions) as s:
            self._update(row.id, session=s, state="sent", sent_at=self.clock(), attempts=row.attempts + 1,
                         claimed_until=None, last_error=None, result=result)
            if row.channel == "mass_send":
                # "sent" here means WeCom created the task; whether a group got it is in
                # mass_send_group. A bug recording it must not unmark the send (a second task).
                from bot import mass_send
                try:
                    with s.begin_nested():
                        mass_send.task_created(self.config, s, row, result, self.clock())
                except Exception:
                    log.exception("outbox %s: could not record the mass-send task %s", row.id,
                                  result.get("msgid"))

    def _deliver(self, row: OutboxMessage) -> dict:
        payload = dict(row.payload)
        if row.channel == "webhook":
            key = self.robot_keys.get(row.target)
            if key is None:
                raise ApiError(-10, f"robot {row.target!r} is not in the config", retriable=False)
            return self.api.webhook_send(key, payload)
        if row.channel == "app":
            payload.update(touser=row.target, agentid=self.config.wecom.agent_id)
            res = self.api.call("message/send", payload)
            if res.get("invaliduser"):
                log.warning("outbox %s: invalid users %s", row.id, res["invaliduser"])
            return res
        if row.channel == "appchat":
            payload["chatid"] = row.target
            if payload.get("msgtype") == "image" and "base64" in payload.get("image", {}):
                payload["image"] = {"media_id": self._upload_image(payload["image"])}
            return self.api.call("appchat/send", payload)
        if row.channel == "aibot_response":
            return self.api.post_url(row.target, payload)
        if row.channel == "app_api":
            # another call of the self-built app (target = its path, e.g. message/update_taskcard)
            payload["agentid"] = self.config.wecom.agent_id
            return self.api.call(row.target, payload)
        if row.channel == "mp":
            if self.mp_api is None:
                raise ApiError(-10, "no official account (mp) in the config", retriable=False)
            payload["touser"] = row.target
            return self.mp_api.send_custom(payload)
        if row.channel == "mass_send":
            # externalcontact/add_msg_template: creates a task the owner confirms on the phone
            atts = []
            for a in payload.get("attachments") or []:
                if a.get("msgtype") == "image" and "base64" in a.get("image", {}):
                    a = {"msgtype": "image", "image": {"media_id": self._upload_image(a["image"])}}
                atts.append(a)
            if atts:
                payload["attachments"] = atts
            res = self.api.call("externalcontact/add_msg_template", payload)
            if not res.get("msgid"):
                raise ApiError(-11, "add_msg_template answered without msgid", retriable=False)
            return res
        raise ApiError(-10, f"unknown outbox channel {row.channel!r}", retriable=False)

    def _upload_image(self, image: dict) -> str:
        from bot.outbox import check_image
        data = base64.b64decode(image["base64"])
        mime = check_image(data)
        return self.api.upload_media("image", "image." + mime.split("/")[1].replace("jpeg", "jpg"), data, mime)

    def _failed(self, row: OutboxMessage, err: ApiError) -> None:
        attempts = row.attempts + 1
        reason = mask_phone(str(err))[:500]
        cfg = self.config.sender
        if not err.retriable or attempts >= cfg.max_attempts:
            log.error("outbox %s to %s %s is dead after %d attempts: %s", row.id, row.channel,
                      mask_phone(row.target), attempts, reason)
            self._update(row.id, state="dead", attempts=attempts, last_error=reason, claimed_until=None)
            if row.channel == "mass_send":
                from bot import mass_send
                mass_send.task_failed(self.sessions, row, reason, self.clock())
            return
        delay = min(cfg.backoff_base_seconds * 2 ** (attempts - 1), cfg.backoff_max_seconds)
        if err.errcode == 45009 and row.channel == "webhook":
            # a robot's limit is per minute: trying again inside the window only fails again
            delay = max(delay, 60.0 / cfg.robot_per_minute)
        log.warning("outbox %s: attempt %d failed (%s); next in %.1fs", row.id, attempts, reason, delay)
        self._update(row.id, state="pending", attempts=attempts, last_error=reason, claimed_until=None,
                     next_attempt_at=self.clock() + dt.timedelta(seconds=delay))

    def _per_minute(self, row: OutboxMessage) -> Optional[int]:
        """WeCom's per-minute limit for this row's addressee, where exceeding it loses messages:
        a group robot refuses past 20; app messages past 30 to one member are dropped silently."""
        if row.channel == "webhook":
            return self.config.sender.robot_per_minute
        if row.channel == "app" and "|" not in row.target:
            return self.config.sender.member_per_minute
        return None

    def _target_wait(self, channel: str, target: str, limit: int, now: dt.datetime) -> Optional[dt.datetime]:
        """When this addressee has had its messages of the last minute: the time a slot frees up.

        Reads the send log, shared by every sender process: the N-th most recent send to this
        target (N = the per-minute limit) decides.
        """
        window_start = now - dt.timedelta(seconds=60)
        with self.sessions() as s:
            nth = s.scalar(select(OutboxMessage.sent_at)
                           .where(OutboxMessage.channel == channel, OutboxMessage.target == target,
                                  OutboxMessage.state == "sent", OutboxMessage.sent_at > window_start)
                           .order_by(OutboxMessage.sent_at.desc()).offset(limit - 1).limit(1))
        if nth is None:
            return None
        return nth + dt.timedelta(seconds=60.001)

    def _update(self, row_id: int, session=None, **values) -> None:
        """Set values on one outbox row, in `session` when given, else in a transaction of its own."""
        table = OutboxMessage.__table__
        stmt = update(table).where(table.c.id == row_id).values(**values)
        if session is not None:
            session.execute(stmt)
            return
        with session_scope(self.sessions) as s:
            s.execute(stmt)

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
