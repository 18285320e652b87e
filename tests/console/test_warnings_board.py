"""The warnings board and a warning's page: filters, the next escalation step, masking, the actions with
the chat commands' rules, the new-warning form with #预警's checks, and the record of who did what."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from bot import warnings as wn
from bot.console_models import ConsoleAction
from bot.db import session_scope
from bot.models import OutboxMessage
from bot.warnings.models import Warning, WarningEvent


def make(console, text: str, *, minutes_ago: float = 0, actor: str = "police_duty") -> str:
    svc = console.service
    d = wn.parse_warning(text, svc.config, svc.matcher, svc.library)
    assert not d.problems, d.problems
    now = svc.clock() - dt.timedelta(minutes=minutes_ago)
    w, _ = wn.create_with_retry(svc.sessions, svc.ctx, d, actor=actor, channel="app", ref=f"t:{text}", now=now)
    return w.number


def plain(r) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.data.decode()))


def actions(console) -> list[tuple]:
    with console.service.sessions() as s:
        return [(a.userid, a.action, a.target) for a in s.scalars(select(ConsoleAction).order_by(ConsoleAction.id))]


def test_the_board_lists_open_warnings_oldest_first_with_the_next_step_and_filters(console):
    old = make(console, "电话:13812345678 地址:东关村1组 类型:刷单 级别:红", minutes_ago=7)
    new = make(console, "电话:13912345678 地址:河口镇2组 类型:刷单 级别:黄", minutes_ago=1)
    c = console.as_("police_duty")
    text = plain(c.get("/console/warnings"))
    assert text.index(old) < text.index(new) and "未办结 2 条" in text
    # red, 7 minutes old: reminded at 5, escalated at 15 → "7分59秒后升级"; yellow, 1 minute: reminder in 4
    assert re.search(rf"{old} .*? [78]分\d\d秒后升级", text) and re.search(rf"{new} .*? [34]分\d\d秒后催办", text)
    assert new not in plain(c.get("/console/warnings?level=红")) and old in plain(c.get("/console/warnings?level=红"))
    only_hekou = plain(c.get("/console/warnings/rows?station=hekou"))
    assert new in only_hekou and old not in only_hekou and "<html" not in only_hekou


def test_full_details_for_police_and_leaders_masked_for_everyone_else(console):
    number = make(console, "姓名:王小明 电话:13812345678 地址:东关村 说明:对象电话13812345678已关机")
    assert "13812345678" in plain(console.as_("police_duty").get(f"/console/warnings/{number}"))
    assert "王小明" in plain(console.as_("leader_zheng").get("/console/warnings"))
    for page in (f"/console/warnings/{number}", "/console/warnings"):
        text = plain(console.as_("propaganda_yang").get(page))
        assert "138****5678" in text and "13812345678" not in text and "王小明" not in text


def test_signing_and_reporting_write_the_same_events_and_posts_as_the_chat_commands(console):
    number = make(console, "电话:13812345678 地址:东关村 类型:刷单")
    c = console.as_("liaison_chen")                 # the chengguan station's liaison
    r = console.post(c, f"/console/warnings/{number}/sign")
    assert r.status_code == 302 and "said=" in r.headers["Location"]
    r = console.post(c, f"/console/warnings/{number}/report", {"result": "dissuaded", "note": "已劝阻"})
    with console.service.sessions() as s:
        w = s.scalar(select(Warning).where(Warning.number == number))
        assert (w.state, w.result) == ("closed", "dissuaded")
        events = [(e.kind, e.actor, e.channel) for e in s.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id))]
        posts = [o.payload for o in s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"wn:{number}:ev%:post")))]
    assert ("signed", "liaison_chen", "console") in events and ("reported", "liaison_chen", "console") in events
    assert len(posts) == 2
    assert actions(console)[-2:] == [("liaison_chen", "warning.sign", number), ("liaison_chen", "warning.report", number)]


def test_another_stations_liaison_is_refused_and_nothing_changes(console):
    number = make(console, "电话:13812345678 地址:东关村 类型:刷单")     # chengguan's
    c = console.as_("liaison_lin")                   # hekou's liaison
    assert 'id="sign"' not in c.get(f"/console/warnings/{number}").data.decode()
    r = console.post(c, f"/console/warnings/{number}/sign")        # sent anyway
    assert "refused=" in r.headers["Location"]
    assert "只有该所或反诈中心可以签收" in plain(c.get(r.headers["Location"]))
    with console.service.sessions() as s:
        assert s.scalar(select(Warning.state).where(Warning.number == number)) == "issued"
    assert ("liaison_lin", "warning.sign", number) not in actions(console)


def test_reassign_and_close_belong_to_the_centre(console):
    number = make(console, "电话:13812345678 地址:东关村 类型:刷单")
    liaison = console.as_("liaison_chen")
    assert 'id="close"' not in liaison.get(f"/console/warnings/{number}").data.decode()
    r = console.post(liaison, f"/console/warnings/{number}/close", {"note": "x"})
    assert "由反诈中心使用" in plain(liaison.get(r.headers["Location"]))
    assert console.post(console.as_("leader_zheng"), f"/console/warnings/{number}/close", {"note": "x"}).status_code == 403
    duty = console.as_("police_duty")
    r = console.post(duty, f"/console/warnings/{number}/reassign", {"station": "hekou"})
    assert "said=" in r.headers["Location"]
    r = console.post(duty, f"/console/warnings/{number}/close", {"note": "多次未接通，转线下核查"})
    with console.service.sessions() as s:
        w = s.scalar(select(Warning).where(Warning.number == number))
        assert (w.station_id, w.state) == ("hekou", "closed")
    page = plain(duty.get(f"/console/warnings/{number}"))
    assert "转派" in page and "办结" in page and 'id="sign"' not in duty.get(f"/console/warnings/{number}").data.decode()


def test_a_report_without_a_result_is_refused_with_a_word(console):
    number = make(console, "电话:13812345678 地址:东关村 类型:刷单")
    c = console.as_("police_duty")
    r = console.post(c, f"/console/warnings/{number}/report", {"result": "maybe"})
    assert "请选择反馈结果" in plain(c.get(r.headers["Location"]))


def test_the_new_warning_form_checks_like_the_chat_command_and_says_what_is_wrong(console):
    c = console.as_("police_duty")
    r = console.post(c, "/console/warnings/new", {"phone": "1381234567", "place": "东关村", "level": "紫"})
    text = plain(r)
    assert r.status_code == 200 and "预警没有下发" in text and "级别" in text and "电话" in text
    assert 'value="东关村"' in r.data.decode()                   # what was typed is kept
    with console.service.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Warning)) == 0


def test_a_new_warning_sent_twice_is_made_once(console):
    c = console.as_("police_duty")
    form = {"phone": "13812345678", "place": "东关村3组", "type": "刷单", "level": "红", "form_id": "f-1"}
    first = console.post(c, "/console/warnings/new", form)
    again = console.post(c, "/console/warnings/new", form)
    assert first.status_code == again.status_code == 302
    with console.service.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Warning)) == 1
        w = s.scalar(select(Warning))
        assert (w.source, w.created_by, w.level, w.station_id) == ("console", "police_duty", "红", "chengguan")
    assert [a for a in actions(console) if a[1] == "warning.create"] == [("police_duty", "warning.create", w.number)]
    assert "已下发" in plain(c.get(first.headers["Location"]))


def test_an_unknown_warning_is_a_clear_404(console):
    c = console.as_("police_duty")
    r = c.get("/console/warnings/YJ-20990101-001")
    assert r.status_code == 404 and "没有编号为 YJ-20990101-001 的预警" in plain(r)


def test_next_step_is_none_once_signed_and_reported_or_closed(console):
    svc = console.service
    number = make(console, "电话:13812345678 地址:东关村 类型:刷单 级别:橙")
    with session_scope(svc.sessions) as s:
        w = wn.find(s, number)
        now = svc.clock()
        step, due = wn.next_step(svc.config.warnings, w, now)
        assert step.kind == "remind" and 4.9 <= (due - now).total_seconds() / 60 <= 5
        wn.sign(s, svc.ctx, w, actor="police_duty", channel="app", ref="t", now=now)
        step, due = wn.next_step(svc.config.warnings, w, now)
        assert step.kind == "overdue" and round((due - w.dispatched_at).total_seconds() / 60) == 240
        wn.report(s, svc.ctx, w, actor="police_duty", result="dissuaded", note="", channel="app", ref="t", now=now)
        assert wn.next_step(svc.config.warnings, w, now) is None
