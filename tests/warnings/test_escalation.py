"""Escalation with an injected clock, across restarts, and the daily summary: what the linkage
group, the station chief and the 110 command centre see, and when."""
import datetime as dt

import pytest
import requests
from sqlalchemy import select

from bot import warnings as wn
from bot.app import Service
from bot.db import utcnow
from bot.netutil import ServerThread, free_port
from bot.simulator import create_simulator
from bot.warnings.models import WarningEvent
from bot.core.scheduling import JobSpec, Scheduler
from scheduler.warnings import run_daily_summary, run_sweep, warning_jobs
from tests.conftest import demo_config, settled, wait_for


class Clock:
    def __init__(self, start=None):
        self.now = start or utcnow()

    def __call__(self):
        return self.now

    def at(self, start, minutes):
        self.now = start + dt.timedelta(minutes=minutes)


class World:
    """The WeCom simulator and bot services on one database; a service can be stopped and
    another started (a restart) while the simulator keeps what everybody saw."""

    def __init__(self, db_url):
        port = free_port()
        self.sim_url = f"http://127.0.0.1:{port}"
        self.config = demo_config(db_url, self.sim_url)
        self.sim = ServerThread(create_simulator(self.config, bot_url="http://127.0.0.1:9",
                                                 public_url=self.sim_url), port=port).start()
        self.clock = Clock()
        self.services = []

    def service(self) -> Service:
        svc = Service(self.config, clock=self.clock)
        svc.start(sender=True, scheduler=False)
        self.services.append(svc)
        return svc

    def create(self, svc, text, actor="police_duty"):
        d = wn.parse_warning(text, self.config, svc.matcher, svc.library)
        w, _ = wn.create_with_retry(svc.sessions, svc.ctx, d,
                                    actor=actor, channel="test", ref=f"test:{text}", now=self.clock())
        return w

    def messages(self, chat):
        return requests.get(f"{self.sim_url}/sim/messages", params={"chat": chat}, timeout=5).json()

    def said(self, chat, match, n=1):
        got = wait_for(lambda: (lambda m: m if len(m) >= n else None)(
            [m for m in self.messages(chat) if match in m["text"]]), timeout=8)
        assert got, f"nothing like {match!r} in {chat}: {self.messages(chat)}"
        return got

    def count(self, chat, match):
        return len([m for m in self.messages(chat) if match in m["text"]])

    def stop(self):
        for s in self.services:
            s.stop()
            s.engine.dispose()
        self.sim.stop()


@pytest.fixture
def world(db_url):
    w = World(db_url)
    yield w
    w.stop()


def settle(world, svc):
    svc.sender.drain()
    assert wait_for(lambda: settled(svc, world.sim_url))


def test_steps_at_their_times_each_once_and_after_a_restart(world):
    svc = world.service()
    t0 = world.clock()
    w = world.create(svc, "电话:13812345678 地址:东关村 类型:刷单 级别:红")
    world.said("linkage", f"【预警 {w.number}")
    world.clock.at(t0, 4.9)
    assert run_sweep(svc) == []                         # nothing before 5 minutes
    world.clock.at(t0, 5)
    assert run_sweep(svc) == [(w.number, "remind")]
    remind = world.said("linkage", f"【催办】{w.number}")[0]
    assert remind["mentions"] == ["liaison_chen"] and "5分钟" in remind["text"]
    world.said("dm:liaison_chen", f"预警 {w.number} 已下发5分钟仍未签收")
    world.clock.at(t0, 10)
    assert run_sweep(svc) == [] and run_sweep(svc) == []  # each step once

    svc.stop()                                           # the process dies …
    svc = world.service()                                # … and another takes over
    world.clock.at(t0, 10.5)
    assert run_sweep(svc) == []                          # the reminder is not sent again
    world.clock.at(t0, 15)
    assert run_sweep(svc) == [(w.number, "escalate")]
    up = world.said("linkage", f"【升级】{w.number}")[0]
    assert up["mentions"] == ["chief_chengguan", "police_110"] and "城关所长、110指挥中心" in up["text"]
    world.said("dm:chief_chengguan", f"预警 {w.number}")
    world.said("dm:police_110", f"预警 {w.number}")
    # signed late, but no result within 60 minutes for a red warning → escalated again
    from bot.db import session_scope
    world.clock.at(t0, 20)
    with session_scope(svc.sessions) as s:
        wn.sign(s, svc.ctx, wn.find(s, w.number), actor="liaison_chen", channel="test",
                ref="test:sign", now=world.clock())
    world.clock.at(t0, 59)
    assert run_sweep(svc) == []
    world.clock.at(t0, 60)
    assert run_sweep(svc) == [(w.number, "overdue")]
    again = world.said("linkage", f"【再次升级】{w.number}")[0]
    assert set(again["mentions"]) == {"liaison_chen", "chief_chengguan", "police_110"} and "60分钟" in again["text"]
    world.clock.at(t0, 300)
    assert run_sweep(svc) == []
    settle(world, svc)
    assert world.count("linkage", f"【催办】{w.number}") == 1
    assert world.count("linkage", f"【升级】{w.number}") == 1
    assert world.count("linkage", f"【再次升级】{w.number}") == 1
    with svc.sessions() as s:
        steps = [e.step for e in s.scalars(select(WarningEvent).where(WarningEvent.step.is_not(None))
                                           .order_by(WarningEvent.id))]
    assert steps == ["a1:remind", "a1:escalate", "a1:overdue"]
    # masked outside the linkage group
    for chat in ("dm:liaison_chen", "dm:chief_chengguan", "dm:police_110"):
        assert all("13812345678" not in m["text"] for m in world.messages(chat))


def test_signed_in_time_is_not_reminded_and_orange_waits_four_hours(world):
    svc = world.service()
    t0 = world.clock()
    w = world.create(svc, "电话:13812345678 地址:码头 类型:刷单 级别:橙")
    world.clock.at(t0, 3)
    from bot.db import session_scope
    with session_scope(svc.sessions) as s:
        wn.sign(s, svc.ctx, wn.find(s, w.number), actor="liaison_lin", channel="test",
                ref="test:sign", now=world.clock())
    for minutes in (5, 15, 60, 239):
        world.clock.at(t0, minutes)
        assert run_sweep(svc) == []
    world.clock.at(t0, 240)
    assert run_sweep(svc) == [(w.number, "overdue")]
    world.said("linkage", f"【再次升级】{w.number}")
    assert world.count("linkage", f"【催办】{w.number}") == 0


def test_a_sweep_after_downtime_takes_every_due_step_once(world):
    svc = world.service()
    t0 = world.clock()
    w = world.create(svc, "电话:13812345678 地址:石桥 级别:红")
    svc.stop()
    world.clock.at(t0, 70)                               # down for 70 minutes
    svc = world.service()
    assert run_sweep(svc) == [(w.number, "remind"), (w.number, "escalate"), (w.number, "overdue")]
    assert run_sweep(svc) == []


def test_reassignment_restarts_the_clock(world):
    svc = world.service()
    t0 = world.clock()
    w = world.create(svc, "电话:13812345678 地址:东关村 级别:红")
    world.clock.at(t0, 6)
    assert run_sweep(svc) == [(w.number, "remind")]
    from bot.db import session_scope
    with session_scope(svc.sessions) as s:
        wn.reassign(s, svc.ctx, wn.find(s, w.number), actor="police_duty",
                    station_id="hekou", channel="test", ref="test:re", now=world.clock())
    world.clock.at(t0, 10)
    assert run_sweep(svc) == []
    world.clock.at(t0, 11)
    assert run_sweep(svc) == [(w.number, "remind")]
    r = world.said("linkage", f"【催办】{w.number}", n=2)[1]
    assert r["mentions"] == ["liaison_lin"] and "河口派出所" in r["text"]


def test_the_scheduler_runs_the_sweep(world, monkeypatch):
    svc = world.service()
    t0 = world.clock()
    w = world.create(svc, "电话:13812345678 地址:东关村")
    world.clock.at(t0, 6)
    jobs = [j for j in warning_jobs(world.config) if j.id == "warnings-sweep"]
    assert str(jobs[0].trigger) == "interval[0:00:30]"
    from apscheduler.triggers.interval import IntervalTrigger
    fast = [JobSpec(id=jobs[0].id, func=jobs[0].func, trigger=IntervalTrigger(seconds=1))]
    sch = Scheduler(svc.ctx, fast, check_seconds=0.1).start()
    try:
        world.said("linkage", f"【催办】{w.number}")
    finally:
        sch.stop()
    ids = {j.id for j in svc.scheduled_jobs()}
    assert {"warnings-sweep", "warnings-daily-summary"} <= ids


def test_daily_summary_to_linkage_and_leadership_once(world):
    svc = world.service()
    from bot.db import session_scope
    from zoneinfo import ZoneInfo
    # yesterday 09:00 Beijing time
    day = (utcnow().astimezone(ZoneInfo("Asia/Shanghai")) - dt.timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0)
    world.clock.now = day
    a = world.create(svc, "电话:13812345678 地址:东关村 级别:红")
    b = world.create(svc, "电话:13812345679 地址:码头")
    world.create(svc, "电话:13812345670 地址:石桥")
    deps = svc.ctx
    with session_scope(svc.sessions) as s:
        world.clock.now = day + dt.timedelta(minutes=2)
        wn.sign(s, deps, wn.find(s, a.number), actor="liaison_chen", channel="test", ref="t1", now=world.clock())
        world.clock.now = day + dt.timedelta(minutes=4)
        wn.sign(s, deps, wn.find(s, b.number), actor="liaison_lin", channel="test", ref="t2", now=world.clock())
        wn.report(s, deps, wn.find(s, a.number), actor="liaison_chen", result="dissuaded", note="", channel="test",
                  ref="t3", now=world.clock())
        wn.report(s, deps, wn.find(s, b.number), actor="liaison_lin", result="unreachable", note="", channel="test",
                  ref="t4", now=world.clock())
    world.clock.now = day.replace(hour=8) + dt.timedelta(days=1)      # today 08:00
    assert run_daily_summary(svc) == 2
    assert run_daily_summary(svc) == 0                                 # the slot fired twice: sent once
    for chat in ("linkage", "leadership"):
        text = world.said(chat, "【预警日报】")[0]["text"]
        assert "新增 3 条，签收 2 条" in text
        assert "已劝阻 1，未接通 1，已被骗 0，无效预警 0" in text
        assert "签收用时中位数：3分00秒" in text
        assert "超时未办：石桥派出所 1 条" in text
        assert "目前未办结 2 条" in text
        assert "138" not in text
    jobs = {j.id: j for j in warning_jobs(world.config)}
    assert "hour='8', minute='0'" in str(jobs["warnings-daily-summary"].trigger)
