"""The scheduler: one leader across processes, jobs kept across restarts, never added twice."""
import pytest
import datetime as dt
import time

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import Service
from bot.db import utcnow
from bot.core.scheduling import JobSpec, Lease, Scheduler
from tests.conftest import demo_config, wait_for

CALLS: list = []


def record(tag="x"):
    CALLS.append((tag, time.monotonic()))


class Clock:
    def __init__(self):
        self.now = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.now


def service(db_url) -> Service:
    return Service(demo_config(db_url))


def test_lease_has_one_holder_and_passes_on_when_it_runs_out(db_url):
    svc, clock = service(db_url), Clock()
    a = Lease(svc.sessions, seconds=30, clock=clock, holder="a")
    b = Lease(svc.sessions, seconds=30, clock=clock, holder="b")
    assert a.acquire() and not b.acquire()
    clock.now += dt.timedelta(seconds=20)
    assert a.acquire() and not b.acquire()          # renewed
    clock.now += dt.timedelta(seconds=31)            # a died: no renewal
    assert b.acquire() and not a.acquire()
    assert b.holder_now() == "b"


@pytest.mark.slow
def test_two_processes_run_each_job_once(db_url):
    CALLS.clear()
    jobs = [JobSpec(id="tick", func="tests.scheduler.test_scheduler:record", trigger=IntervalTrigger(seconds=1),
                    kwargs={"tag": "tick"})]
    s1, s2 = service(db_url), service(db_url)
    a = Scheduler(s1.ctx, jobs, lease_seconds=2, check_seconds=0.2).start()
    b = Scheduler(s2.ctx, jobs, lease_seconds=2, check_seconds=0.2).start()
    try:
        assert wait_for(lambda: a.is_leader or b.is_leader, timeout=5)
        seen = (a.checks, b.checks)
        assert wait_for(lambda: a.checks >= seen[0] + 2 and b.checks >= seen[1] + 2, timeout=5)
        assert (a.is_leader, b.is_leader).count(True) == 1    # both checked twice more: still one leader
        assert wait_for(lambda: len(CALLS) >= 3, timeout=6)
        stamps = [t for _, t in CALLS]
        assert all(later - earlier > 0.5 for earlier, later in zip(stamps, stamps[1:]))   # not twice per second
        leader, standby = (a, b) if a.is_leader else (b, a)
        leader.stop()                                      # the leader goes away …
        assert wait_for(lambda: standby.is_leader, timeout=6)   # … and the standby takes over
        n = len(CALLS)
        assert wait_for(lambda: len(CALLS) > n, timeout=4)
    finally:
        a.stop()
        b.stop()


def test_restart_keeps_jobs_without_duplicates_and_replaces_a_changed_trigger(db_url):
    svc = service(db_url)
    jobs = [JobSpec(id="daily", func="tests.scheduler.test_scheduler:record", trigger=IntervalTrigger(hours=24))]
    first = Scheduler(svc.ctx, jobs, check_seconds=0.1).start()
    assert wait_for(lambda: first.is_leader, timeout=5)
    before = first._aps.get_job("daily").next_run_time
    first.stop()
    again = Scheduler(svc.ctx, jobs, check_seconds=0.1).start()       # same config: nothing reset or added
    assert wait_for(lambda: again.is_leader, timeout=5)
    assert [j.id for j in again._aps.get_jobs()] == ["daily"]
    assert again._aps.get_job("daily").next_run_time == before
    again.stop()
    changed = [JobSpec(id="daily", func="tests.scheduler.test_scheduler:record", trigger=IntervalTrigger(hours=12))]
    third = Scheduler(svc.ctx, changed, check_seconds=0.1).start()
    assert wait_for(lambda: third.is_leader, timeout=5)
    assert "12:00:00" in str(third._aps.get_job("daily").trigger) and len(third._aps.get_jobs()) == 1
    third.stop()


def test_a_run_missed_while_down_happens_once_on_start(db_url):
    CALLS.clear()
    svc = service(db_url)
    jobs = [JobSpec(id="missed", func="tests.scheduler.test_scheduler:record", trigger=IntervalTrigger(hours=1),
                    misfire_grace_time=600, kwargs={"tag": "missed"})]
    s = Scheduler(svc.ctx, jobs, check_seconds=0.1).start()
    assert wait_for(lambda: s.is_leader, timeout=5)
    # the service goes down and stays down over the job's time: its stored next run lies in the past
    s._aps.pause()
    s._aps.modify_job("missed", next_run_time=utcnow() - dt.timedelta(minutes=2))
    s.stop()
    assert CALLS == []
    s = Scheduler(svc.ctx, jobs, check_seconds=0.1).start()
    assert wait_for(lambda: CALLS, timeout=5)
    # once run, the job is due again only in an hour: nothing can run it a second time now
    assert wait_for(lambda: s._aps.get_job("missed").next_run_time > utcnow(), timeout=5)
    assert [tag for tag, _ in CALLS] == ["missed"]
    s.stop()
