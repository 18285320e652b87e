"""Database models of warning dispatch (issue 6): the warning and its audit trail.

Nothing here is ever deleted: a warning moves through its states, and every change, by whom,
when and from which message, is a WarningEvent row.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class Warning(Base):  # noqa: A001 (the domain word; the builtin is not used in this module)
    """One warning instruction: YJ-YYYYMMDD-NNN, routed to a station (None = the centre's duty officer).

    state: issued (已下发) -> signed (已签收) -> reported (已反馈: a result that is not final, 未接通)
    -> closed (已办结). #转派 puts it back to issued for the new station (assignment + 1).
    """
    __tablename__ = "warning"
    __table_args__ = (UniqueConstraint("day", "seq", name="uq_warning_day_seq"),
                      Index("ix_warning_state_dispatched", "state", "dispatched_at"))

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    day: Mapped[str] = mapped_column(String(8))
    seq: Mapped[int] = mapped_column(Integer)
    # the anti-fraud centre's own id (POST /api/warnings): a repeated request finds this row
    external_id: Mapped[Optional[str]] = mapped_column(String(100), unique=True)
    # chat | api; source_ref = "<channel>:<message id>" or "api:<external id>"
    source: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[Optional[str]] = mapped_column(String(255), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    name: Mapped[Optional[str]] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(String(200))
    fraud_type: Mapped[Optional[str]] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(4))
    note: Mapped[str] = mapped_column(Text, default="")
    station_id: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    assignment: Mapped[int] = mapped_column(Integer, default=1)
    dispatched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="issued")
    signed_by: Mapped[Optional[str]] = mapped_column(String(100))
    signed_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    # dissuaded (已劝阻) | unreachable (未接通) | victimised (已被骗) | invalid (无效预警)
    result: Mapped[Optional[str]] = mapped_column(String(16))
    result_note: Mapped[Optional[str]] = mapped_column(Text)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    reported_by: Mapped[Optional[str]] = mapped_column(String(100))
    reported_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    closed_by: Mapped[Optional[str]] = mapped_column(String(100))
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)


class WarningEvent(Base):
    """The audit trail: one row per change of a warning (and per escalation step taken).

    kind: created, signed, reported, closed, reassigned, reminded, escalated, overdue.
    step: set for escalation steps only, unique per warning, so a sweep that runs twice
    (or on two processes) takes each step once.
    """
    __tablename__ = "warning_event"
    __table_args__ = (UniqueConstraint("warning_id", "step", name="uq_warning_event_step"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warning.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[Optional[str]] = mapped_column(String(16))
    to_state: Mapped[Optional[str]] = mapped_column(String(16))
    # aibot | app | api | sweep ; message_ref: the inbound message (channel:id) or the API's external id
    channel: Mapped[Optional[str]] = mapped_column(String(16))
    message_ref: Mapped[Optional[str]] = mapped_column(String(255))
    step: Mapped[Optional[str]] = mapped_column(String(40))
    detail: Mapped[Optional[dict]] = mapped_column(JSON)
