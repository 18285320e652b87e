"""Scheduled jobs for WeChat reach: poll the customer-group mass-send tasks' results."""
from __future__ import annotations

import logging

from scheduler import JobSpec, current_service

log = logging.getLogger(__name__)


def poll_mass_send() -> None:
    """Record which customer groups really got a confirmed mass-send message (idempotent)."""
    from bot import mass_send
    svc = current_service()
    counts = mass_send.poll(svc.config, svc.sessions, svc.api, svc.clock())
    if counts["polled"]:
        log.info("mass-send poll: %s", counts)


def wechat_jobs(config) -> list[JobSpec]:
    from apscheduler.triggers.interval import IntervalTrigger
    if not any(g.send.via == "customer_group" for g in config.groups):
        return []
    return [JobSpec(id="mass_send_poll", func="scheduler.wechat:poll_mass_send",
                    trigger=IntervalTrigger(seconds=int(config.mass_send.poll_minutes * 60)))]
