"""Statistics job: the weekly report to the leadership group (`reports.weekly`, Monday 09:00).

Keyed per ISO week and group in the outbox, so a run that fires twice, after a restart or on a
new leader, sends nothing twice."""
from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from bot.core.scheduling import JobSpec, current_context
from bot.reports import push_weekly


def run_weekly_report(ctx, now=None) -> int:
    return push_weekly(ctx, now or ctx.clock())


def weekly_report() -> None:
    run_weekly_report(current_context())


def stats_jobs(config) -> list[JobSpec]:
    if not config.reports.weekly:
        return []
    day, hhmm = config.reports.weekly.split()
    hour, minute = (int(x) for x in hhmm.split(":"))
    return [JobSpec(id="stats-weekly-report", func="scheduler.stats:weekly_report",
                    trigger=CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=config.timezone),
                    misfire_grace_time=6 * 3600)]
