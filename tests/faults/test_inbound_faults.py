"""The web process killed with SIGKILL while it handles a burst of warnings: after a restart every
message is answered once and every warning exists once (WeCom's retries and the recovery job take
up what the dead process left)."""
from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import select

from bot.models import InboundMessage
from bot.warnings.models import Warning
from tests.conftest import wait_for
from tests.faults.web import WebWorld

pytestmark = pytest.mark.slow

N = 15


def test_a_web_process_killed_mid_burst_loses_no_warning_and_makes_none_twice(db_url, tmp_path):
    # WeCom retries a callback that got no answer; spread over ~10 s they reach the restarted bot
    world = WebWorld(db_url, tmp_path, sim_settings={"callback_timeout": 2, "callback_retries": 3, "retry_delay": 2.5})
    try:
        first = world.serve()
        for i in range(N):
            world.say(chat="linkage", user="police_duty", text=f"#预警 电话:1381234{i:04d} 地址:东关村{i}组 类型:刷单")
        assert wait_for(lambda: world.count(InboundMessage) >= 4, timeout=20, interval=0.01)
        world.kill(first)
        unfinished = world.count(InboundMessage, InboundMessage.state == "processing")
        world.serve()
        each_warning_once(world, unfinished)
    finally:
        world.stop()


def test_the_production_shape_loses_no_warning_when_a_web_worker_is_killed(db_url, tmp_path):
    """The README's production command (gunicorn sync workers and `python -m bot worker`): a resident's
    question is answered, and a web worker killed mid burst loses no warning and makes none twice."""
    world = WebWorld(db_url, tmp_path, sim_settings={"callback_timeout": 2, "callback_retries": 3, "retry_delay": 2.5})
    try:
        master = world.production(workers=2)
        world.say(chat="dongguan_grid", user="res_liu", text="有人打电话说我涉嫌洗钱，要把钱转到安全账户")
        assert wait_for(lambda: any(m["from"] == "bot" and "公检法" in m["text"]
                                    for m in world.messages("dongguan_grid")), timeout=15)
        for i in range(N):
            world.say(chat="linkage", user="police_duty", text=f"#预警 电话:1391234{i:04d} 地址:西关村{i}组 类型:刷单")
        assert wait_for(lambda: world.count(InboundMessage) >= 5, timeout=20, interval=0.01)
        victim = world.web_workers(master)[0]
        os.kill(victim, signal.SIGKILL)
        unfinished = world.count(InboundMessage, InboundMessage.state == "processing")
        assert wait_for(lambda: victim not in world.web_workers(master) and len(world.web_workers(master)) == 2,
                        timeout=20), "gunicorn did not replace the killed worker"
        each_warning_once(world, unfinished, inbound=N + 1)
    finally:
        world.stop()


def each_warning_once(world: WebWorld, unfinished: int, inbound: int = N) -> None:
    """Every message finished, every warning made once, posted for its station once, its officer answered once."""
    assert wait_for(lambda: world.count(InboundMessage, InboundMessage.state == "done") == inbound, timeout=60), \
        "not every message was finished after the kill"
    assert world.count(Warning) == N

    def said(start: str, by_robot: bool) -> list:
        return [m for m in world.messages("linkage") if m["text"].startswith(start)
                and (m["from"].startswith("robot:") if by_robot else m["from"] == "bot")]
    # the robot may repeat a post only when its sender died mid-request, which these tests do not do to the sender
    assert wait_for(lambda: len(said("【预警", True)) >= N and len(said("已下发", False)) >= N, timeout=30), \
        (len(said("【预警", True)), len(said("已下发", False)), unfinished)
    with world.sessions() as s:
        made = set(s.scalars(select(Warning.number)))
    assert {n for n in made if any(n in m["text"] for m in said("【预警", True))} == made
    assert len(said("已下发", False)) == N
