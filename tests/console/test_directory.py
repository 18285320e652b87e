"""群与人员: groups with their venue kind, unit, reach and last push (from the outbox and, for customer
groups, from what the owner really sent), people with roles and masked mobiles, stations, units."""
from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import select, update

from bot.models import OutboxMessage
from bot.wechat_models import MassSendGroup
from tests.console.conftest import Console, console_config

UTC = dt.timezone.utc


def row_of(page: str, attr: str, value: str) -> str:
    m = re.search(rf'<tr {attr}="{re.escape(value)}">(.*?)</tr>', page, re.S)
    assert m, f"no row {attr}={value}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def sent(console, group_id: str, at: dt.datetime, state: str = "sent") -> None:
    """The sender's outcome for the group's queued rows (no sender runs in these tests)."""
    with console.service.sessions() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.group_id == group_id, OutboxMessage.state == "pending")
                  .values(state=state, sent_at=at if state == "sent" else None))
        s.commit()


def test_every_group_with_its_kind_unit_reach_and_who_reads_it(console):
    page = console.as_("leader_zheng").get("/console/directory").data.decode()
    for g in console.config.groups:
        assert f'data-group="{g.id}"' in page
    bank = row_of(page, "data-group", "bank_staff")
    assert "农行安平支行员工群" in bank and " 银行 " in bank and "农业银行安平支行" in bank
    assert "群机器人（bank_robot）" in bank and "内部群（企业微信）" in bank and "从未" in bank
    binhe = row_of(page, "data-group", "binhe_residents")
    assert " 社区 " in binhe and "河口镇滨河社区" in binhe and "外部群（微信居民）" in binhe
    assert "客户群群发（需李网格员确认）" in binhe and "在手机上确认后才发到群里" in binhe
    assert "不能在群里提问" in binhe
    assert " 学校 " in row_of(page, "data-group", "school_parents")
    assert " 预警联动 " in row_of(page, "data-group", "linkage")
    assert "公众号" in page and "48 小时" in page


def test_every_way_of_reaching_a_group_is_named(db_url):
    config = console_config(db_url)
    extra = [config.groups[0].model_copy(update={"id": "appchat_g", "name": "应用群", "send": config.groups[0].send.model_copy(
                 update={"via": "appchat", "robot": None, "chatid": "wrAppChat01"})}),
             config.groups[0].model_copy(update={"id": "aibot_g", "name": "只答问群", "send": config.groups[0].send.model_copy(
                 update={"via": "aibot", "robot": None})}),
             config.groups[0].model_copy(update={"id": "none_g", "name": "不推送群", "send": config.groups[0].send.model_copy(
                 update={"via": "none", "robot": None})})]
    console = Console(config.model_copy(update={"groups": list(config.groups) + extra}))
    page = console.as_("leader_zheng").get("/console/directory").data.decode()
    assert "应用群聊" in row_of(page, "data-group", "appchat_g") and "不能@" in row_of(page, "data-group", "appchat_g")
    assert "智能机器人" in row_of(page, "data-group", "aibot_g") and "不能主动推送" in row_of(page, "data-group", "aibot_g")
    assert "不推送" in row_of(page, "data-group", "none_g")


def test_the_last_push_is_the_last_row_sent_to_the_group_in_local_time(console):
    svc = console.service
    c = console.as_("leader_zheng")
    svc.outbox.to_group("bank_staff", "第一条：公检法没有安全账户", dedupe_key="t:1", source="campaign:银行网点提醒")
    assert "从未" in row_of(c.get("/console/directory").data.decode(), "data-group", "bank_staff")   # queued only
    sent(console, "bank_staff", dt.datetime(2026, 3, 2, 1, 5, tzinfo=UTC))
    svc.outbox.to_group("bank_staff", "**第二条**：屏幕共享就是把卡交给骗子", rich=True, dedupe_key="t:2",
                        source="campaign:银行网点提醒")
    sent(console, "bank_staff", dt.datetime(2026, 3, 3, 11, 30, tzinfo=UTC))
    svc.outbox.to_group("bank_staff", "第三条没发出去", dedupe_key="t:3")
    sent(console, "bank_staff", None, state="dead")
    row = row_of(c.get("/console/directory").data.decode(), "data-group", "bank_staff")
    assert "2026-03-03 19:30" in row and "定时推送「银行网点提醒」" in row        # Asia/Shanghai
    assert "第二条：屏幕共享就是把卡交给骗子" in row and "**" not in row
    assert "第一条" not in row and "第三条" not in row and "从未" not in row
    assert "从未" in row_of(c.get("/console/directory").data.decode(), "data-group", "textile_finance")


def test_a_customer_group_counts_a_push_only_when_its_owner_really_sent_it(console):
    svc = console.service
    c = console.as_("leader_zheng")
    svc.outbox.to_group("binhe_residents", "【防骗提醒】刷单就是诈骗", dedupe_key="cg:1", source="campaign:社区每日提醒")
    row = row_of(c.get("/console/directory").data.decode(), "data-group", "binhe_residents")
    assert "从未" in row and "1 条等待群主在手机上确认" in row
    # WeCom created the task (the outbox row is sent): still nothing reached the group
    with svc.sessions() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key == "cg:1")
                  .values(state="sent", sent_at=dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))
        s.commit()
    assert "从未" in row_of(c.get("/console/directory").data.decode(), "data-group", "binhe_residents")
    with svc.sessions() as s:
        assert s.scalar(select(MassSendGroup.status).where(MassSendGroup.group_id == "binhe_residents")) == "pending"
        s.execute(update(MassSendGroup).where(MassSendGroup.group_id == "binhe_residents")
                  .values(status="sent", sent_at=dt.datetime(2026, 3, 2, 4, 20, tzinfo=UTC)))
        s.commit()
    row = row_of(c.get("/console/directory").data.decode(), "data-group", "binhe_residents")
    assert "2026-03-02 12:20" in row and "刷单就是诈骗" in row and "定时推送「社区每日提醒」" in row
    assert "从未" not in row and "等待群主" not in row
    assert "从未" in row_of(c.get("/console/directory").data.decode(), "data-group", "shiqiao_villagers")


def test_the_linkage_groups_posts_are_not_shown_to_staff_without_full_access(console):
    svc = console.service
    svc.outbox.to_group("linkage", "【红色预警】张三 13812345678 东关村", dedupe_key="wn:x", source="YJ-20260302-001")
    sent(console, "linkage", dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    full = row_of(console.as_("admin_gao").get("/console/directory").data.decode(), "data-group", "linkage")
    assert "张三 13812345678" in full and "预警 YJ-20260302-001" in full
    masked = row_of(console.as_("propaganda_yang").get("/console/directory").data.decode(), "data-group", "linkage")
    assert "2026-03-02 10:00" in masked and "预警 YJ-20260302-001" in masked
    assert "张三" not in masked and "13812345678" not in masked and "138****5678" not in masked


def test_people_with_roles_in_chinese_and_mobiles_masked_unless_full_access(db_url):
    config = console_config(db_url)
    people = [p.model_copy(update={"mobile": "13812345678"}) if p.userid == "liaison_chen" else p for p in config.people]
    console = Console(config.model_copy(update={"people": people}))
    page = console.as_("propaganda_yang").get("/console/directory").data.decode()
    row = row_of(page, "data-userid", "liaison_chen")
    assert "陈警官 liaison_chen 民警、派出所联络员 城关派出所 138****5678" in row
    assert "13812345678" not in page and "手机号已遮蔽" in page
    assert "宣传干事、问答审核员" in row_of(page, "data-userid", "propaganda_yang")
    assert "局领导" in row_of(page, "data-userid", "leader_zheng")
    for viewer in ("leader_zheng", "admin_gao", "liaison_chen"):
        page = console.as_(viewer).get("/console/directory").data.decode()
        assert "13812345678" in row_of(page, "data-userid", "liaison_chen") and "手机号已遮蔽" not in page


def test_stations_units_and_that_the_page_only_reads_the_config(console):
    page = console.as_("leader_zheng").get("/console/directory").data.decode()
    st = row_of(page, "data-station", "hekou")
    assert "河口派出所" in st and "林警官" in st and "河口所长" in st and "滨河" in st
    unit = row_of(page, "data-unit", "bank_ny")
    assert "农业银行安平支行" in unit and "农行安平支行员工群" in unit
    assert "城关派出所" in row_of(page, "data-unit", "chengguan_ps")
    note = re.sub(r"<[^>]+>", "", re.search(r'id="read-only">(.*?)</p>', page, re.S).group(1))
    assert "只读" in note and "config.yaml" in note and "python -m bot check-config" in note and "重启" in note
    assert "<form" not in page.split("</header>", 1)[1]      # nothing to change here
