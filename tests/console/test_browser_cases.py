"""In a real browser: the duty officer imports a small case file with one bad row, sees the row's errors
and that nothing was written, imports the good rows, finds them in the analysis and the list, records a
follow-up; the assessment page shows the units' scores."""
from __future__ import annotations

import csv
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.case_models import CaseFollowUp, FraudCase
from tests.console.browser import chromium, console_stack, desk  # noqa: F401 (fixtures)
from tests.stats.conftest import HEADER

pytestmark = pytest.mark.slow


def case_file(path, tz: str):
    """Four cases of the last days (the service runs on the real clock); the third row names a township
    the county does not have."""
    today = dt.datetime.now(ZoneInfo(tz)).date()
    day = [f"{today - dt.timedelta(days=n):%Y-%m-%d} 10:00" for n in range(4)]
    rows = [["WB001", day[1], "城关镇", "刷单返利", "点赞返佣后要求垫付", "24", "学生", "女", "3200", "QQ"],
            ["WB002", day[2], "月亮镇", "虚假投资理财", "荐股群", "51", "个体经营者", "男", "4.5万", "微信"],
            ["WB003", day[2], "河口镇", "冒充客服退款", "快递理赔，屏幕共享", "36", "企业职员", "女", "8600", "电话"],
            ["WB004", day[3], "石桥乡", "刷单", "兼职群派单", "29", "自由职业", "男", "1,500", "QQ"]]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def test_duty_officer_imports_a_file_with_a_bad_row_sees_the_errors_then_the_cases(console_stack, desk, tmp_path):
    stack = console_stack
    path = case_file(tmp_path / "本周案件.csv", stack.config.timezone)
    officer = desk("police_duty")
    page = officer.go("/console/cases")
    page.click("text=导入案件")
    page.wait_for_url("**/console/cases/import")
    page.set_input_files("#file", str(path))
    page.click("#import")
    page.wait_for_selector("#errors")
    assert page.locator("#errors tbody tr").count() == 1
    assert page.locator("#errors tbody tr").first.inner_text().split("\t")[:2] == ["第3行", "乡镇/街道"]
    assert "月亮镇" in page.locator("#errors").inner_text()
    assert "未写入任何数据" in page.locator("#outcome").inner_text()
    assert page.locator("#refused-rows").inner_text() == "1 行"
    with stack.service.sessions() as s:
        assert s.scalar(select(func.count()).select_from(FraudCase)) == 0
    officer.shot("cases-import-errors")

    # the same file, skipping the bad row
    page.set_input_files("#file", str(path))
    page.check("#skip-bad")
    page.click("#import")
    page.wait_for_selector("#outcome.warn")
    assert page.locator("#inserted").inner_text() == "3 件" and "已跳过 1 个错误行" in page.locator("#outcome").inner_text()
    assert page.locator("#recent tbody tr").count() == 2

    page = officer.go("/console/cases")
    assert page.locator("#total").inner_text() == "3 起"
    assert "刷单返利" in page.locator("#top").inner_text()
    page.wait_for_function("() => { const i = document.getElementById('chart-stats');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=20_000)
    officer.shot("cases")

    # the list, a search, a case and a follow-up
    page.click("text=案件列表")
    page.fill("input[name=text]", "屏幕共享")
    page.click("#search button[type=submit]")
    assert page.locator("#cases tbody tr[data-case]").count() == 1
    page.click("text=WB003")
    page.select_option("#method", "走访")
    page.fill("#note", "已上门回访，受害人已报案并冻结部分资金")
    page.click("#followup")
    page.wait_for_selector("#said")
    assert "走访" in page.locator("#followups tbody tr").first.inner_text()
    with stack.service.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseFollowUp)) == 1

    page = officer.go("/console/assessment")
    assert page.locator("#scores tbody tr").count() == len(stack.config.units)
    assert page.locator("#deduction-list tbody tr.deduction").count() > 0
    page.fill("#pledge-households-input", "30")
    page.select_option("#pledge-unit", "dongguan_vc")
    page.click("#pledge")
    page.wait_for_selector("#said")
    assert "城关镇东关村委会 家庭防骗承诺书 30 户" in page.locator("#said").inner_text()
    assert "控制台" in page.locator("#pledge-list tbody tr").first.inner_text()
    page = officer.go("/console/assessment")
    page.wait_for_function("() => { const i = document.getElementById('chart-assessment');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=20_000)
    officer.shot("assessment")
