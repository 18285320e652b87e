"""The warning and its audit trail. A warning changes state only through its transition methods:
each checks that the change is allowed from the current state and appends its event row.

Nothing here is ever deleted: a warning moves through its states, and every change, by whom,
when and from which message, is a WarningEvent row.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base, UTCDateTime, insert_unless_exists, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")

ISSUED, SIGNED, REPORTED, CLOSED = "issued", "signed", "reported", "closed"
OPEN_STATES = (ISSUED, SIGNED, REPORTED)
# results: 未接通 leaves the warning open (the liaison keeps trying); the others close it
DISSUADED, UNREACHABLE, VICTIMISED, INVALID = "dissuaded", "unreachable", "victimised", "invalid"
FINAL_RESULTS = (DISSUADED, VICTIMISED, INVALID)
RESULTS = (DISSUADED, UNREACHABLE, VICTIMISED, INVALID)

# the states each transition may start from
ALLOWED = {"sign": (ISSUED,), "report": (SIGNED, REPORTED), "reassign": OPEN_STATES, "close": OPEN_STATES}


class TransitionRefused(Exception):
    """A change the warning's state does not allow (`action` from `state`)."""

    def __init__(self, action: str, state: str):
        super().__init__(f"cannot {action} a warning that is {state}")
        self.action = action
        self.state = state


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
    state: Mapped[str] = mapped_column(String(16), default=ISSUED)
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

    # --- transitions: the only places that change `state` ------------------------------------
    def _require(self, action: str) -> None:
        if self.state not in ALLOWED[action]:
            raise TransitionRefused(action, self.state)

    def _move(self, session: Session, kind: str, to: str, *, actor: str, at: dt.datetime, channel: Optional[str],
              ref: Optional[str], detail: Optional[dict] = None) -> "WarningEvent":
        ev = WarningEvent(warning_id=self.id, at=at, actor=actor, kind=kind, from_state=self.state, to_state=to,
                          channel=channel, message_ref=ref, detail=detail)
        self.state = to
        session.add(ev)
        session.flush()
        return ev

    def record_created(self, session: Session, *, actor: str, at: dt.datetime, channel: str,
                       ref: str) -> "WarningEvent":
        """The first event of a new warning (already added to the session): it is issued."""
        self.state = ISSUED
        session.flush()
        ev = WarningEvent(warning_id=self.id, at=at, actor=actor, kind="created", from_state=None, to_state=ISSUED,
                          channel=channel, message_ref=ref,
                          detail={"station": self.station_id, "level": self.level, "type": self.fraud_type})
        session.add(ev)
        session.flush()
        return ev

    def sign(self, session: Session, *, actor: str, at: dt.datetime, channel: Optional[str],
             ref: Optional[str]) -> "WarningEvent":
        """已下发 → 已签收."""
        self._require("sign")
        self.signed_by, self.signed_at = actor, at
        return self._move(session, "signed", SIGNED, actor=actor, at=at, channel=channel, ref=ref)

    def report(self, session: Session, *, actor: str, result: str, note: str, at: dt.datetime,
               channel: Optional[str], ref: Optional[str]) -> list["WarningEvent"]:
        """A result: 已反馈, and 已办结 when it is final (已劝阻 / 已被骗 / 无效预警). A warning not yet
        signed is signed first (a result implies it was received)."""
        if result not in RESULTS:
            raise ValueError(f"unknown result {result!r}")
        events = []
        if self.state == ISSUED:
            events.append(self.sign(session, actor=actor, at=at, channel=channel, ref=ref))
        self._require("report")
        self.result, self.result_note = result, (note or "")[:500] or None
        self.reported_by, self.reported_at, self.reports = actor, at, self.reports + 1
        events.append(self._move(session, "reported", REPORTED, actor=actor, at=at, channel=channel, ref=ref,
                                 detail={"result": result, "note": note or ""}))
        if result in FINAL_RESULTS:
            self.closed_by, self.closed_at = actor, at
            events.append(self._move(session, "closed", CLOSED, actor=actor, at=at, channel=channel, ref=ref,
                                     detail={"result": result}))
        return events

    def reassign(self, session: Session, *, actor: str, station_id: Optional[str], at: dt.datetime,
                 channel: Optional[str], ref: Optional[str]) -> "WarningEvent":
        """#转派: back to 已下发 for another station, with a fresh escalation clock."""
        self._require("reassign")
        old = self.station_id
        self.station_id, self.assignment, self.dispatched_at = station_id, self.assignment + 1, at
        self.signed_by = self.signed_at = None
        return self._move(session, "reassigned", ISSUED, actor=actor, at=at, channel=channel, ref=ref,
                          detail={"from": old, "to": station_id})

    def close(self, session: Session, *, actor: str, note: str, at: dt.datetime, channel: Optional[str],
              ref: Optional[str]) -> "WarningEvent":
        """#办结 by the centre: ends a warning that stays open (e.g. 未接通 after every attempt)."""
        self._require("close")
        self.closed_by, self.closed_at = actor, at
        return self._move(session, "closed", CLOSED, actor=actor, at=at, channel=channel, ref=ref,
                          detail={"note": note or ""})

    def take_step(self, session: Session, step: str, kind: str, at: dt.datetime) -> Optional["WarningEvent"]:
        """Record an escalation step of the current assignment once: None when it was taken before
        (by an earlier sweep, or another process). The state does not change."""
        key = f"a{self.assignment}:{step}"
        added = insert_unless_exists(session, WarningEvent, dict(
            warning_id=self.id, at=at, actor="system", kind=kind, from_state=self.state, to_state=self.state,
            channel="sweep", message_ref=None, step=key,
            detail={"elapsed_minutes": round((at - self.dispatched_at).total_seconds() / 60, 1)}),
            ["warning_id", "step"])
        return None if added is None else session.get(WarningEvent, added)

    # --- deadlines: the one definition of "overdue" ---------------------------------------------
    def _after(self, minutes: float) -> dt.datetime:
        if minutes == float("inf"):          # no step waits for it: never late
            return dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        return self.dispatched_at + dt.timedelta(minutes=minutes)

    def sign_deadline(self, policy) -> dt.datetime:
        return self._after(policy.sign_within(self.level))

    def result_deadline(self, policy) -> dt.datetime:
        return self._after(policy.result_within(self.level))

    def overdue_now(self, policy, now: dt.datetime) -> bool:
        """Late on what it waits for now: not signed past the sign deadline, or no result past the
        result deadline (`policy` is config.warnings)."""
        return ((self.state == ISSUED and now >= self.sign_deadline(policy))
                or (self.state in (ISSUED, SIGNED) and now >= self.result_deadline(policy)))

    def was_overdue(self, policy, now: dt.datetime) -> bool:
        """Late at some point up to `now`: signed after the sign deadline (or not yet, past it), or
        its result came after the result deadline (or not yet, past it)."""
        signed = self.signed_at or now
        done = self.reported_at or self.closed_at or now
        return signed >= self.sign_deadline(policy) or done >= self.result_deadline(policy)


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
