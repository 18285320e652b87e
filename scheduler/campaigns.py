"""Campaign slots as scheduler jobs: one cron job per configured campaign."""
from __future__ import annotations

import datetime as dt
import logging

from scheduler import JobSpec, current_service

log = logging.getLogger(__name__)


def campaign_slot(name: str) -> None:
    """Run the campaign's latest slot (a late run belongs to the slot it was scheduled for)."""
    from bot.campaigns import is_paused, previous_slot, run_slot
    from bot.stats import priority_weights
    svc = current_service()
    campaign = svc.config.campaign(name)
    if campaign is None or not campaign.enabled or is_paused(svc.sessions, name):
        return
    now = svc.clock()
    # the fraud types' shares of recent cases when there are enough cases, else the config weights
    weights, _source = priority_weights(svc.sessions, svc.config, now)
    run_slot(svc, campaign, previous_slot(campaign, svc.config.timezone, now), now, weights=weights)


def campaign_missed(name: str, scheduled: dt.datetime) -> None:
    """APScheduler skipped a slot (the service was down past the grace time): record it."""
    from bot.campaigns import record_missed
    svc = current_service()
    campaign = svc.config.campaign(name)
    if campaign is not None:
        record_missed(svc, campaign, scheduled.astimezone(dt.timezone.utc))
        log.warning("campaign %s: slot %s missed while the service was down", name, scheduled.isoformat())


def campaign_jobs(config) -> list[JobSpec]:
    from bot.campaigns import trigger_for
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
