"""案件研判 in the console: the period figures (the same as #统计 / #研判), the case list with search and pages,
the import of a case file with its row errors, follow-ups (回访), roles and masking."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select, update

from bot import cases, stats
from bot.case_models import CaseFollowUp, FraudCase
from bot.console import cases as console_cases
from bot.console_models import ConsoleAction
from bot.db import session_scope
from tests.console.html import rows_by, table, text_of
from tests.stats.conftest import HEADER, NOW, SMALL, write_csv


@pytest.fixture
def desk(console, tmp_path):
    """The console on a fixed clock (Friday 27 Nov 2026, 16:00 local) with the hand-checked cases of
    tests/stats (this week 5 cases, the week before 3, one in October)."""
    console.service.clock = lambda: NOW
    res = cases.import_file(console.service.sessions, console.config, write_csv(tmp_path / "small.csv", SMALL), now=NOW)
    assert res.inserted == 9
    return console


def page(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, r.data.decode()[:500]
    return r.data.decode()


def count(console, model=FraudCase) -> int:
    with console.service.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def actions(console) -> list[tuple]:
    with console.service.sessions() as s:
        return [(a.userid, a.action, a.target, a.detail) for a in s.scalars(select(ConsoleAction).order_by(ConsoleAction.id))
                if a.action != "login"]


def csv_bytes(rows, header=HEADER) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def upload(console, client, data: bytes, name: str = "cases.csv", **form):
    return console.post(client, "/console/cases/import", {"file": (io.BytesIO(data), name), **form},
                        content_type="multipart/form-data")


# --- the figures of a period -------------------------------------------------------------------------

def test_this_weeks_figures_are_those_of_the_chat_command(desk):
    html = page(desk.as_("police_duty"), "/console/cases?range=week")
    a = stats.analyse(desk.service.sessions, desk.config, stats.week_period(desk.config, NOW))
    assert (a.total, a.prev_total) == (5, 2)                       # tests/stats/test_aggregates.py, by hand
    assert text_of(html, "total") == "5 起" and "上期 2 起，+150%" in html
    assert text_of(html, "loss") == "12.8万元"
    types = rows_by(html, "table-fraud_type", "data-key")
    # type, count, share, loss, previous count, previous loss, change, change %
    assert types["shuadan"][:8] == ["刷单返利", "3", "60.0%", "17,800.50", "1", "1,000.00", "+2", "+200%"]
    assert types["gongjianfa"][1] == "1" and types["gongjianfa"][7] == "—"     # nothing the week before
    towns = rows_by(html, "table-township", "data-key")
    assert towns["河口镇"][1:4] == ["2", "40.0%", "80,800.00"] and towns["高庄镇"][1] == "0"
    ages = rows_by(html, "table-age_group", "data-key")
    assert [k for k in ages] == ["<18", "18-40", "41-65", ">65", "未知"] and ages["未知"][1] == "1"
    months = rows_by(html, "table-months", "data-key")
    assert len(months) == 12 and months["2026-11"][1] == "8" and months["2026-10"][1] == "1"
    assert "本周" in text_of(html, "period")
    # a type's and a township's name lead to their cases of the period
    assert 'href="/console/cases/list?type=shuadan&amp;from=2026-11-23&amp;to=2026-11-27"' in html


def test_the_default_is_the_last_seven_days_against_the_seven_before_with_what_rises(desk):
    html = page(desk.as_("police_duty"), "/console/cases")
    a = stats.analyse(desk.service.sessions, desk.config, stats.days_period(NOW, 7, "近7天"))
    # 20 Nov 16:00 – 27 Nov 16:00: A1–A5 and B3; the 7 days before: B1, B2
    assert (a.total, a.prev_total) == (6, 2)
    assert text_of(html, "total") == "6 起" and "近7天" in text_of(html, "period")
    assert re.search(r'class="on" data-range="7d"', html)
    # the rule of #研判 (3 more and +20 %): 河口镇 0 → 3; no type rose by 3
    assert text_of(html, "rising-township") == "河口镇 0→3" and text_of(html, "rising-fraud_type") == "无明显上升"
    rises = {r.dimension: [x.key for x in r.rows] for r in stats.rising_in(a)}
    assert rises == {"fraud_type": [], "township": ["河口镇"]}


def test_two_dates_are_compared_with_as_many_days_before(desk):
    html = page(desk.as_("leader_zheng"), "/console/cases?from=2026-11-16&to=2026-11-22")
    assert text_of(html, "total") == "3 起" and "上期 0 起" in html        # B1, B2, B3; nothing 9–15 Nov
    assert "11月16日—11月22日" in text_of(html, "period")
    assert "2026-11-09 00:00 至 2026-11-16 00:00" in text_of(html, "period")
    html = page(desk.as_("leader_zheng"), "/console/cases?from=2026-10-01&to=2026-10-31")
    assert text_of(html, "total") == "1 起" and rows_by(html, "table-township", "data-key")["柳湾乡"][1] == "1"


def test_a_bad_period_says_why_and_shows_the_default(desk):
    c = desk.as_("police_duty")
    html = page(c, "/console/cases?from=2026-11-30&to=2026-11-01")
    assert "开始日期 2026-11-30 晚于结束日期 2026-11-01" in text_of(html, "period-problem")
    assert "近7天" in text_of(html, "period-problem") and text_of(html, "total") == "6 起"
    assert "日期格式不对" in page(c, "/console/cases?from=11/16")
    assert "一次最多查看 366 天" in page(c, "/console/cases?from=2024-01-01&to=2026-01-01")
    assert "不认识的时间范围" in page(c, "/console/cases?range=forever")


def test_the_warnings_by_station_are_on_the_page(desk):
    html = page(desk.as_("police_duty"), "/console/cases?range=week")
    stations = rows_by(html, "table-stations", "data-station")
    assert [r[0] for r in stations.values()][:3] == ["城关派出所", "河口派出所", "石桥派出所"]
    assert text_of(html, "warnings-total") == "0 条"


def test_the_page_shows_the_charts_of_its_period(desk):
    html = page(desk.as_("police_duty"), "/console/cases?from=2026-11-16&to=2026-11-22")
    assert 'src="/console/cases/chart/stats.png?from=2026-11-16&amp;to=2026-11-22"' in html
    assert 'src="/console/cases/chart/rising.png?from=2026-11-16&amp;to=2026-11-22"' in html
    assert desk.as_("police_duty").get("/console/cases/chart/pie.png").status_code == 404


@pytest.mark.slow
def test_the_charts_are_the_bots_pngs(desk):
    c = desk.as_("leader_zheng")
    for kind in ("stats", "rising"):
        r = c.get(f"/console/cases/chart/{kind}.png?range=week")
        assert r.status_code == 200 and r.mimetype == "image/png" and r.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(r.data) > 20_000


def test_without_a_chinese_font_the_page_says_so_and_the_chart_answers_503(desk, monkeypatch):
    from bot import reports

    def missing(_configured=None):
        raise reports.FontMissing("no CJK font found")
    monkeypatch.setattr(reports, "cjk_font", missing)
    c = desk.as_("police_duty")
    html = page(c, "/console/cases")
    assert "缺少中文字体" in html and "chart/stats.png" not in html
    r = c.get("/console/cases/chart/stats.png")
    assert r.status_code == 503 and "缺少中文字体" in r.data.decode()


# --- the case list ---------------------------------------------------------------------------------------

def listed(html: str) -> list[str]:
    return list(rows_by(html, "cases", "data-case"))


def test_the_list_searches_by_number_township_type_text_and_date(desk):
    c = desk.as_("police_duty")
    assert listed(page(c, "/console/cases/list")) == ["A5", "A4", "A3", "A2", "A1", "B3", "B2", "B1", "C1"]
    assert text_of(page(c, "/console/cases/list"), "case-count") == "9"
    assert listed(page(c, "/console/cases/list?no=A3")) == ["A3"]
    assert listed(page(c, "/console/cases/list?no=b")) == ["B3", "B2", "B1"]        # the start, in any case
    assert listed(page(c, "/console/cases/list?township=城关镇")) == ["A2", "A1", "B2", "B1"]
    assert listed(page(c, "/console/cases/list?type=shuadan")) == ["A5", "A2", "A1", "B2"]
    assert listed(page(c, "/console/cases/list?text=垫付")) == ["A2"]
    assert listed(page(c, "/console/cases/list?type=touzi&township=城关镇")) == ["B1"]
    assert listed(page(c, "/console/cases/list?from=2026-11-22&to=2026-11-23")) == ["A1", "B3"]
    html = page(c, "/console/cases/list?text=100%25")                                # % is a character, not a wildcard
    assert listed(html) == [] and "没有符合条件的案件" in html and text_of(html, "case-count") == "0"
    html = page(c, "/console/cases/list?from=yesterday")
    assert "日期格式不对（yesterday）" in text_of(html, "problems") and len(listed(html)) == 9
    row = rows_by(page(c, "/console/cases/list?no=A2"), "cases", "data-case")["A2"]
    assert row[:9] == ["A2", "2026-11-24 10:30", "城关镇", "刷单返利", "垫付任务", "33", "企业职员", "微信", "12,000.50"]


def test_the_list_goes_page_by_page_newest_first_and_no_case_twice(console):
    console.service.clock = lambda: NOW
    cases.load_demo(console.service.sessions, console.config, count=120, end=NOW.date())
    c = console.as_("police_duty")
    seen = []
    for n in (1, 2, 3):
        html = page(c, f"/console/cases/list?page={n}")
        assert f"第 {n}/3 页" in html
        seen += listed(html)
    assert len(seen) == 120 and len(set(seen)) == 120
    with console.service.sessions() as s:
        newest_first = list(s.scalars(select(FraudCase.case_no).order_by(FraudCase.occurred_at.desc(), FraudCase.id.desc())))
    assert seen == newest_first
    # pages in the older half are read from the other end: every page size gives the same order
    with console.service.sessions() as s:
        for size in (7, 13, 119):
            got = []
            for n in range(1, 200 // size + 2):
                rows, _total, at, _pages = console_cases.list_cases(s, [], n, per_page=size)
                got += [c.case_no for c, _n in rows] if at == n else []
            assert got == newest_first, size
    html = page(c, "/console/cases/list?page=2")
    assert 'href="/console/cases/list?page=1"' in html and 'href="/console/cases/list?page=3"' in html
    assert listed(page(c, "/console/cases/list?page=99")) == seen[100:]            # past the end: the last page
    assert listed(page(c, "/console/cases/list?page=x")) == seen[:50]
    # the search is kept from page to page
    html = page(c, "/console/cases/list?township=城关镇&page=2")
    assert "township=%E5%9F%8E%E5%85%B3%E9%95%87" in html and all(
        r[2] == "城关镇" for r in table(html, "cases"))


def test_the_pager_shows_the_ends_and_the_pages_around_this_one():
    assert console_cases.page_links(1, 1) == [1]
    assert console_cases.page_links(1, 10) == [1, 2, 3, None, 10]
    assert console_cases.page_links(6, 2000) == [1, None, 4, 5, 6, 7, 8, None, 2000]


# --- import ------------------------------------------------------------------------------------------------

BAD_ROW = ["X2", "2026-11-20", "火星镇", "刷单返利", "", "30", "", "", "abc", ""]
NEW_ROWS = [["N1", "2026-11-26 10:00", "高庄镇", "虚假购物服务", "", "30", "", "", "100", "微信"],
            ["N2", "2026-11-26 11:00", "高庄镇", "刷单返利", "", "41", "", "", "2000", "QQ"]]


def test_a_file_with_a_bad_row_shows_every_error_and_writes_nothing(desk):
    c = desk.as_("police_duty")
    r = upload(desk, c, csv_bytes([NEW_ROWS[0], BAD_ROW, NEW_ROWS[1]]), "十一月案件.csv")
    assert r.status_code == 302 and "/console/cases/import/" in r.headers["Location"]
    html = page(c, r.headers["Location"])
    assert table(html, "errors") == [["第3行", "乡镇/街道", "未知乡镇“火星镇”（配置中的乡镇：城关镇、河口镇、石桥乡、柳湾乡、高庄镇）"],
                                     ["第3行", "损失金额", "无法识别的金额“abc”"]]
    assert text_of(html, "rows") == "3 行" and text_of(html, "inserted") == "0 件"
    assert text_of(html, "refused-rows") == "1 行"
    assert "未写入任何数据" in text_of(html, "outcome") and "十一月案件.csv" in html
    assert count(desk) == 9                                        # nothing written, not even the good rows
    (who, action, target, detail), = actions(desk)
    assert (who, action, target, detail["written"], detail["error_count"]) == (
        "police_duty", "cases.import", "十一月案件.csv", False, 2)


def test_skipping_bad_rows_writes_the_good_ones_and_a_second_import_updates(desk):
    c = desk.as_("police_duty")
    r = upload(desk, c, csv_bytes([NEW_ROWS[0], BAD_ROW, NEW_ROWS[1], SMALL[0]]), skip_bad="1")
    html = page(c, r.headers["Location"])
    assert (text_of(html, "inserted"), text_of(html, "updated"), text_of(html, "refused-rows")) == ("2 件", "1 件", "1 行")
    assert "已跳过 1 个错误行" in text_of(html, "outcome") and len(table(html, "errors")) == 2
    assert count(desk) == 11
    with desk.service.sessions() as s:
        n1 = s.scalar(select(FraudCase).where(FraudCase.case_no == "N1"))
        assert (n1.township, n1.fraud_type, n1.loss_fen, n1.source) == ("高庄镇", "gouwu", 10000, "cases.csv")
    changed = [NEW_ROWS[0][:8] + ["150", "微信"]]
    html = page(c, upload(desk, c, csv_bytes(changed)).headers["Location"])
    assert (text_of(html, "inserted"), text_of(html, "updated")) == ("0 件", "1 件") and "全部写入" in html
    assert count(desk) == 11
    recorded = [(a, d["inserted"], d["updated"], d["written"]) for _u, a, _t, d in actions(desk)]
    assert recorded == [("cases.import", 2, 1, True), ("cases.import", 0, 1, True)]
    # the recent imports are listed with their results
    recent = table(page(c, "/console/cases/import"), "recent")
    assert [r[5:] for r in recent] == [["1", "0", "已写入"], ["1", "1", "已写入"]]


def test_an_import_is_written_with_its_record_or_not_at_all(desk, monkeypatch):
    c = desk.as_("police_duty")
    real = console_cases._record_import

    def failing(s, name, res, skip_bad):
        if res.written:
            raise RuntimeError("the record cannot be written")
        return real(s, name, res, skip_bad)
    monkeypatch.setattr(console_cases, "_record_import", failing)
    assert upload(desk, c, csv_bytes(NEW_ROWS)).status_code == 500
    assert count(desk) == 9 and actions(desk) == []


def test_an_xlsx_file_and_a_file_larger_than_a_callback_are_imported(desk, tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in NEW_ROWS:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    c = desk.as_("police_duty")
    html = page(c, upload(desk, c, buf.getvalue(), "cases.xlsx").headers["Location"])
    assert text_of(html, "inserted") == "2 件"
    # 1,500 demo cases as `cases demo-data --csv` writes them: twice the limit of a WeCom callback's body
    cases.write_csv(cases.demo_cases(desk.config, count=1500, end=NOW.date()), tmp_path / "demo.csv", desk.config)
    data = (tmp_path / "demo.csv").read_bytes()
    assert len(data) > 2 * desk.config.wecom.max_body_bytes
    html = page(c, upload(desk, c, data, "demo.csv").headers["Location"])
    assert text_of(html, "inserted") == "1500 件" and count(desk) == 9 + 2 + 1500


def test_a_file_that_cannot_be_read_is_refused_whole_and_says_why(desk, monkeypatch):
    c = desk.as_("police_duty")
    r = upload(desk, c, b"hello", "cases.txt")
    html = page(c, r.headers["Location"])
    refused = text_of(html, "refused")
    assert "不支持的文件类型“.txt”" in refused and "cases.txt" in refused and "/tmp" not in refused
    html = page(c, upload(desk, c, csv_bytes([["A1"]], header=["案件编号"])).headers["Location"])
    assert "缺少必需的列：发案时间、乡镇/街道、诈骗类型、损失金额" in text_of(html, "refused")
    html = page(c, upload(desk, c, b"", "empty.csv").headers["Location"])
    assert "文件为空" in text_of(html, "refused")
    assert count(desk) == 9 and actions(desk) == []
    monkeypatch.setattr(console_cases, "IMPORT_MAX_BYTES", 1000)
    r = upload(desk, c, csv_bytes([NEW_ROWS[0]] * 40))
    assert r.status_code == 413 and "文件太大" in r.data.decode()


# --- follow-ups --------------------------------------------------------------------------------------------

def test_a_follow_up_is_recorded_once_with_its_record_and_listed_as_hui_fang_lists_it(desk):
    c = desk.as_("police_duty")
    html = page(c, "/console/cases/case/A4")
    assert "还没有回访记录" in html and 'id="followup-form"' in html
    form_id = re.search(r'name="form_id" value="([^"]+)"', html).group(1)
    data = {"case_no": "A4", "method": "走访", "note": "受害人王秀英情绪稳定，电话13812345678", "form_id": form_id}
    r = desk.post(c, "/console/cases/followup", data)
    assert r.status_code == 302
    html = page(c, r.headers["Location"])
    assert "已记录走访回访" in text_of(html, "said")
    assert table(html, "followups") == [["2026-11-27 16:00", "走访", "反诈中心值班员", "受害人王秀英情绪稳定，电话13812345678"]]
    # the same form sent twice (a double click) records it once
    html = page(c, desk.post(c, "/console/cases/followup", data).headers["Location"])
    assert "重复提交" in text_of(html, "said")
    case, items = cases.follow_ups(desk.service.sessions, "A4")          # what #回访 and `cases followup` list
    assert [(f.by, f.method, f.at) for f in items] == [("police_duty", "走访", NOW)]
    assert items[0].source_ref == f"console:{form_id}"
    assert [(u, a, t, d["method"]) for u, a, t, d in actions(desk)] == [("police_duty", "cases.followup", "A4", "走访")]


def test_a_follow_up_on_an_earlier_day_and_the_ones_refused(desk):
    c = desk.as_("admin_gao")
    r = desk.post(c, "/console/cases/followup", {"case_no": "A1", "method": "电话", "note": "已回访", "date": "2026-11-25"})
    assert "已记录" in page(c, r.headers["Location"])
    _case, items = cases.follow_ups(desk.service.sessions, "A1")
    assert items[0].at == dt.datetime(2026, 11, 25, 4, 0, tzinfo=dt.timezone.utc)          # noon local, as the CLI
    for data, why in (({"method": "电话", "note": ""}, "请填写回访情况"),
                      ({"method": "飞鸽", "note": "x"}, "请选择回访方式"),
                      ({"method": "电话", "note": "长" * 1001}, "说明太长（1001字，最多1000字）"),
                      ({"method": "电话", "note": "x", "date": "2026-11-28"}, "还没到"),
                      ({"method": "电话", "note": "x", "date": "28/11"}, "格式不对")):
        html = page(c, desk.post(c, "/console/cases/followup", {"case_no": "A1", **data}).headers["Location"])
        assert why in text_of(html, "refused"), data
    assert count(desk, CaseFollowUp) == 1
    r = desk.post(c, "/console/cases/followup", {"case_no": "NOPE", "method": "电话", "note": "x"})
    assert r.status_code == 404 and "没有案件编号为“NOPE”的案件" in r.data.decode()
    assert c.get("/console/cases/case/NOPE").status_code == 404


def test_without_full_view_the_notes_are_hidden_and_phone_numbers_masked(desk):
    with session_scope(desk.service.sessions) as s:
        s.execute(update(FraudCase).where(FraudCase.case_no == "A2").values(method="对方用13912345678联系，要求垫付"))
    cases.add_follow_up(desk.service.sessions, "A2", by="police_duty", note="受害人李春花，电话13812345678，已劝返")
    for who, full in (("propaganda_yang", False), ("leader_zheng", True), ("liaison_chen", True)):
        c = desk.as_(who)
        detail = page(c, "/console/cases/case/A2")
        listing = page(c, "/console/cases/list?no=A2")
        if full:
            assert "李春花" in detail and "13812345678" in detail and "13912345678" in detail
            assert "13912345678" in listing
        else:
            assert "李春花" not in detail and "13812345678" not in detail and "（已隐藏）" in detail
            assert "139****5678" in detail and "13912345678" not in detail
            assert "139****5678" in listing and "13912345678" not in listing
            assert table(detail, "followups")[0][1:3] == ["电话", "反诈中心值班员"]     # when and how are shown


# --- roles -------------------------------------------------------------------------------------------------

def test_a_leader_reads_everything_and_can_neither_import_nor_record(desk):
    c = desk.as_("leader_zheng")
    for path in ("/console/cases", "/console/cases/list", "/console/cases/case/A1", "/console/assessment"):
        html = page(c, path)
        assert "导入案件" not in html and 'id="followup-form"' not in html
    assert '案件研判' in page(c, "/console/cases")                      # in the navigation
    r = c.get("/console/cases/import")
    assert r.status_code == 403 and "局领导" in r.data.decode()
    assert upload(desk, c, csv_bytes(NEW_ROWS)).status_code == 403
    r = desk.post(c, "/console/cases/followup", {"case_no": "A1", "method": "电话", "note": "x"})
    assert r.status_code == 403
    assert count(desk) == 9 and count(desk, CaseFollowUp) == 0 and actions(desk) == []


def test_propaganda_reads_the_cases_and_can_neither_record_a_follow_up_nor_import(desk):
    # "cases.followup" and "cases.import" are the police's and the admin's (liaison_chen is police too)
    c = desk.as_("propaganda_yang")
    assert desk.post(c, "/console/cases/followup", {"case_no": "A1", "method": "电话", "note": "x"}).status_code == 403
    assert 'id="followup-form"' not in page(c, "/console/cases/case/A1")
    assert c.get("/console/cases/import").status_code == 403
    c = desk.as_("liaison_chen")
    assert 'id="followup-form"' in page(c, "/console/cases/case/A1")


def test_pages_need_a_log_in(desk):
    c = desk.client()
    for path in ("/console/cases", "/console/cases/list", "/console/cases/chart/stats.png", "/console/cases/import"):
        r = c.get(path)
        assert r.status_code == 302 and "/console/login" in r.headers["Location"]
