"""Helpers of the statistics tests: a Service on the test database and small case files."""
import csv
import datetime as dt

import pytest

from bot.app import Service
from tests.conftest import demo_config

HEADER = ["案件编号", "发案时间", "乡镇/街道", "诈骗类型", "作案手法", "受害人年龄", "职业", "性别", "损失金额", "联系渠道"]
# Friday 27 Nov 2026, 16:00 in Asia/Shanghai: "this week" runs from Monday 23 Nov
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)


def write_csv(path, rows, header=HEADER):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


# hand-checked: this week (23–27 Nov) 5 cases, the week before (16–22 Nov) 3 cases, one in October
SMALL = [
    ["A1", "2026-11-23 09:00", "城关镇", "刷单返利", "点赞返佣", "25", "学生", "女", "5000", "QQ"],
    ["A2", "2026-11-24 10:30", "城关镇", "刷单", "垫付任务", "33", "企业职员", "男", "12,000.50", "微信"],
    ["A3", "2026-11-25 14:00", "河口镇", "虚假投资理财", "荐股群", "52", "个体经营者", "男", "8万", "微信"],
    ["A4", "2026-11-26 20:00", "石桥乡", "冒充公安局民警", "安全账户", "70", "离退休人员", "女", "30000", "电话"],
    ["A5", "2026/11/27 08:15", "河口镇", "网络刷单", "", "", "", "", "800元", "QQ"],
    ["B1", "2026-11-17 09:00", "城关镇", "虚假投资理财", "", "45", "务农", "男", "20000", "电话"],
    ["B2", "2026-11-18 09:00", "城关镇", "刷单返利", "", "19", "学生", "女", "1000", "QQ"],
    ["B3", "2026-11-22 23:30", "河口镇", "虚假购物服务", "", "28", "自由职业", "女", "300", "网络平台/APP"],
    ["C1", "2026-10-05 12:00", "柳湾乡", "虚假网络贷款", "", "38", "无业", "男", "6000", "电话"],
]


@pytest.fixture
def svc(db_url):
    s = Service(demo_config(db_url))
    yield s
    s.stop()
    s.engine.dispose()


@pytest.fixture
def small(svc, tmp_path):
    from bot.cases import import_file
    res = import_file(svc.sessions, svc.config, write_csv(tmp_path / "small.csv", SMALL), now=NOW)
    assert res.errors == [] and res.inserted == 9
    return svc
