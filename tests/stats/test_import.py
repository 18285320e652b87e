"""Case import: good, bad and repeated files, CSV and XLSX, on the test database (SQLite or PostgreSQL)."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot import cases
from bot.case_models import FraudCase
from bot.cli import main
from tests.stats.conftest import NOW, SMALL, write_csv


def count(svc):
    with svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(FraudCase))


def case(svc, no):
    with svc.sessions() as s:
        return s.scalar(select(FraudCase).where(FraudCase.case_no == no))


def test_a_good_file_is_imported_with_types_amounts_and_times_understood(small):
    a2, a3, a4, a5 = (case(small, n) for n in ("A2", "A3", "A4", "A5"))
    assert a2.fraud_type == "shuadan" and a2.loss_fen == 1200050 and a2.age_group == "18-40"
    assert a3.fraud_type == "touzi" and a3.loss_fen == 8_000_000 and a3.age_group == "41-65"
    assert a4.fraud_type == "gongjianfa" and a4.age_group == ">65"           # "冒充公安局民警" by its words
    assert a5.fraud_type == "shuadan" and a5.type_label == "网络刷单"          # a configured alias
    assert a5.victim_age is None and a5.age_group == "未知" and a5.loss_fen == 80000
    # 2026/11/27 08:15 local = 00:15 UTC
    assert a5.occurred_at == dt.datetime(2026, 11, 27, 0, 15, tzinfo=dt.timezone.utc) and a5.month == "2026-11"


def test_reimporting_updates_and_never_duplicates(small, tmp_path):
    changed = [r[:] for r in SMALL[:2]]
    changed[0][8] = "6500"
    changed.append(["D1", "2026-11-26 10:00", "高庄镇", "虚假购物服务", "", "30", "", "", "100", "微信"])
    res = cases.import_file(small.sessions, small.config, write_csv(tmp_path / "again.csv", changed))
    assert (res.inserted, res.updated, res.errors) == (1, 2, [])
    assert count(small) == 10 and case(small, "A1").loss_fen == 650000


def test_every_bad_row_is_reported_by_row_and_column_and_nothing_is_written(svc, tmp_path):
    rows = [SMALL[0],
            ["X2", "2026-13-45", "城关镇", "刷单返利", "", "30", "", "", "100", ""],       # row 3: date
            ["X3", "2026-11-20", "火星镇", "刷单返利", "", "30", "", "", "abc", ""],       # row 4: township + amount
            ["X4", "2026-11-20", "城关镇", "炒鞋", "", "300", "", "", "-5", ""],           # row 5: type, age, negative
            ["A1", "2026-11-20", "城关镇", "刷单", "", "", "", "", "1", ""]]               # row 6: duplicate id
    res = cases.import_file(svc.sessions, svc.config, write_csv(tmp_path / "bad.csv", rows))
    got = {(e.row, e.column) for e in res.errors}
    assert got == {(3, "发案时间"), (4, "乡镇/街道"), (4, "损失金额"), (5, "诈骗类型"), (5, "受害人年龄"),
                   (5, "损失金额"), (6, "案件编号")}
    reasons = {(e.row, e.column): e.reason for e in res.errors}
    assert "负数" in reasons[(5, "损失金额")] and "火星镇" in reasons[(4, "乡镇/街道")]
    assert "第2行" in reasons[(6, "案件编号")]
    assert res.unknown_types == {"炒鞋": 1} and "炒鞋" in res.summary()
    assert not res.written and count(svc) == 0          # one transaction: not even the good first row
    skipped = cases.import_file(svc.sessions, svc.config, write_csv(tmp_path / "bad.csv", rows), skip_bad=True)
    assert skipped.written and skipped.inserted == 1 and count(svc) == 1


@pytest.mark.parametrize("name,content,says", [
    ("cases.txt", b"whatever", "不支持的文件类型"),
    ("cases.xlsx", b"not a zip at all", "不是有效的 XLSX"),
    ("cases.csv", "案件编号,发案时间\nA,2026-01-01\n".encode(), "缺少必需的列：乡镇/街道、诈骗类型、损失金额"),
])
def test_an_unusable_file_is_refused_whole(svc, tmp_path, name, content, says):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(cases.ImportFailed, match=says):
        cases.import_file(svc.sessions, svc.config, p)
    assert count(svc) == 0


def test_xlsx_with_configured_column_names_and_date_cells(svc, tmp_path):
    from openpyxl import Workbook
    cfg = svc.config.model_copy(update={"cases": svc.config.cases.model_copy(update={
        "columns": {**svc.config.cases.columns, "case_no": "警情编号", "loss": "损失(元)"}})})
    wb = Workbook()
    ws = wb.active
    ws.append(["警情编号", "发案时间", "乡镇/街道", "诈骗类型", "损失(元)", "受害人年龄"])
    ws.append(["J1", dt.datetime(2026, 11, 24, 9, 30), "城关镇", "虚假网络贷款", 3500.5, 41])
    ws.append(["J2", dt.date(2026, 11, 25), "石桥乡", "养老诈骗", 12000, 71])
    wb.save(tmp_path / "cases.xlsx")
    res = cases.import_file(svc.sessions, cfg, tmp_path / "cases.xlsx")
    assert (res.inserted, res.errors) == (2, [])
    j1 = case(svc, "J1")
    assert j1.fraud_type == "daikuan" and j1.loss_fen == 350050 and j1.age_group == "41-65"
    assert j1.occurred_at == dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.timezone.utc)
    assert case(svc, "J2").fraud_type == "yanglao"


def test_cli_import_exit_codes_and_messages(svc, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", svc.config.database.url)
    good = write_csv(tmp_path / "good.csv", SMALL)
    assert main(["cases", "import", str(good)]) == 0
    assert "新增 9 件" in capsys.readouterr().out
    assert main(["cases", "import", str(good)]) == 0
    assert "更新 9 件" in capsys.readouterr().out
    bad = write_csv(tmp_path / "bad.csv", [["Z1", "昨天", "城关镇", "刷单", "", "", "", "", "1", ""]])
    assert main(["cases", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "第2行 发案时间" in err and "未写入任何数据" in err
    assert count(svc) == 9


def test_follow_ups_are_recorded_and_listed_per_case(small, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", small.config.database.url)
    cases.add_follow_up(small.sessions, "A3", by="林警官", note="电话回访，受害人情绪稳定", at=NOW)
    assert main(["cases", "followup", "A3", "上门走访，已提交止付材料", "--by", "林警官", "--method", "走访"]) == 0
    out = capsys.readouterr().out
    assert "回访 2 次" in out and "上门走访，已提交止付材料" in out and "电话回访" in out
    c, items = cases.follow_ups(small.sessions, "A3")
    assert [f.method for f in items] == ["电话", "走访"]
    assert main(["cases", "followup", "NOPE", "x"]) == 1


def test_a_cell_longer_than_its_column_is_a_row_error_not_cut_short(small, tmp_path):
    """A case number cut to its column's length could merge two cases; it is refused with the length."""
    long_no = "AJ" + "7" * 70
    rows = [[long_no, "2026-11-26 10:00", "高庄镇", "虚假购物服务", "", "30", "", "", "100", "微信"],
            ["E2", "2026-11-26 10:00", "高庄镇", "虚假购物服务", "", "30", "学" * 40, "", "100", "微信"]]
    res = cases.import_file(small.sessions, small.config, write_csv(tmp_path / "long.csv", rows))
    text = [str(e) for e in res.errors]
    assert any("案件编号" in t and "太长（72字，最多64字）" in t for t in text), text
    assert any("职业" in t and "太长（40字，最多32字）" in t for t in text), text
    assert not res.written and case(small, long_no[:64]) is None and case(small, "E2") is None
