"""The console's 宣传推送 page: schedule and state, the preview of the next slot, pause / resume / run now
(the same state changes as #推送, recorded), and the delivery log of one day per group."""
from __future__ import annotations

import datetime as dt
import html
import re
import threading

import pytest
from sqlalchemy import func, select, update

from bot import campaigns as cp
from bot.campaign_models import CampaignDelivery, CampaignRun, CampaignState
from bot.console_models import ConsoleAction
from bot.core import scheduling
from bot.core.message import Message
from bot.db import session_scope
from bot.models import OutboxMessage
from bot.wechat_models import MassSendGroup, MassSendTask
from content import markup
from handlers.campaigns import CampaignHandler
from scheduler.campaigns import campaign_slot

UTC = dt.timezone.utc
# Monday 2026-11-30, 12:00:30 in Asia/Shanghai
NOON = dt.datetime(2026, 11, 30, 4, 0, 30, tzinfo=UTC)
FINANCE = "企业财务提醒"          # "2-59/5 * * * *" → textile_finance (a group robot)
COMMUNITY = "社区每日提醒"        # "*/2 * * * *", markdown → dongguan_grid (robot), binhe / shiqiao (customer groups)


def at(console, when: dt.datetime) -> None:
    """The service's clock (pages, actions, scheduled jobs) stands at `when`."""
    console.service.clock = console.service.ctx.clock = lambda: when


def section(page: str, name: str) -> str:
    m = re.search(r'<tr class="campaign" data-name="' + re.escape(name) + r'".*?</tr>', page, re.S)
    assert m, f"no card for {name}"
    return m.group(0)


def actions(console) -> list[tuple]:
    with console.service.sessions() as s:
        return [(a.userid, a.action, a.target) for a in s.scalars(select(ConsoleAction).order_by(ConsoleAction.id))
                if a.action != "login"]


def outbox_rows(console, campaign: str) -> list[OutboxMessage]:
    with console.service.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"campaign:{campaign}:%"))
                              .order_by(OutboxMessage.id)))


def run_job(console, name: str, when: dt.datetime) -> None:
    """The scheduler's own job for the campaign, run at `when`."""
    at(console, when)
    old, scheduling._context = scheduling._context, console.service.ctx
    try:
        campaign_slot(name)
    finally:
        scheduling._context = old


def chat(console, user: str, args: str) -> str:
    msg = Message(channel="app", sender=user, text=f"#推送 {args}", dedupe_key=f"m-{args}-{user}")
    return CampaignHandler().handle(msg, console.service.ctx, args)[0].text


# --- schedule and state ------------------------------------------------------------------------------

def test_next_fire_times_of_a_friday_cron_fall_on_friday_in_the_service_timezone(console):
    at(console, NOON)
    page = console.as_("leader_zheng").get("/console/campaigns").data.decode()
    card = section(page, "家长群宣传")          # cron "0 19 * * 5": standard cron, 5 = Friday
    fires = re.findall(r'<li data-at="([^"]+)">([^<]+)</li>', card)
    assert [f[1] for f in fires] == ["2026-12-04 星期五 19:00", "2026-12-11 星期五 19:00", "2026-12-18 星期五 19:00",
                                     "2026-12-25 星期五 19:00", "2027-01-01 星期五 19:00"]
    assert all(dt.datetime.fromisoformat(f[0]).utcoffset() == dt.timedelta(hours=8) for f in fires)
    assert "<code>0 19 * * 5</code>" in card and "场所：学校" in card and "实验小学三年级家长群" in card
    assert "静默：22:00-07:00" in card and 'data-state="running"' in card
    # a leader reads everything and may change nothing: no buttons
    assert "立即推送" not in page and "campaigns/pause" not in page
    community = section(page, COMMUNITY)
    assert re.findall(r'<li data-at="[^"]+">([^<]+)</li>', community)[:2] == ["2026-11-30 星期一 12:02",
                                                                               "2026-11-30 星期一 12:04"]


def test_the_state_says_who_paused_a_campaign_and_when(console):
    at(console, NOON)
    chat(console, "admin_gao", f"暂停 {FINANCE}")          # paused in the chat
    card = section(console.as_("propaganda_yang").get("/console/campaigns").data.decode(), FINANCE)
    assert 'data-state="paused"' in card and "高局于 2026-11-30 12:00 暂停" in card and "已暂停" in card
    assert "campaigns/resume" in card and "campaigns/pause" not in card


# --- preview -------------------------------------------------------------------------------------------

def bubbles(page: str) -> dict[str, tuple[str, str, str]]:
    """group id → (state, item id, what the bubble shows as text)."""
    out = {}
    for m in re.finditer(r'<section class="card preview" data-group="([^"]+)" data-state="([^"]+)" '
                         r'data-item="([^"]*)">(.*?)</section>', page, re.S):
        b = re.search(r'<div class="bubble[^"]*">(.*?)</div>\s*\n', m.group(4), re.S)
        out[m.group(1)] = (m.group(2), m.group(3), b.group(1) if b else "")
    return out


def visible(fragment: str) -> str:
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", fragment)))


def test_the_preview_is_what_the_next_slot_sends_to_each_group_as_its_readers_see_it(console):
    svc = console.service
    c = svc.config.campaign(COMMUNITY)
    # earlier slots sent something already: rotation and priorities decide what comes next
    for minutes in (56, 58):
        slot = dt.datetime(2026, 11, 30, 3, minutes, tzinfo=UTC)
        cp.run_slot(svc.ctx, c, slot, slot)
    at(console, NOON)
    page = console.as_("propaganda_yang").get(f"/console/campaigns/preview?name={COMMUNITY}").data.decode()
    assert "2026-11-30 星期一 12:02" in page and "按配置的权重" in page and "刷单" in page
    shown = bubbles(page)
    assert set(shown) == {"dongguan_grid", "binhe_residents", "shiqiao_villagers"}
    assert all(state == "queued" and item for state, item, _ in shown.values())
    with svc.sessions() as s:     # nothing was recorded by looking
        assert s.scalar(select(func.count()).select_from(CampaignDelivery)) == 6

    run_job(console, COMMUNITY, dt.datetime(2026, 11, 30, 4, 2, 1, tzinfo=UTC))
    with svc.sessions() as s:
        sent = {d.group_id: d.item_id for d in s.scalars(select(CampaignDelivery).where(
            CampaignDelivery.slot == dt.datetime(2026, 11, 30, 4, 2, tzinfo=UTC)))}
        payloads = {r.group_id: r.payload for r in s.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"campaign:{COMMUNITY}:20261130T0402Z:%")))}
    assert sent == {g: item for g, (_s, item, _t) in shown.items()}
    # the robot's group sees markdown rendered: the page shows it rendered, never the marks
    robot = payloads["dongguan_grid"]
    assert robot["rich"] and "**" in robot["text"]
    assert "**" not in shown["dongguan_grid"][2] and "<b>" in shown["dongguan_grid"][2]
    assert visible(shown["dongguan_grid"][2]) == re.sub(r"\s+", "", markup.plain(robot["text"]))
    # residents on WeChat get plain text in a mass-send task: exactly that text
    for g in ("binhe_residents", "shiqiao_villagers"):
        assert html.unescape(shown[g][2]) == payloads[g]["text"]
        assert "**" not in payloads[g]["text"]


def test_the_preview_says_when_the_next_slot_sends_nothing(console):
    at(console, dt.datetime(2026, 11, 30, 14, 0, 30, tzinfo=UTC))       # 22:00:30: quiet hours
    c = console.as_("leader_zheng")
    page = c.get(f"/console/campaigns/preview?name={COMMUNITY}").data.decode()
    assert {s for s, _i, _t in bubbles(page).values()} == {"quiet"} and "静默时段 22:00-07:00" in page
    chat(console, "propaganda_yang", f"暂停 {COMMUNITY}")
    assert "此推送已暂停（杨宣传）" in c.get(f"/console/campaigns/preview?name={COMMUNITY}").data.decode()
    r = c.get("/console/campaigns/preview?name=没有这个")
    assert r.status_code == 404 and "社区每日提醒" in r.data.decode()


# --- actions -------------------------------------------------------------------------------------------

def test_pause_and_resume_change_what_the_chat_command_changes_and_are_recorded(console):
    at(console, NOON)
    yang = console.as_("propaganda_yang")
    r = console.post(yang, "/console/campaigns/pause", {"name": FINANCE})
    assert r.status_code == 302
    assert "已暂停“企业财务提醒”" in yang.get(r.headers["Location"]).data.decode()
    chat(console, "propaganda_yang", "暂停 银行网点提醒")         # the same through the chat command
    with console.service.sessions() as s:
        states = {st.name: (st.paused, st.changed_by, st.changed_at) for st in s.scalars(select(CampaignState))}
    assert states[FINANCE] == states["银行网点提醒"] == (True, "propaganda_yang", NOON)
    assert cp.is_paused(console.service.sessions, FINANCE)
    assert actions(console) == [("propaganda_yang", "campaign.pause", FINANCE)]
    # pausing again changes nothing and records nothing
    r = console.post(yang, "/console/campaigns/pause", {"name": FINANCE})
    assert "已经是暂停状态" in yang.get(r.headers["Location"]).data.decode()
    assert len(actions(console)) == 1

    at(console, NOON + dt.timedelta(minutes=3))
    console.post(yang, "/console/campaigns/resume", {"name": FINANCE})
    chat(console, "propaganda_yang", "恢复 银行网点提醒")
    with console.service.sessions() as s:
        states = {st.name: (st.paused, st.changed_by) for st in s.scalars(select(CampaignState))}
    assert states[FINANCE] == states["银行网点提醒"] == (False, "propaganda_yang")
    assert actions(console)[-1] == ("propaganda_yang", "campaign.resume", FINANCE)


@pytest.mark.parametrize("who", ["leader_zheng", "police_duty"])
def test_a_leader_and_a_police_officer_may_not_pause_resume_or_run(console, who):
    at(console, NOON)
    client = console.as_(who)
    chat(console, "propaganda_yang", "暂停 银行网点提醒")
    for path, name in (("pause", FINANCE), ("resume", "银行网点提醒"), ("run", FINANCE)):
        r = console.post(client, f"/console/campaigns/{path}", {"name": name, "form_id": "form-0123456789"})
        assert r.status_code == 403 and "宣传干事" in r.data.decode()
    assert not cp.is_paused(console.service.sessions, FINANCE)
    assert cp.is_paused(console.service.sessions, "银行网点提醒")
    assert outbox_rows(console, FINANCE) == [] and actions(console) == []
    assert "立即推送" not in client.get("/console/campaigns").data.decode()


def test_run_now_goes_through_the_outbox_like_the_chat_command_and_is_recorded(console):
    at(console, NOON)
    admin = console.as_("admin_gao")         # admin (and police): may control campaigns
    r = console.post(admin, "/console/campaigns/run", {"name": FINANCE, "form_id": "form-aaaaaaaaaa"})
    assert "“企业财务提醒”已立即推送：已排队发送1个群" in admin.get(r.headers["Location"]).data.decode()
    chat(console, "admin_gao", "立即 银行网点提醒")
    with console.service.sessions() as s:
        rows = {d.campaign: d for d in s.scalars(select(CampaignDelivery))}
        runs = list(s.scalars(select(CampaignRun)))
    slot = NOON.replace(second=0)
    for name, group in ((FINANCE, "textile_finance"), ("银行网点提醒", "bank_staff")):
        d = rows[name]
        assert (d.slot, d.group_id, d.state, d.outbox_key) == (slot, group, "queued", cp.outbox_key(name, slot, group))
        [row] = outbox_rows(console, name)
        assert (row.dedupe_key, row.state, row.source) == (d.outbox_key, "pending", f"campaign:{name}")
    assert [(r.key, r.campaign, r.slot, r.requested_by) for r in runs] == [
        ("console:form-aaaaaaaaaa", FINANCE, slot, "admin_gao")]
    assert actions(console) == [("admin_gao", "campaign.run", FINANCE)]


def test_run_now_twice_with_the_same_form_sends_once(console):
    at(console, NOON)
    yang = console.as_("propaganda_yang")
    form = {"name": FINANCE, "form_id": "form-double-click"}
    console.post(yang, "/console/campaigns/run", form)
    at(console, NOON + dt.timedelta(minutes=1))           # the second click lands in the next minute
    r = console.post(yang, "/console/campaigns/run", form)
    assert "这张表单已提交过（杨宣传，12:00:30），没有重复推送" in yang.get(r.headers["Location"]).data.decode()
    assert len(outbox_rows(console, FINANCE)) == 1
    assert [a for a in actions(console) if a[1] == "campaign.run"] == [("propaganda_yang", "campaign.run", FINANCE)]
    # a new form (the page loaded again) is a new request
    console.post(yang, "/console/campaigns/run", {"name": FINANCE, "form_id": "form-next-click"})
    assert len(outbox_rows(console, FINANCE)) == 2
    # a form without its id is refused, not run
    r = console.post(yang, "/console/campaigns/run", {"name": FINANCE})
    assert "表单缺少编号" in yang.get(r.headers["Location"]).data.decode() and len(outbox_rows(console, FINANCE)) == 2


def test_two_clicks_at_the_same_moment_send_once(console):
    at(console, NOON)
    clients = [console.as_("propaganda_yang") for _ in range(2)]
    for c in clients:                # the same form in two tabs of one session
        with c.session_transaction() as s:
            s["csrf"] = "same-token"
    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(c.post("/console/campaigns/run", data={
        "name": FINANCE, "form_id": "form-simultaneous", "csrf_token": "same-token"}).status_code))
        for c in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == [302, 302]
    assert len(outbox_rows(console, FINANCE)) == 1
    assert len([a for a in actions(console) if a[1] == "campaign.run"]) == 1


# --- the delivery log ------------------------------------------------------------------------------------

def log_rows(page: str, group: str) -> list[tuple[str, str, str]]:
    """(status, 状态 cell, 说明 cell) of a group's rows on the log page."""
    m = re.search(r'<section class="card log-group" id="g-' + group + r'".*?</section>', page, re.S)
    assert m, group
    return [(st, html.unescape(a).strip(), html.unescape(b).strip()) for st, a, b in re.findall(
        r'<tr class="row-\w+" data-status="(\w+)">.*?<td class="st-\w+">(.*?)</td>\s*<td>(.*?)</td>', m.group(0), re.S)]


def test_the_delivery_log_shows_sent_failed_skipped_and_waiting_per_group(console):
    svc = console.service
    ctx = svc.ctx
    community, finance = svc.config.campaign(COMMUNITY), svc.config.campaign(FINANCE)
    eleven = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)             # 11:00 local
    cp.run_slot(ctx, community, eleven, eleven)
    cp.run_slot(ctx, finance, eleven + dt.timedelta(minutes=2), eleven)
    early = dt.datetime(2026, 11, 29, 22, 30, tzinfo=UTC)             # 06:30 local: quiet hours
    cp.run_slot(ctx, community, early, early)
    cp.run_slot(ctx, community, early - dt.timedelta(days=1), early)  # another day: not on this page
    with session_scope(svc.sessions) as s:
        def outbox(key):
            return update(OutboxMessage).where(OutboxMessage.dedupe_key == key)
        # the robot posted it; the finance robot was removed (93000)
        s.execute(outbox(cp.outbox_key(COMMUNITY, eleven, "dongguan_grid"))
                  .values(state="sent", sent_at=eleven + dt.timedelta(seconds=4)))
        s.execute(outbox(cp.outbox_key(FINANCE, eleven + dt.timedelta(minutes=2), "textile_finance"))
                  .values(state="dead", attempts=1, last_error="93000 invalid webhook url"))
        # both mass-send tasks were created at WeCom; 石桥's owner confirmed, 滨河's did not yet
        for g in ("binhe_residents", "shiqiao_villagers"):
            key = cp.outbox_key(COMMUNITY, eleven, g)
            s.execute(outbox(key).values(state="sent", sent_at=eleven + dt.timedelta(seconds=5)))
            s.execute(update(MassSendTask).where(MassSendTask.dedupe_key == key).values(state="waiting"))
        task = s.scalar(select(MassSendTask.id).where(
            MassSendTask.dedupe_key == cp.outbox_key(COMMUNITY, eleven, "shiqiao_villagers")))
        s.execute(update(MassSendGroup).where(MassSendGroup.task_id == task)
                  .values(status="sent", sent_at=eleven + dt.timedelta(minutes=40)))
    # 杨宣传 pauses the finance reminder; its next scheduled slot is recorded as skipped
    at(console, NOON)
    yang = console.as_("propaganda_yang")
    console.post(yang, "/console/campaigns/pause", {"name": FINANCE})
    run_job(console, FINANCE, dt.datetime(2026, 11, 30, 4, 2, 0, 500, tzinfo=UTC))
    assert outbox_rows(console, FINANCE)[-1].dedupe_key == cp.outbox_key(FINANCE, eleven + dt.timedelta(minutes=2),
                                                                        "textile_finance")     # nothing new queued
    # the bank robot has had its 20 messages this minute: the next one waits, and says why
    with session_scope(svc.sessions) as s:
        for i in range(20):
            s.add(OutboxMessage(dedupe_key=f"x{i}", channel="webhook", target="bank_robot", group_id="bank_staff",
                                msgtype="text", payload={"text": "x"}, state="sent", sent_at=svc.sender.clock()))
    bank = svc.config.campaign("银行网点提醒")
    cp.run_slot(ctx, bank, dt.datetime(2026, 11, 30, 4, 1, tzinfo=UTC), NOON)
    svc.sender.run_once()

    page = yang.get("/console/campaigns/log").data.decode()          # today, by the service's clock
    assert "推送记录 · 2026-11-30（今天）" in page
    grid = log_rows(page, "dongguan_grid")
    assert grid[0] == ("sent", "已发送", "11:00:04 送达")
    assert grid[1][0] == "skipped" and grid[1][2] == "静默时段 22:00-07:00"
    assert len(grid) == 2                                            # the day before is not shown
    assert log_rows(page, "binhe_residents")[0] == ("waiting", "待群主确认", "群发任务已创建，等待李网格员在手机上确认发送")
    assert log_rows(page, "shiqiao_villagers")[0] == ("sent", "已发送", "11:40:00 送达（群主已确认群发）")
    finance_rows = log_rows(page, "textile_finance")
    assert finance_rows[0] == ("skipped", "跳过", "推送已暂停（杨宣传于11-30 12:00暂停）")
    assert finance_rows[1] == ("failed", "失败", "93000 invalid webhook url")
    [queued] = log_rows(page, "bank_staff")
    assert queued[0] == "queued" and queued[2].startswith("频率限制：每分钟最多20条，等待发送") and "再发" in queued[2]
    counts = re.search(r'id="g-textile_finance".*?</p>', page, re.S).group(0)
    assert "计划推送 1" in counts and "失败 1" in counts and "跳过 1" in counts and "已发送 0" in counts

    # another day, chosen in the form
    page = yang.get("/console/campaigns/log?day=2026-11-29").data.decode()
    assert [r[0] for r in log_rows(page, "dongguan_grid")] == ["skipped"]
    page = yang.get("/console/campaigns/log?day=30-11").data.decode()
    assert "看不懂" in page and "（今天）" in page


def test_the_log_of_one_group_shows_all_its_rows_and_the_slots_still_ahead_today(console):
    svc = console.service
    c = svc.config.campaign(FINANCE)
    first = dt.datetime(2026, 11, 30, 1, 2, tzinfo=UTC)              # 09:02 local, then every 5 minutes
    for i in range(35):
        slot = first + dt.timedelta(minutes=5 * i)
        cp.run_slot(svc.ctx, c, slot, slot)
    at(console, NOON)
    client = console.as_("leader_zheng")
    page = client.get("/console/campaigns/log").data.decode()
    assert len(log_rows(page, "textile_finance")) == 30 and "共 35 条" in page
    # 12:02 … 23:57: 144 slots left today
    assert "今天还将到点 144 次（下次 12:02 企业财务提醒）" in page
    page = client.get("/console/campaigns/log?group=textile_finance").data.decode()
    assert len(log_rows(page, "textile_finance")) == 35 and 'id="g-bank_staff"' not in page
