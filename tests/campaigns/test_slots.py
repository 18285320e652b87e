"""Campaign slots end to end: exactly once, quiet hours, the delivery log, the robot limit, #推送."""
import datetime as dt
import threading

import pytest
import requests
from sqlalchemy import func, select

from bot import campaigns as cp
from bot.app import Service
from bot.config import CampaignConfig
from bot.models import OutboxMessage
from tests.conftest import demo_config, mass_tasks_recorded, wait_for

NOON = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.timezone.utc)      # 12:00 in Asia/Shanghai


def campaign(**kw):
    base = dict(name="测试推送", targets={"kinds": ["community", "bank", "enterprise"]}, cron="0 12 * * *",
                draw_from=["scenario"], msgtype="text")
    base.update(kw)
    return CampaignConfig.model_validate(base)


def with_campaigns(stack_or_cfg, *campaigns):
    return stack_or_cfg.model_copy(update={"campaigns": list(campaigns)})


def outbox_count(svc):
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_slot_reaches_each_reachable_group_once_and_logs_the_rest(db_url):
    c = campaign()
    svc = Service(with_campaigns(demo_config(db_url), c))
    first = cp.run_slot(svc, c, NOON)
    # internal groups through their robot; the two external customer groups through a mass-send
    # task that their grid worker must confirm
    assert first.counts["queued"] == 5 == len(svc.config.campaign_groups(c))
    with svc.sessions() as s:
        channels = sorted(r.channel for r in s.scalars(select(OutboxMessage)))
    assert channels.count("webhook") == 3 and len(channels) == 5
    again = cp.run_slot(svc, c, NOON)                     # the same slot fires again (restart, second instance)
    assert again.counts == {"duplicate": 5}
    assert outbox_count(svc) == 5


def test_two_instances_running_the_same_slot_send_it_once(db_url):
    c = campaign()
    cfg = with_campaigns(demo_config(db_url), c)
    a, b = Service(cfg), Service(cfg)
    results = []
    threads = [threading.Thread(target=lambda s=s: results.append(cp.run_slot(s, c, NOON))) for s in (a, b)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outbox_count(a) == 5
    assert sum(r.counts["queued"] for r in results) == 5


def test_quiet_hours_send_nothing(db_url):
    c = campaign(cron="30 23 * * *")
    svc = Service(with_campaigns(demo_config(db_url), c))
    late = dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.timezone.utc)   # 23:30 local
    res = cp.run_slot(svc, c, late)
    assert set(res.counts) == {"quiet"} and outbox_count(svc) == 0


def test_previous_slot_is_the_scheduled_time_of_a_late_run():
    c = campaign(cron="0 9 * * *")
    late = dt.datetime(2026, 11, 30, 1, 25, tzinfo=dt.timezone.utc)   # 09:25 local
    assert cp.previous_slot(c, "Asia/Shanghai", late) == dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)


def test_delivery_log_shows_sent_and_failed_with_reason_and_marks_a_failing_group(stack_factory):
    # one addressee at a time, so that the injected fault hits the first group's push
    st = stack_factory(start_sender=False, sender={"concurrency": 1})
    c = campaign(targets={"groups": ["bank_staff", "textile_finance"]})
    svc = st.service
    svc.config = with_campaigns(svc.config, c)
    st.sim_post("/sim/faults", {"api": "webhook/send", "errcode": 93000, "count": 1})
    cp.run_slot(svc, c, NOON)
    svc.sender.drain()
    log = {ln.group_id: ln for ln in cp.delivery_log(svc, NOON - dt.timedelta(days=1))}
    assert (log["bank_staff"].scheduled, log["bank_staff"].sent, log["bank_staff"].failed) == (1, 0, 1)
    assert "93000" in log["bank_staff"].reasons[0]
    assert (log["textile_finance"].sent, log["textile_finance"].failed) == (1, 0)
    # a group whose robot was removed keeps failing: after three dead pushes it is marked, not retried forever
    for day in (1, 2):
        st.sim_post("/sim/faults", {"api": "webhook/send", "errcode": 93000, "count": 1})
        slot = NOON + dt.timedelta(days=day)
        cp.run_slot(svc, c, slot, now=slot)
        svc.sender.drain()
    slot = NOON + dt.timedelta(days=3)
    res = cp.run_slot(svc, c, slot, now=slot)
    assert res.counts["failing"] == 1 and res.counts["queued"] == 1


def test_slots_through_the_simulator_respect_the_robot_limit_with_nothing_dead(stack_factory):
    st = stack_factory(start_sender=False)
    c = campaign(targets={"groups": ["bank_staff"]}, rotation_days=0)
    st.service.config = with_campaigns(st.service.config, c)
    for i in range(25):
        cp.run_slot(st.service, c, NOON + dt.timedelta(minutes=i))
    st.service.sender.drain()
    with st.service.sessions() as s:
        states = [r.state for r in s.scalars(select(OutboxMessage))]
    assert states.count("sent") == 20 and states.count("pending") == 5 and "dead" not in states
    assert len(st.bot_messages("bank_staff")) == 20
    assert st.stats()["errors"].get("45009", 0) == 0


def test_push_commands_in_the_leadership_group(stack_factory):
    st = stack_factory()
    # the test may run at night: without quiet hours, "立即" really sends now
    st.service.ctx.config = st.service.config = st.service.config.model_copy(update={"campaigns": [
        c.model_copy(update={"quiet_hours": None}) for c in st.service.config.campaigns]})
    chat = "leadership"
    st.say(chat, "police_duty", "#推送 列表")              # a member without the role: refused
    st.say(chat, "propaganda_yang", "#推送 列表")
    replies = wait_for(lambda: (lambda b: b if len(b) >= 2 else None)(st.bot_messages(chat)), timeout=5)
    # each answer goes to its own asker; which of the two arrives first is not the point
    assert sorted("仅限" in r["text"] for r in replies) == [False, True]
    assert any("社区每日提醒" in r["text"] for r in replies)
    st.say(chat, "propaganda_yang", "#推送 立即 企业财务提醒")
    assert wait_for(lambda: st.bot_messages("textile_finance"), timeout=5)
    st.say(chat, "propaganda_yang", "#推送 暂停 企业财务提醒")
    assert wait_for(lambda: any("已暂停" in m["text"] for m in st.bot_messages(chat)), timeout=5)
    assert cp.is_paused(st.service.sessions, "企业财务提醒")
    st.say(chat, "propaganda_yang", "#推送 删除 企业财务提醒")
    assert wait_for(lambda: any(m["text"].startswith("用法：#推送") for m in st.bot_messages(chat)), timeout=5)


@pytest.mark.parametrize("change, key", [
    ({"cron": "every monday"}, "campaigns.0.cron"),
    ({"targets": {"groups": ["nowhere"]}}, "campaigns.0.targets.groups.0"),
    ({"targets": {"kinds": ["square"]}}, "campaigns.0.targets.kinds.0"),
    ({"quiet_hours": "22-7"}, "campaigns.0.quiet_hours"),
])
def test_bad_campaign_config_names_the_key(tmp_path, change, key):
    import yaml
    from bot.config import ConfigError, load_config
    from tests.conftest import ROOT
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["campaigns"][0].update(change)
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert any(err.startswith(key + ":") for err in e.value.errors), e.value.errors


def test_customer_groups_count_only_when_the_owner_really_sent(stack_factory):
    from bot.channels import customer_group as mass_send
    st = stack_factory()
    svc = st.service
    c = campaign(targets={"groups": ["binhe_residents", "shiqiao_villagers"]})
    svc.config = with_campaigns(svc.config, c)
    cp.run_slot(svc, c, NOON)
    got = wait_for(lambda: (lambda t: t if len(t) == 2 else None)(
        requests.get(f"{st.sim_url}/sim/mass_tasks", timeout=5).json()), timeout=5)
    assert len(got) == 2 and wait_for(lambda: mass_tasks_recorded(svc, 2), timeout=5)
    log = {ln.group_id: ln for ln in cp.delivery_log(svc, NOON - dt.timedelta(days=1))}
    assert (log["binhe_residents"].scheduled, log["binhe_residents"].sent, log["binhe_residents"].pending) == (1, 0, 1)
    by_owner = {t["sender"]: t for t in got}
    st.sim_post("/sim/mass_tasks/confirm", {"msgid": by_owner["gridli"]["msgid"]})     # 滨河: the grid worker sends it
    later = svc.clock() + dt.timedelta(hours=svc.config.mass_send.expire_hours + 1)
    mass_send.poll(svc.config, svc.sessions, svc.api, svc.clock())
    mass_send.poll(svc.config, svc.sessions, svc.api, later)                             # 石桥: ignored, expired
    log = {ln.group_id: ln for ln in cp.delivery_log(svc, NOON - dt.timedelta(days=1))}
    assert (log["binhe_residents"].sent, log["binhe_residents"].failed) == (1, 0)
    assert (log["shiqiao_villagers"].sent, log["shiqiao_villagers"].failed) == (0, 1)
    assert log["shiqiao_villagers"].reasons == ["群主未确认发送"]


def test_an_image_campaign_sends_posters_the_robot_can_show(stack_factory):
    st = stack_factory(start_sender=False)
    c = campaign(targets={"groups": ["bank_staff"]}, msgtype="image", draw_from=["venue"])
    st.service.config = with_campaigns(st.service.config, c)
    res = cp.run_slot(st.service, c, NOON)
    assert res.counts == {"queued": 1}
    st.service.sender.drain()
    got = st.bot_messages("bank_staff")
    assert len(got) == 1 and got[0]["msgtype"] == "image"


@pytest.mark.slow
def test_a_campaign_with_an_empty_pool_stops_start_up_naming_the_key(tmp_path):
    import subprocess
    import sys
    import yaml
    from tests.conftest import ROOT
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["campaigns"] = [{"name": "只发海报", "targets": {"kinds": ["school"]}, "cron": "0 9 * * *",
                         "draw_from": ["scenario"], "msgtype": "image"}]
    raw["database"] = {"url": f"sqlite:///{tmp_path / 'x.db'}"}
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", str(p), "--port", "9"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "campaigns.0.draw_from: nothing to send to group school_parents" in r.stderr


@pytest.mark.slow
def test_campaigns_cli(tmp_path):
    import subprocess
    import sys
    from tests.conftest import ROOT
    import os
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", WECOM_API_BASE="http://127.0.0.1:9")
    run = lambda *a: subprocess.run([sys.executable, "-m", "bot", "campaigns", *a], capture_output=True, text=True,
                                    cwd=ROOT, env=env, timeout=120)
    listed = run("list")
    assert listed.returncode == 0 and "社区每日提醒" in listed.stdout
    preview = run("preview", "银行网点提醒")
    assert preview.returncode == 0 and "农行安平支行员工群" in preview.stdout
    unknown = run("preview", "没有这个")
    assert unknown.returncode == 1 and "unknown campaign" in unknown.stderr
    log = run("log", "--days", "1")
    assert log.returncode == 0 and log.stdout.startswith("日期")
