"""Database models of the foundation: inbox (dedupe), callback replay guard, outbox, token cache."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class InboundMessage(Base):
    """One message or event heard from a channel; unique per (channel, dedupe_key).

    WeCom retries a callback it got no answer to; the retry finds this row and gets the
    stored passive reply (or nothing) instead of a second action.
    """
    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "dedupe_key", name="uq_inbound_channel_key"),
                      Index("ix_inbound_chat_sender_time", "chat_id", "sender", "received_at"),
                      Index("ix_inbound_state_lease", "state", "lease_until"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    chat_id: Mapped[Optional[str]] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(100))
    msg_type: Mapped[str] = mapped_column(String(32), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # how often WeCom delivered it: a second delivery while the first is still being answered
    # means WeCom gave up on the first connection, so its answer must go out actively
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    # processing -> done | failed
    state: Mapped[str] = mapped_column(String(16), default="processing")
    handled_by: Mapped[Optional[str]] = mapped_column(String(64))
    # what the answer was about: an intent id of the Q&A ("none" included), for follow-ups,
    # rate limits and statistics
    intent: Mapped[Optional[str]] = mapped_column(String(32))
    # passive | outbox | none
    replied_via: Mapped[Optional[str]] = mapped_column(String(16))
    passive_reply: Mapped[Optional[str]] = mapped_column(Text)
    error: Mapped[Optional[str]] = mapped_column(Text)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    # the message as the channel gave it, so that another process can handle it again
    message: Mapped[Optional[dict]] = mapped_column(JSON)
    # while processing: handled by the holder of handler_token until lease_until (renewed while it
    # works); a lease that runs out means the process died, and a retry or the recovery job takes over
    lease_until: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    handler_token: Mapped[Optional[str]] = mapped_column(String(32))
    # the replies, written in the transaction that made the message's changes: a handler run again
    # answers these instead of making the changes twice
    applied_reply: Mapped[Optional[str]] = mapped_column(Text)
    # the Q&A's verdict for the console's review: how sure (the top probability) and what it did
    # (answer | ask | suspect | none | menu …)
    score: Mapped[Optional[float]] = mapped_column(Float)
    decision: Mapped[Optional[str]] = mapped_column(String(16))


class CallbackSignature(Base):
    """Signatures of accepted callbacks, kept for the replay window: a replayed request is refused."""
    __tablename__ = "callback_signature"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMessage(Base):
    """Every outbound message, from enqueue to a final state (sent, or dead with a reason).

    channel: webhook (group robot; target = robot name), app (message/send; target = "u1|u2"),
    appchat (target = chatid), aibot_response (target = response_url).
    """
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_channel_target_sent", "channel", "target", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    group_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    msgtype: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    # pending -> sending -> sent | dead ; sending rows whose claim ran out are taken again
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    # the claim's token: a sender writes a row (and starts an attempt) only while the token is its own
    claim_token: Mapped[Optional[str]] = mapped_column(String(32))
    # set when an attempt's request leaves; a claim taken over with this set had an attempt whose
    # outcome nobody knows (its sender died), counted in unknown_outcomes like a timed-out answer
    attempt_started_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    unknown_outcomes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    source: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    result: Mapped[Optional[dict]] = mapped_column(JSON)


class AccessToken(Base):
    """WeCom access tokens shared by every process: fetched once, used until shortly before expiry."""
    __tablename__ = "access_token"

    app: Mapped[str] = mapped_column(String(100), primary_key=True)
    token: Mapped[str] = mapped_column(String(600))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerLease(Base):
    """Who runs the scheduler: one leader holds the lease and renews it; a standby takes an
    expired lease over. (Jobs themselves live in APScheduler's table, apscheduler_jobs.)"""
    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# domain models live in their own modules; importing them here registers their tables
from bot import campaign_models  # noqa: E402,F401
from bot import wechat_models  # noqa: E402,F401
from bot.warnings import models as warning_models  # noqa: E402,F401
from bot import case_models  # noqa: E402,F401
from bot import console_models  # noqa: E402,F401
