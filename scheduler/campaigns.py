"""Campaign slots as scheduler jobs: one cron job per configured campaign."""
from __future__ import annotations

import datetime as dt
import logging

from bot.campaigns import previous_slot, record_missed, record_paused, run_slot, trigger_for
from bot.core.scheduling import JobSpec, current_context
from bot.stats import priority_weights

log = logging.getLogger(__name__)


def campaign_slot(name: str) -> None:
    """Run the campaign's latest slot (a late run belongs to the slot it was scheduled for); a paused
    campaign's slot is recorded per group as skipped, and sends nothing."""
    ctx = current_context()
    campaign = ctx.config.campaign(name)
    if campaign is None or not campaign.enabled:
        return
    now = ctx.clock()
    slot = previous_slot(campaign, ctx.config.timezone, now)
    if record_paused(ctx, campaign, slot, now):
        return
    # the fraud types' shares of recent cases when there are enough cases, else the config weights
    weights, _source = priority_weights(ctx.sessions, ctx.config, now)
    run_slot(ctx, campaign, slot, now, weights=weights)


def campaign_missed(name: str, scheduled: dt.datetime) -> None:
    """APScheduler skipped a slot (the service was down past the grace time): record it."""
    ctx = current_context()
    campaign = ctx.config.campaign(name)
    if campaign is not None:
        record_missed(ctx, campaign, scheduled.astimezone(dt.timezone.utc))
        log.warning("campaign %s: slot %s missed while the service was down", name, scheduled.isoformat())


def campaign_jobs(config) -> list[JobSpec]:
    jobs = []
    for c in config.campaigns:
        if not c.enabled:
            continue
        # on_missed=skip: a late slot is not sent at all (a second of grace), only recorded
        grace = c.grace_minutes * 60 if c.on_missed == "send" else 1
        jobs.append(JobSpec(id=f"campaign:{c.name}", func="scheduler.campaigns:campaign_slot",
                            trigger=trigger_for(c, config.timezone), misfire_grace_time=max(grace, 1),
                            kwargs={"name": c.name}, on_missed="scheduler.campaigns:campaign_missed"))
    return jobs
