"""Warning jobs: the escalation sweep (every `warnings.sweep_seconds`) and the daily summary.

Both read everything from the database and take each step once (escalation steps are unique
event rows, the summary has one outbox dedupe key per day and group), so a run after a restart,
a run that fires twice or a run on a new leader sends nothing twice.
"""
from __future__ import annotations

import logging

from bot import warnings as wn
from bot.db import session_scope
from scheduler import JobSpec, current_service

log = logging.getLogger(__name__)


def _deps(svc) -> wn.Deps:
    return wn.Deps(svc.config, svc.outbox, svc.matcher, svc.library)


def run_sweep(svc, now=None) -> list:
    """One escalation sweep for a Service at `now` (default: its clock)."""
    now = now or svc.clock()
    with session_scope(svc.sessions) as s:
        taken = wn.sweep(s, _deps(svc), now)
    if taken:
        svc.outbox.notify()
    return taken


def run_daily_summary(svc, now=None) -> int:
    now = now or svc.clock()
    with session_scope(svc.sessions) as s:
        n = wn.send_daily_summary(s, _deps(svc), now)
    if n:
        svc.outbox.notify()
    return n


def sweep() -> None:
    run_sweep(current_service())


def daily_summary() -> None:
    run_daily_summary(current_service())


def warning_jobs(config) -> list[JobSpec]:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger
    c = config.warnings
    hour, minute = (int(x) for x in c.daily_summary.split(":"))
    return [JobSpec(id="warnings-sweep", func="scheduler.warnings:sweep",
                    trigger=IntervalTrigger(seconds=c.sweep_seconds), misfire_grace_time=60),
            JobSpec(id="warnings-daily-summary", func="scheduler.warnings:daily_summary",
                    trigger=CronTrigger(hour=hour, minute=minute, timezone=config.timezone),
                    misfire_grace_time=3 * 3600)]
