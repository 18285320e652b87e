"""Warning jobs: the escalation sweep (every `warnings.sweep_seconds`) and the daily summary.

Both read everything from the database and take each step once (escalation steps are unique
event rows, the summary has one outbox dedupe key per day and group), so a run after a restart,
a run that fires twice or a run on a new leader sends nothing twice.
"""
from __future__ import annotations

import logging

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import warnings as wn
from bot.core.scheduling import JobSpec, current_context
from bot.db import session_scope

log = logging.getLogger(__name__)


def run_sweep(ctx, now=None) -> list:
    """One escalation sweep at `now` (default: the service's clock)."""
    now = now or ctx.clock()
    with session_scope(ctx.sessions) as s:
        taken = wn.sweep(s, ctx, now)
    if taken:
        ctx.outbox.notify()
    return taken


def run_daily_summary(ctx, now=None) -> int:
    now = now or ctx.clock()
    with session_scope(ctx.sessions) as s:
        n = wn.send_daily_summary(s, ctx, now)
    if n:
        ctx.outbox.notify()
    return n


def sweep() -> None:
    run_sweep(current_context())


def daily_summary() -> None:
    run_daily_summary(current_context())


def warning_jobs(config) -> list[JobSpec]:
    c = config.warnings
    hour, minute = (int(x) for x in c.daily_summary.split(":"))
    return [JobSpec(id="warnings-sweep", func="scheduler.warnings:sweep",
                    trigger=IntervalTrigger(seconds=c.sweep_seconds), misfire_grace_time=60),
            JobSpec(id="warnings-daily-summary", func="scheduler.warnings:daily_summary",
                    trigger=CronTrigger(hour=hour, minute=minute, timezone=config.timezone),
                    misfire_grace_time=3 * 3600)]
