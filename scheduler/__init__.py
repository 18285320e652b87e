"""Time: the jobs the service runs on a schedule, one module per concern.

The runner (leader election, APScheduler with its job store in the database) is bot.core.scheduling;
a channel's own jobs come from its adapter (bot.channels).
"""
from __future__ import annotations

from bot.config import Config
from bot.core.scheduling import JobSpec
from scheduler.campaigns import campaign_jobs
from scheduler.jobs import foundation_jobs
from scheduler.stats import stats_jobs
from scheduler.warnings import warning_jobs


def all_jobs(config: Config) -> list[JobSpec]:
    """Every feature job the config asks for."""
    return foundation_jobs(config) + campaign_jobs(config) + warning_jobs(config) + stats_jobs(config)
