"""Charts and workbooks: the files open and hold what they claim; Chinese renders in a CJK font."""
import io
import warnings

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot import reports
from bot.cli import main
from tests.stats.conftest import NOW


@pytest.mark.slow
def test_charts_are_pngs_drawn_with_a_cjk_font(small):
    path, family = reports.cjk_font()
    assert family and path
    rep = reports.Report(small.sessions, small.config, "weekly", NOW, complete=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts = rep.charts()
    # matplotlib warns "Glyph … missing from font(s)" for every character it cannot draw
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert set(charts) == {"cases.png", "trend.png", "assessment.png"}
    for data in charts.values():
        img = Image.open(io.BytesIO(data))
        assert img.format == "PNG" and img.size[0] >= 800 and img.size[1] >= 300
        assert len(data) < 2 * 1024 * 1024          # a group robot takes images up to 2 MB


def test_a_font_that_is_not_there_fails_with_a_clear_message(tmp_path):
    with pytest.raises(reports.FontMissing, match="fonts-wqy-microhei"):
        reports.find_font_file(str(tmp_path / "nope.ttf"))
    latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    import os
    if os.path.exists(latin):
        with pytest.raises(reports.FontMissing, match="no Chinese characters"):
            reports.find_font_file(latin)


def test_the_workbook_has_a_sheet_per_table_with_chinese_headers(small):
    rep = reports.Report(small.sessions, small.config, "weekly", NOW, complete=False)
    wb = load_workbook(io.BytesIO(rep.workbook()))
    assert wb.sheetnames == ["概览", "诈骗类型", "乡镇街道", "年龄段", "职业", "联系渠道", "月度趋势", "预警统计",
                             "宣传覆盖", "考核得分", "扣分明细"]
    types = list(wb["诈骗类型"].iter_rows(values_only=True))
    assert types[0][:4] == ("诈骗类型", "案件数（起）", "占比（%）", "损失金额（元）")
    assert types[1][:4] == ("刷单返利", 3, 60.0, 17800.5)
    overview = dict(wb["概览"].iter_rows(min_row=2, values_only=True))
    assert overview["发案数（起）"] == 5 and overview["高发类型前三"] == "刷单返利、虚假投资理财、冒充公检法"
    scores = list(wb["考核得分"].iter_rows(values_only=True))
    assert scores[0][:2] == ("责任单位", "得分") and len(scores) == 1 + len(small.config.units)
    assert list(wb["月度趋势"].iter_rows(values_only=True))[-1] == ("2026-11", 8, 127800.5 + 21000 + 300)


@pytest.mark.slow
def test_report_command_writes_the_workbook_and_the_charts(small, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", small.config.database.url)
    assert main(["report", "weekly", "--date", "2026-11-18", "--xlsx", str(tmp_path / "w.xlsx"),
                 "--png", str(tmp_path / "png")]) == 0
    out = capsys.readouterr().out
    assert "反诈周报 11月16日—11月22日" in out and "发案 **3** 起" in out
    overview = dict(load_workbook(tmp_path / "w.xlsx")["概览"].iter_rows(min_row=2, values_only=True))
    assert overview["发案数（起）"] == 3 and overview["起（含）"] == "2026-11-16 00:00"
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["assessment.png", "cases.png", "trend.png"]
    assert main(["report", "monthly", "--date", "2026-10-10", "--xlsx", str(tmp_path / "m.xlsx")]) == 0
    assert "反诈月报 2026年10月" in capsys.readouterr().out


def test_the_shipped_font_is_used_when_the_machine_has_no_chinese_font(monkeypatch):
    monkeypatch.setattr(reports, "FONT_PATHS", ())
    monkeypatch.setattr(reports, "_fontconfig", lambda: None)
    monkeypatch.delenv("FANZHA_FONT", raising=False)
    assert reports.find_font_file() == str(reports.SHIPPED_FONT)
