"""Housekeeping: forget callback signatures older than twice the replay window."""
from __future__ import annotations

import datetime as dt
import logging

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete

from bot.core.scheduling import JobSpec, current_context
from bot.db import session_scope
from bot.models import CallbackSignature

log = logging.getLogger(__name__)


def housekeeping() -> None:
    ctx = current_context()
    prune_signatures(ctx, ctx.clock())


def prune_signatures(ctx, now: dt.datetime) -> int:
    keep = dt.timedelta(seconds=2 * ctx.config.wecom.replay_window_seconds)
    with session_scope(ctx.sessions) as s:
        n = s.execute(delete(CallbackSignature).where(CallbackSignature.seen_at < now - keep)).rowcount
    if n:
        log.info("pruned %d old callback signatures", n)
    return n


def foundation_jobs(config) -> list[JobSpec]:
    return [JobSpec(id="housekeeping", func="scheduler.jobs:housekeeping", trigger=IntervalTrigger(minutes=10))]
