"""The outbox under faults: a sender killed mid fan-out, WeCom answering too late, claims that run
out. What each channel promises (README, reliability) is what these tests hold it to:
app messages exactly once (WeCom's duplicate check), the other channels at least once, a repeat
only after a send whose outcome nobody could know, and each such send counted on its row."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.app import Service
from bot.models import OutboxMessage
from tests.conftest import wait_for
from tests.faults.world import FaultWorld

pytestmark = pytest.mark.slow


@pytest.fixture
def world(db_url, tmp_path):
    w = FaultWorld(db_url, tmp_path, n=40, sender={"http_timeout_seconds": 1.0, "claim_seconds": 4})
    yield w
    w.stop()


def unknown_outcomes(svc) -> int:
    with svc.sessions() as s:
        return s.scalar(select(func.sum(OutboxMessage.unknown_outcomes))) or 0


def all_sent(svc) -> bool:
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "sent")) == 0


def test_a_sender_killed_mid_fan_out_loses_nothing_and_repeats_only_unknown_sends(world):
    svc = Service(world.config)
    total = world.queue_everything(svc)
    world.slow_answers(["webhook/send", "appchat/send", "message/send", "externalcontact/add_msg_template"],
                       after_ms=150)
    first = world.start_worker()
    assert world.wait_sent(svc, total // 3)
    world.kill(first)                                   # SIGKILL: no clean-up, claims left behind
    world.clear_faults()
    second = world.start_worker()
    assert wait_for(lambda: all_sent(svc), timeout=90), "the second sender did not finish"
    world.kill(second)
    tally = world.tally()
    for ch, t in tally.items():
        assert t["lost"] == 0, (ch, t)
    assert tally["app"]["duplicates"] == 0              # WeCom's duplicate check drops a resend
    repeats = sum(t["duplicates"] for t in tally.values())
    # a repeat happens only for a send that was under way when the sender died, and each one is counted
    assert repeats <= unknown_outcomes(svc) <= svc.config.sender.concurrency


def test_answers_slower_than_the_timeout_are_resent_once_and_counted(world):
    svc = Service(world.config)
    svc.outbox.to_members(["m0001"], "慢回答：请核实", dedupe_key="slow-app")
    svc.outbox.to_group("hook0001", "慢回答：请核实", dedupe_key="slow-hook")
    world.slow_answers(["message/send", "webhook/send"], after_ms=1500, count=1)
    svc.sender.start()
    try:
        assert wait_for(lambda: all_sent(svc), timeout=20)
    finally:
        svc.sender.stop()
    dm = [m for m in world_messages(world, "dm:m0001") if m["text"] == "慢回答：请核实"]
    hook = [m for m in world_messages(world, "hook0001") if m["text"] == "慢回答：请核实"]
    assert len(dm) == 1                               # exactly once: the resend was dropped by WeCom
    assert len(hook) == 2                             # at least once: a robot has no duplicate check
    assert unknown_outcomes(svc) == 2                 # … and both unknown outcomes are on record


def world_messages(world, chat):
    import requests
    return requests.get(f"{world.sim_url}/sim/messages", params={"chat": chat}, timeout=5).json()


class Clock:
    def __init__(self):
        self.now = dt.datetime.now(dt.timezone.utc)

    def __call__(self):
        return self.now


def test_a_claim_that_ran_out_is_fenced_off(world):
    """Sender A claims, stalls past its claim, B takes the rows over and sends them; A wakes up and
    must neither send nor record anything."""
    clock_a, clock_b = Clock(), Clock()
    a, b = Service(world.config, clock=clock_a), Service(world.config, clock=clock_b)
    a.sender.clock, b.sender.clock = clock_a, clock_b
    for u in world.members()[:10]:
        a.outbox.to_members([u], f"围栏{u}", dedupe_key=f"fence-{u}")
    clock_a.now = dt.datetime.now(dt.timezone.utc)
    rows = a.sender.claim()
    assert len(rows) == 10
    clock_b.now = clock_a.now + dt.timedelta(seconds=world.config.sender.claim_seconds + 1)
    b.sender.drain()
    for row in rows:                                   # A goes on with the rows it claimed earlier
        a.sender._send_row(row)
    for u in world.members()[:10]:
        assert [m["text"] for m in world_messages(world, f"dm:{u}")] == [f"围栏{u}"]
    with a.sessions() as s:
        assert set(s.scalars(select(OutboxMessage.state))) == {"sent"}
