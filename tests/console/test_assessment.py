"""单位考核 in the console: the units' scores with every deduction (the same as #考核), the pledges
(承诺书) listed and recorded, roles."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from bot import cases, stats
from bot.case_models import HouseholdPledge
from bot.console_models import ConsoleAction
from tests.console.html import rows_by, rows_with, table, text_of
from tests.stats.conftest import NOW
from tests.stats.test_assessment import seed


@pytest.fixture
def desk(console):
    """The console on a fixed clock with the warnings, pushes, questions and the pledge of
    tests/stats/test_assessment.py (their scores are checked there by hand)."""
    console.service.clock = lambda: NOW
    seed(console.service)
    return console


def page(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.data.decode()[:500]
    return r.data.decode()


def pledges(console) -> list[tuple]:
    with console.service.sessions() as s:
        return [(p.unit, p.households, p.note, p.recorded_by, p.source_ref.split(":")[0])
                for p in s.scalars(select(HouseholdPledge).order_by(HouseholdPledge.id))]


def actions(console) -> list[tuple]:
    with console.service.sessions() as s:
        return [(a.userid, a.action, a.target, a.detail) for a in s.scalars(select(ConsoleAction).order_by(ConsoleAction.id))
                if a.action != "login"]


def form_id(html: str) -> str:
    return re.search(r'name="form_id" value="([^"]+)"', html).group(1)


def test_every_units_score_and_every_deduction_with_its_reason_as_kaohe(desk):
    html = page(desk.as_("leader_zheng"), "/console/assessment")
    scores = stats.assess(desk.service.sessions, desk.config, stats.week_period(desk.config, NOW), NOW)
    shown = rows_by(html, "scores", "data-unit")
    assert list(shown) == [u.unit for u in scores]                  # lowest score first, as #考核
    # unit, score, deducted, groups, pushes sent/scheduled, questions, pledges period/total, overdue warnings
    assert shown["dongguan_vc"] == ["城关镇东关村委会", "98", "2", "1", "2/3", "2", "35/35", "0"]
    assert shown["chengguan_ps"][1] == "94" and shown["chengguan_ps"][7] == "2"
    assert shown["hekou_sq"][1] == "88" and shown["fzzx"][1:3] == ["100", "0"]
    listed = rows_with(html, "deduction-list", "data-unit")
    for u in scores:
        mine = [r for unit, r in listed if unit == u.unit]
        if u.deductions:
            assert [(r[1], r[2]) for r in mine] == [(d.reason, f"-{d.points:g}") for d in u.deductions]
        else:
            assert [r[1:] for r in mine] == [["无扣分", "0"]]
    reasons = [r[1] for unit, r in listed if unit == "hekou_sq"]
    assert any("群主未确认发送" in r for r in reasons) and any("承诺书" in r for r in reasons)
    assert any("超时 2 条" in r for unit, r in ((u, r[1]) for u, r in listed) if unit == "chengguan_ps")
    assert "每次推送未送达扣 2 分" in text_of(html, "period")
    assert 'src="/console/assessment/chart.png?range=week"' in html


def test_the_pledges_of_the_period_are_listed_with_where_they_came_from(desk):
    html = page(desk.as_("police_duty"), "/console/assessment")
    assert table(html, "pledge-list") == [["2026-11-25 16:00", "城关镇东关村委会", "35", "三组", "王网格员", "群内 #承诺书"]]
    assert (text_of(html, "pledge-count"), text_of(html, "pledge-households")) == ("1", "35")
    html = page(desk.as_("police_duty"), "/console/assessment?range=lastweek")
    assert "11月16日—11月22日" in text_of(html, "period") and "本期没有登记承诺书" in html
    html = page(desk.as_("police_duty"), "/console/assessment?from=2026-11-25&to=2026-11-25")
    assert text_of(html, "pledge-households") == "35" and "11月25日" in text_of(html, "period")


def test_a_pledge_recorded_here_counts_at_once_and_is_recorded_once(desk):
    c = desk.as_("police_duty")
    html = page(c, "/console/assessment")
    assert rows_by(html, "scores", "data-unit")["hekou_sq"][1] == "88"
    fid = form_id(html)
    data = {"unit": "hekou_sq", "households": "40", "note": "滨河社区入户签订", "form_id": fid, "range": "week"}
    r = desk.post(c, "/console/assessment/pledge", data)
    assert r.status_code == 302 and "range=week" in r.headers["Location"]
    desk.service.clock = lambda: NOW + dt.timedelta(minutes=1)     # the period ends now: a moment later
    html = page(c, r.headers["Location"])
    assert text_of(html, "said") == "已登记：河口镇滨河社区 家庭防骗承诺书 40 户。"
    # the unit had no pledges in the week: that deduction (5 points) is gone
    assert rows_by(html, "scores", "data-unit")["hekou_sq"][1] == "93"
    assert not any("承诺书" in r[1] for unit, r in rows_with(html, "deduction-list", "data-unit") if unit == "hekou_sq")
    assert table(html, "pledge-list")[0] == ["2026-11-27 16:00", "河口镇滨河社区", "40", "滨河社区入户签订", "反诈中心值班员", "控制台"]
    # sent twice (a double click): once
    html = page(c, desk.post(c, "/console/assessment/pledge", data).headers["Location"])
    assert "重复提交" in text_of(html, "said")
    assert pledges(desk)[1:] == [("hekou_sq", 40, "滨河社区入户签订", "police_duty", "console")]
    assert actions(desk) == [("police_duty", "assessment.pledge", "hekou_sq",
                              {"households": 40, "note": "滨河社区入户签订"})]
    # the chat command's count for the week includes it
    later = NOW + dt.timedelta(minutes=1)
    scores = {u.unit: u for u in stats.assess(desk.service.sessions, desk.config, stats.week_period(desk.config, later),
                                              later)}
    assert scores["hekou_sq"].pledges == 40 and scores["hekou_sq"].score == 93


def test_a_pledge_that_is_not_right_is_refused_with_the_reason(desk):
    c = desk.as_("admin_gao")
    for data, why in (({"unit": "", "households": "5"}, "请选择责任单位"),
                      ({"unit": "mars", "households": "5"}, "请选择责任单位"),
                      ({"unit": "hekou_sq", "households": "0"}, "户数应为 1 到 99999 之间的整数（填的是“0”）"),
                      ({"unit": "hekou_sq", "households": "三十"}, "填的是“三十”"),
                      ({"unit": "hekou_sq", "households": "100000"}, "1 到 99999"),
                      ({"unit": "hekou_sq", "households": "5", "note": "长" * 1001}, "说明太长（1001字，最多1000字）")):
        r = desk.post(c, "/console/assessment/pledge", data)
        assert why in text_of(page(c, r.headers["Location"]), "refused"), data
    assert len(pledges(desk)) == 1 and actions(desk) == []


def test_a_leader_and_a_propaganda_officer_read_the_scores_and_record_nothing(desk):
    for who in ("leader_zheng", "propaganda_yang"):
        c = desk.as_(who)
        html = page(c, "/console/assessment")
        assert "单位考核" in html and 'id="pledge-form"' not in html and len(table(html, "scores")) == 10
        r = desk.post(c, "/console/assessment/pledge", {"unit": "hekou_sq", "households": "5", "form_id": "x"})
        assert r.status_code == 403
    assert len(pledges(desk)) == 1 and actions(desk) == []
    assert 'id="pledge-form"' in page(desk.as_("police_duty"), "/console/assessment")


def test_a_bad_period_says_why(desk):
    html = page(desk.as_("police_duty"), "/console/assessment?from=2026-11-27&to=2026-11-01")
    assert "晚于" in text_of(html, "period-problem") and "本周" in text_of(html, "period-problem")


@pytest.mark.slow
def test_the_score_chart_is_the_bots_png(desk):
    r = desk.as_("leader_zheng").get("/console/assessment/chart.png?range=lastweek")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data[:4] == b"\x89PNG"


def test_pledges_from_the_command_line_are_listed_as_such(desk):
    with desk.service.sessions() as s:
        assert s.scalar(select(func.sum(HouseholdPledge.households))) == 35
    cases.record_pledge(desk.service.sessions, unit="shiqiao_vc", households=12, note="", by="gridzhou",
                        at=NOW - dt.timedelta(hours=1))
    html = page(desk.as_("police_duty"), "/console/assessment")
    assert text_of(html, "pledge-households") == "47" and table(html, "pledge-list")[0][-1] == "命令行"
