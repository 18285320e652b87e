"""Reading warnings: a warning's history, the open ones, the daily summary (and sending it)."""
from __future__ import annotations

import datetime as dt
import logging
import statistics

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.channels.base import Unreachable
from bot.config import Config
from bot.warnings import texts
from bot.warnings.models import OPEN_STATES, RESULTS, Warning, WarningEvent
from bot.warnings.people import station_name

log = logging.getLogger(__name__)


def events_of(session: Session, w: Warning) -> list[WarningEvent]:
    return list(session.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id)
                                .order_by(WarningEvent.at, WarningEvent.id)))


def open_warnings(session: Session) -> list[Warning]:
    return list(session.scalars(select(Warning).where(Warning.state.in_(OPEN_STATES))
                                .order_by(Warning.dispatched_at, Warning.id)))


def query_text(session: Session, config: Config, library, w: Warning, full: bool = True) -> str:
    return texts.query_text(config, library, w, events_of(session, w), full=full)


def open_list_text(session: Session, config: Config, now: dt.datetime, limit: int = 30) -> str:
    return texts.open_list_text(config, open_warnings(session), now, limit)


def summary(session: Session, config: Config, now: dt.datetime) -> dict:
    """Figures of the 24 hours before `now`: new, signed, results, median time to sign, overdue by station."""
    since = now - dt.timedelta(hours=24)
    new = session.scalar(select(func.count()).select_from(Warning).where(Warning.created_at >= since,
                                                                          Warning.created_at < now))
    signed = list(session.scalars(select(Warning).where(Warning.signed_at >= since, Warning.signed_at < now)))
    results = {k: 0 for k in RESULTS}
    for d in session.scalars(select(WarningEvent.detail).where(WarningEvent.kind == "reported",
                                                               WarningEvent.at >= since, WarningEvent.at < now)):
        r = (d or {}).get("result")
        if r in results:
            results[r] += 1
    waits = [(w.signed_at - w.dispatched_at).total_seconds() for w in signed if w.signed_at >= w.dispatched_at]
    open_rows = open_warnings(session)
    late: dict[str, int] = {}
    for w in open_rows:
        if w.overdue_now(config.warnings, now):
            late[station_name(config, w.station_id)] = late.get(station_name(config, w.station_id), 0) + 1
    return {"since": since, "until": now, "new": new or 0, "signed": len(signed), "results": results,
            "median_sign_seconds": statistics.median(waits) if waits else None, "overdue": late,
            "open": len(open_rows)}


def send_daily_summary(session: Session, ctx, now: dt.datetime) -> int:
    """Queue the summary to the linkage and leadership groups, once per local day."""
    config = ctx.config
    text = texts.summary_text(config, summary(session, config, now))
    day = texts.local(config, now).strftime("%Y%m%d")
    n = 0
    for g in config.groups_of_kind("linkage") + config.groups_of_kind("leadership"):
        try:
            n += ctx.outbox.to_group(g.id, text, dedupe_key=f"wn:summary:{day}:{g.id}", session=session,
                                     source="warnings:summary")
        except Unreachable as e:
            log.warning("daily warning summary: %s", e)
    return n
