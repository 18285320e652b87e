"""A warning's transitions and its escalation steps, with an injected clock and no network: what
each change allows, the event row it writes, and the messages it queues."""
import datetime as dt

import pytest
from sqlalchemy import select

from bot import warnings as wn
from bot.app import Service
from bot.config import EscalationStep
from bot.db import session_scope
from bot.models import OutboxMessage
from bot.warnings.models import TransitionRefused, Warning, WarningEvent

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def minutes(self, m):
        self.now = T0 + dt.timedelta(minutes=m)


@pytest.fixture
def clock():
    return Clock()


def make_service(config, clock) -> Service:
    return Service(config, clock=clock)


@pytest.fixture
def svc(config, clock):
    s = make_service(config, clock)
    yield s
    s.engine.dispose()


def create(svc, text="电话:13812345678 地址:东关村 类型:刷单 级别:红"):
    d = wn.parse_warning(text, svc.config, svc.matcher, svc.library)
    w, _ = wn.create_with_retry(svc.sessions, svc.ctx, d, actor="police_duty", channel="test", ref=f"t:{text}",
                                now=svc.clock())
    return w.number


def act(svc, fn, number, **kw):
    with session_scope(svc.sessions) as s:
        return fn(s, svc.ctx, wn.find(s, number), channel="test", ref=f"t:{fn.__name__}", now=svc.clock(), **kw)


def events(svc, number):
    with svc.sessions() as s:
        w = wn.find(s, number)
        return [(e.kind, e.from_state, e.to_state) for e in
                s.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id).order_by(WarningEvent.id))]


def queued(svc, contains):
    with svc.sessions() as s:
        return [r for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                if contains in str(r.payload)]


def test_each_change_writes_its_event_with_the_states_before_and_after(svc, clock):
    n = create(svc)
    clock.minutes(2)
    act(svc, wn.sign, n, actor="liaison_chen")
    clock.minutes(20)
    act(svc, wn.report, n, actor="liaison_chen", result="unreachable", note="关机")
    clock.minutes(30)
    act(svc, wn.report, n, actor="liaison_chen", result="dissuaded", note="已联系")
    assert events(svc, n) == [("created", None, "issued"), ("signed", "issued", "signed"),
                              ("reported", "signed", "reported"), ("reported", "reported", "reported"),
                              ("closed", "reported", "closed")]


def test_a_result_on_an_unsigned_warning_signs_it_first(svc):
    n = create(svc)
    text = act(svc, wn.report, n, actor="liaison_chen", result="dissuaded", note="")
    assert "已办结" in text
    assert [k for k, _, _ in events(svc, n)] == ["created", "signed", "reported", "closed"]


def test_a_closed_warning_refuses_every_change_and_says_why(svc):
    n = create(svc)
    act(svc, wn.report, n, actor="liaison_chen", result="invalid", note="号码错误")
    for fn, kw, says in ((wn.sign, {"actor": "liaison_chen"}, "已办结，无需签收"),
                         (wn.report, {"actor": "liaison_chen", "result": "dissuaded", "note": ""}, "不能再反馈"),
                         (wn.reassign, {"actor": "police_duty", "station_id": "hekou"}, "不能再转派"),
                         (wn.close, {"actor": "police_duty", "note": ""}, "已办结")):
        with pytest.raises(wn.WarningError, match=says):
            act(svc, fn, n, **kw)
    assert [k for k, _, _ in events(svc, n)] == ["created", "signed", "reported", "closed"]


def test_the_model_itself_refuses_a_transition_its_state_does_not_allow(svc):
    n = create(svc)
    with session_scope(svc.sessions) as s:
        w = wn.find(s, n)
        w.close(s, actor="police_duty", note="", at=T0, channel=None, ref=None)
        with pytest.raises(TransitionRefused):
            w.sign(s, actor="liaison_chen", at=T0, channel=None, ref=None)
        with pytest.raises(TransitionRefused):
            w.reassign(s, actor="police_duty", station_id="hekou", at=T0, channel=None, ref=None)


def test_another_station_may_not_act_but_the_centre_may(svc):
    n = create(svc)                                         # 东关村 → 城关派出所
    with pytest.raises(wn.WarningError, match="只有该所或反诈中心"):
        act(svc, wn.sign, n, actor="liaison_lin")           # 河口's liaison
    assert "已签收" in act(svc, wn.sign, n, actor="police_duty")


def test_signing_twice_answers_who_signed_and_changes_nothing(svc, clock):
    n = create(svc)
    clock.minutes(3)
    act(svc, wn.sign, n, actor="liaison_chen")
    again = act(svc, wn.sign, n, actor="liaison_chen")
    assert "无需重复签收" in again and "陈警官" in again
    assert [k for k, _, _ in events(svc, n)].count("signed") == 1


def test_reassigning_restarts_the_clock_and_hands_out_new_cards(svc, clock):
    n = create(svc)
    clock.minutes(6)
    assert run_sweep(svc) == [(n, "remind")]
    act(svc, wn.reassign, n, actor="police_duty", station_id="hekou")
    with svc.sessions() as s:
        w = wn.find(s, n)
        assert (w.state, w.station_id, w.assignment, w.dispatched_at) == ("issued", "hekou", 2, clock())
    assert queued(svc, f"{n}-a2-sign")                      # the new station's sign card
    assert queued(svc, "已转派")                             # the old card says it moved on
    clock.minutes(10)                                       # 4 minutes after the reassignment: no reminder yet
    assert run_sweep(svc) == []
    clock.minutes(11)
    assert run_sweep(svc) == [(n, "remind")]


def run_sweep(svc):
    with session_scope(svc.sessions) as s:
        return wn.sweep(s, svc.ctx, svc.clock())


def test_steps_fall_due_at_their_minutes_for_their_levels(svc, clock):
    red = create(svc)
    orange = create(svc, "电话:13812345679 地址:码头 级别:橙")
    clock.minutes(59)
    taken = run_sweep(svc)
    assert sorted(taken) == sorted([(red, "remind"), (red, "escalate"), (orange, "remind"), (orange, "escalate")])
    clock.minutes(60)
    assert run_sweep(svc) == [(red, "overdue")]             # red: no result within 60 minutes
    clock.minutes(239)
    assert run_sweep(svc) == []
    clock.minutes(240)
    assert run_sweep(svc) == [(orange, "overdue")]          # orange: within 240
    assert run_sweep(svc) == []                             # each once


def test_a_step_due_before_the_first_reminder_still_fires(config, clock):
    w = config.warnings
    steps = [EscalationStep(kind="overdue", after_minutes=3, until="result", levels=["红"],
                            notify=["liaisons", "chief"]),
             EscalationStep(kind="remind", after_minutes=10, until="signed", notify=["liaisons"])]
    cfg = config.model_copy(update={"warnings": w.model_copy(update={"escalation": steps})})
    svc = make_service(cfg, clock)
    try:
        n = create(svc)
        clock.minutes(3)
        assert run_sweep(svc) == [(n, "overdue")]
        assert queued(svc, f"【再次升级】{n}")
        clock.minutes(10)
        assert run_sweep(svc) == [(n, "remind")]
    finally:
        svc.engine.dispose()


def test_the_default_steps_are_the_four_limits_of_the_config(config):
    w = config.warnings
    got = [(s.kind, s.after_minutes, tuple(s.levels)) for s in w.steps()]
    assert got == [("remind", w.remind_after_minutes, ("红", "橙", "黄")),
                   ("escalate", w.escalate_after_minutes, ("红", "橙", "黄")),
                   ("overdue", w.result_within_minutes_red, ("红",)),
                   ("overdue", w.result_within_minutes, ("橙", "黄"))]


def test_overdue_now_and_was_overdue_agree_on_the_deadlines(svc, clock):
    """One definition: the daily summary's "超时未办" and the statistics' overdue count."""
    policy = svc.config.warnings
    w = Warning(level="红", dispatched_at=T0, state="issued", reports=0, assignment=1)
    assert not w.overdue_now(policy, T0 + dt.timedelta(minutes=14))
    assert w.overdue_now(policy, T0 + dt.timedelta(minutes=15))          # not signed in 15 minutes
    w.state, w.signed_at = "signed", T0 + dt.timedelta(minutes=20)
    assert not w.overdue_now(policy, T0 + dt.timedelta(minutes=30))      # signed: waits for the result now
    assert w.was_overdue(policy, T0 + dt.timedelta(minutes=30))          # … but it was signed late
    assert w.overdue_now(policy, T0 + dt.timedelta(minutes=60))          # red: no result in 60 minutes
    w.state, w.reported_at = "closed", T0 + dt.timedelta(minutes=61)
    assert not w.overdue_now(policy, T0 + dt.timedelta(minutes=90))


def test_a_config_with_two_steps_of_one_kind_for_a_level_is_refused(tmp_path, db_url):
    import yaml
    from bot.config import ConfigError, load_config
    from tests.conftest import ROOT
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["warnings"]["escalation"] = [
        {"kind": "remind", "after_minutes": 5, "until": "signed", "notify": ["liaisons"]},
        {"kind": "remind", "after_minutes": 8, "until": "signed", "levels": ["红"], "notify": ["chief"]}]
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p, env={"DATABASE_URL": db_url})
    assert any("warnings" in err and "a second remind step for level 红" in err for err in e.value.errors)
