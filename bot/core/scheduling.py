"""The scheduler runner: APScheduler with its job store in the service's database, run by one leader.

The jobs themselves are features (scheduler/ and a channel's own jobs); this module only runs them.

Traps this avoids (other WeChat bots fell into each):
- jobs run once per gunicorn worker, or twice under a reloader: only the process holding the
  leader lease (a row in scheduler_lease, renewed every few seconds) runs APScheduler; a standby
  takes over when the lease runs out;
- jobs lost on restart: the job store is a table of the same database, so a slot missed while
  the service was down is run once on start when it is within its grace time;
- a timer multiplied after a reload: jobs have stable ids and are only replaced when their
  trigger changed, never added twice.

Jobs are module-level functions named by reference ("module:function"); they find the running
service's Context with `current_context()` and must be idempotent (outbox dedupe keys), which is
what makes a slot that fires twice send nothing twice.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlalchemy import select, update

from bot.db import insert_unless_exists, session_scope, utcnow
from bot.models import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
# the leader renews its lease every CHECK_SECONDS; a standby takes an expired one at its next check, so
# after the leader dies the jobs run again within LEASE_SECONDS + CHECK_SECONDS (bench/takeover.py)
LEASE_SECONDS = 15.0
CHECK_SECONDS = 3.0

# the Context of this process's service, for job functions (APScheduler stores only a reference)
_context = None


def current_context():
    """The running service's Context (bot.core.context), for a job function."""
    if _context is None:
        raise RuntimeError("no scheduler is running in this process")
    return _context


@dataclass
class JobSpec:
    """One job the service wants: id, function reference, APScheduler trigger."""
    id: str
    func: str
    trigger: object
    misfire_grace_time: int = 300
    kwargs: dict = field(default_factory=dict)
    # called as func(**kwargs, scheduled=datetime) when APScheduler skips a run past its grace
    on_missed: Optional[str] = None


class Lease:
    """The leader lease: acquire() is True while this process holds it."""

    def __init__(self, sessions, seconds: float = 30.0, clock: Callable[[], dt.datetime] = utcnow,
                 holder: Optional[str] = None):
        self.sessions = sessions
        self.seconds = seconds
        self.clock = clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def acquire(self) -> bool:
        """Take the lease if it is free or expired, or renew it if ours; True if we hold it."""
        now = self.clock()
        until = now + dt.timedelta(seconds=self.seconds)
        with session_scope(self.sessions) as s:
            if insert_unless_exists(s, SchedulerLease, dict(name=LEASE_NAME, holder=self.holder, expires_at=until,
                                                            acquired_at=now), ["name"]) is not None:
                return True
            t = SchedulerLease.__table__
            res = s.execute(update(t).where(t.c.name == LEASE_NAME)
                            .where((t.c.holder == self.holder) | (t.c.expires_at < now))
                            .values(holder=self.holder, expires_at=until))
            return res.rowcount == 1

    def release(self) -> None:
        t = SchedulerLease.__table__
        with session_scope(self.sessions) as s:
            s.execute(update(t).where(t.c.name == LEASE_NAME, t.c.holder == self.holder)
                      .values(expires_at=self.clock() - dt.timedelta(seconds=1)))

    def holder_now(self) -> Optional[str]:
        with self.sessions() as s:
            row = s.scalar(select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME))
            return row.holder if row and row.expires_at > self.clock() else None


class Scheduler:
    """Runs the service's jobs while this process is the leader."""

    def __init__(self, ctx, jobs: list[JobSpec], *, lease_seconds: float = LEASE_SECONDS,
                 check_seconds: float = CHECK_SECONDS):
        self.ctx = ctx
        self.jobs = jobs
        self.lease = Lease(ctx.sessions, lease_seconds)
        self.check_seconds = check_seconds
        self._aps = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.checks = 0           # leadership checks done (tests wait on it instead of sleeping)

    @property
    def is_leader(self) -> bool:
        return self._aps is not None

    def _make_aps(self):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.schedulers.base import STATE_STOPPED

        class Background(BackgroundScheduler):
            def _process_jobs(self):
                # APScheduler 3 wakes once more after shutdown and "runs" what is due into the
                # stopped executor, which fails and moves the job on: a run lost on every restart
                if self.state == STATE_STOPPED:
                    return None
                return super()._process_jobs()

        return Background(
            jobstores={"default": SQLAlchemyJobStore(engine=self.ctx.engine)},
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=self.ctx.config.timezone)

    def sync_jobs(self, aps) -> None:
        """Make the stored jobs what the config says, without resetting jobs that did not change
        (that would lose a slot missed while down) and without duplicates."""
        wanted = {j.id: j for j in self.jobs}
        for job in aps.get_jobs():
            if job.id not in wanted:
                log.info("removing scheduled job %s (no longer configured)", job.id)
                job.remove()
        for spec in self.jobs:
            existing = aps.get_job(spec.id)
            if existing is not None and str(existing.trigger) == str(spec.trigger) \
                    and existing.func_ref == spec.func and existing.kwargs == spec.kwargs:
                continue
            aps.add_job(spec.func, spec.trigger, id=spec.id, kwargs=spec.kwargs, replace_existing=True,
                        misfire_grace_time=spec.misfire_grace_time, coalesce=True, max_instances=1)
            log.info("scheduled job %s: %s", spec.id, spec.trigger)

    def _missed(self, event) -> None:
        spec = next((j for j in self.jobs if j.id == event.job_id), None)
        if spec is None or not spec.on_missed:
            return
        from apscheduler.util import ref_to_obj
        try:
            ref_to_obj(spec.on_missed)(**spec.kwargs, scheduled=event.scheduled_run_time)
        except Exception:
            log.exception("recording the missed run of %s failed", spec.id)

    def _become_leader(self) -> None:
        global _context
        from apscheduler.events import EVENT_JOB_MISSED
        _context = self.ctx
        aps = self._make_aps()
        aps.add_listener(self._missed, EVENT_JOB_MISSED)
        aps.start(paused=True)
        self.sync_jobs(aps)
        aps.resume()
        self._aps = aps
        log.info("this process now runs the scheduler (%s)", self.lease.holder)

    def _step_down(self, why: str = "scheduler lease lost") -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
            log.log(logging.WARNING if why.endswith("lost") else logging.INFO, "%s: stopped running jobs", why)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                if self.lease.acquire():
                    if self._aps is None:
                        self._become_leader()
                else:
                    self._step_down()
            except Exception:
                log.exception("scheduler leadership check failed")
                self._step_down()
            self.checks += 1
            self._stop.wait(self.check_seconds)
        self._step_down("shutting down")
        try:
            self.lease.release()
        except Exception:
            log.exception("could not release the scheduler lease")

    def start(self) -> "Scheduler":
        if self._thread is None:
            self._thread = threading.Thread(target=self.run_forever, name="scheduler-leader", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
