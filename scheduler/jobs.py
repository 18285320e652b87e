"""Job functions APScheduler calls by reference; each gets the running Service and is idempotent."""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete

from bot.db import session_scope
from bot.models import CallbackSignature
from scheduler import JobSpec, current_service

log = logging.getLogger(__name__)


def housekeeping() -> None:
    """Forget callback signatures older than twice the replay window."""
    svc = current_service()
    prune_signatures(svc, svc.clock())


def prune_signatures(svc, now: dt.datetime) -> int:
    keep = dt.timedelta(seconds=2 * svc.config.wecom.replay_window_seconds)
    with session_scope(svc.sessions) as s:
        n = s.execute(delete(CallbackSignature).where(CallbackSignature.seen_at < now - keep)).rowcount
    if n:
        log.info("pruned %d old callback signatures", n)
    return n


def foundation_jobs(config) -> list[JobSpec]:
    from apscheduler.triggers.interval import IntervalTrigger
    return [JobSpec(id="housekeeping", func="scheduler.jobs:housekeeping", trigger=IntervalTrigger(minutes=10))]
