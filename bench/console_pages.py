"""Console pages at scale, through the Flask test client logged in (no network, no browser): each page's
time as the server spends it (routing, SQL, templates).

    python bench/console_pages.py [--section warnings|cases] [--warnings 1000] [--cases 100000] [--requests 20]
                                  [--limit-ms 300]
                                  [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

A fresh SQLite database per section; with --pg a fresh PostgreSQL database on that server instead
(created and dropped again). One section per part of the console: `section_<name>(bench, args)` fills
the database with what its pages need and returns the pages to time as (label, path, text the page must
contain). SECTIONS lists them: the warnings board with 1,000 open warnings, the case pages over 100,000 cases.
Every page is requested twice to warm up, then --requests times; the table gives the median, the p99
(nearest rank) and the maximum. Exit 1 when a page's p99 is over --limit-ms.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import os
import statistics
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlencode

from common import config
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot import cases  # noqa: E402
from bot.case_models import FraudCase  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.warnings.models import ISSUED, REPORTED, SIGNED, Warning, WarningEvent  # noqa: E402

# Friday 27 Nov 2026, 16:00 in Asia/Shanghai: the service's clock during the run (the demo cases end that day)
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
SECRET = "bench-console-secret-0123456789abcdef"
# a page whose `must` is CHART is a PNG an <img> of the page loads: timed and shown, not held to --limit-ms
CHART = "PNG"


@dataclass
class Bench:
    app: object
    service: object
    config: object
    client: object
    folder: str

    def get(self, path: str):
        r = self.client.get(path)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}\n{r.data.decode(errors='replace')[:2000]}")
        return r


@contextlib.contextmanager
def database(folder: str, pg: str):
    """The URL of a fresh, empty database: a SQLite file in folder, or a new database on the PostgreSQL server."""
    if not pg:
        yield f"sqlite:///{folder}/bench.db"
        return
    name = f"fanzha_bench_console_{os.getpid()}"
    admin = create_engine(make_url(pg).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def start(folder: str, url: str, userid: str = "police_duty") -> Bench:
    """The bot's app (no sender) on a fresh database, migrated, and a client logged in as `userid`."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    cfg = config({"DATABASE_URL": url, "CONSOLE_LOGIN": "local", "FANZHA_CONSOLE_SECRET": SECRET,
                  "WECOM_API_BASE": "http://127.0.0.1:9", "MP_API_BASE": "http://127.0.0.1:9"})
    app = create_app(cfg, start_sender=False, clock=lambda: NOW)
    client = app.test_client()
    client.get("/console/login")
    with client.session_transaction() as s:
        token = s["csrf"]
    r = client.post("/console/login/local", data={"userid": userid, "csrf_token": token})
    assert r.status_code == 302, r.data.decode()
    return Bench(app, app.extensions["fanzha"], cfg, client, folder)


def time_page(b: Bench, path: str, must: str, n: int) -> list[float]:
    for _ in range(2):
        r = b.get(path)
        body = r.data.decode() if r.mimetype == "text/html" else r.data[:8].decode(errors="replace")
        if must not in body:
            raise SystemExit(f"{path}: the page does not show {must!r}")
    out = []
    for _ in range(n):
        t = time.perf_counter()
        b.get(path)
        out.append((time.perf_counter() - t) * 1000)
    return out


def pad(text: str, width: int) -> str:
    """text padded to `width` columns of a terminal (a Chinese character takes two)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)


def p99(values: list[float]) -> float:
    v = sorted(values)
    return v[max(0, math.ceil(0.99 * len(v)) - 1)]


# --- sections -----------------------------------------------------------------------------------------

def section_cases(b: Bench, args) -> list[tuple[str, str, str]]:
    """100,000 demo cases over two years (bot.cases.demo_cases, as `cases demo-data`) and a few follow-ups."""
    t = time.perf_counter()
    n = cases.load_demo(b.service.sessions, b.config, count=args.cases, end=NOW.date())
    with session_scope(b.service.sessions) as s:
        recent = list(s.scalars(select(FraudCase.case_no).order_by(FraudCase.occurred_at.desc()).limit(200)))
        for no in recent:
            cases.follow_up_in(s, no, by="police_duty", note="电话回访，受害人情绪稳定", at=NOW)
        some = s.scalar(select(FraudCase.case_no).order_by(FraudCase.id).offset(n // 3).limit(1))
    print(f"{n} demo cases (and 200 follow-ups) loaded in {time.perf_counter() - t:.1f} s")
    late = max(2, math.ceil(n / 50) // 2)
    return [
        ("研判：近7天（默认）", "/console/cases", "案件研判"),
        ("研判：上周（from/to）", "/console/cases?from=2026-11-16&to=2026-11-22", "11月16日—11月22日"),
        ("研判：上月", "/console/cases?range=lastmonth", "2026年10月"),
        ("案件列表第1页", "/console/cases/list", "案件列表"),
        ("搜索：案件编号（完整）", f"/console/cases/list?no={some}", some),
        ("搜索：案件编号（开头，小写）", f"/console/cases/list?no={some[:-2].lower()}", some[:-2]),
        ("搜索：乡镇+类型+手法", "/console/cases/list?" + urlencode({"township": "河口镇", "type": "shuadan",
                                                                   "text": "垫付"}), "符合条件"),
        ("搜索：手法文字（少见）", "/console/cases/list?" + urlencode({"text": "屏幕共享"}), "符合条件"),
        (f"案件列表第{late}页", f"/console/cases/list?page={late}", f"第 {late}/"),
        ("案件列表最后一页", f"/console/cases/list?page={math.ceil(n / 50)}", f"第 {math.ceil(n / 50)}/"),
        ("单位考核：本周", "/console/assessment", "单位考核"),
        ("图：案件统计（近7天）", "/console/cases/chart/stats.png", CHART),
        ("图：研判（近7天）", "/console/cases/chart/rising.png", CHART),
    ]


def fill_warnings(app, n: int) -> list[str]:
    """N open warnings over the last 8 hours, each with its created (and signed / reported) events."""
    svc = app.extensions["fanzha"]
    now = svc.clock()
    stations = [None] + [s.id for s in svc.config.stations]
    numbers = []
    with session_scope(svc.sessions) as s:
        for i in range(n):
            at = now - dt.timedelta(seconds=28_800 * (n - i) / n)
            state = (ISSUED, SIGNED, REPORTED)[i % 3]
            day = at.strftime("%Y%m%d")
            w = Warning(number=f"YJ-{day}-{i + 1:04d}", day=day, seq=i + 1, source="bench", source_ref=f"bench:{i}",
                        created_by="police_duty", created_at=at, name=f"张{i % 97}", phone=f"138{i:08d}",
                        place=f"东关村{i % 12}组", fraud_type="shuadan", level="红橙黄"[i % 3], note="对象正在转账",
                        station_id=stations[i % len(stations)], assignment=1, dispatched_at=at, reports=0, state=state)
            s.add(w)
            s.flush()
            s.add(WarningEvent(warning_id=w.id, at=at, actor="police_duty", kind="created", to_state=ISSUED,
                               channel="bench", detail={"station": w.station_id, "level": w.level}))
            if state != ISSUED:
                s.add(WarningEvent(warning_id=w.id, at=at, actor="liaison_chen", kind="signed", from_state=ISSUED,
                                   to_state=SIGNED, channel="bench"))
            numbers.append(w.number)
    return numbers


def section_warnings(b: Bench, args) -> list[tuple[str, str, str]]:
    """--warnings open warnings (default 1,000) over the last 8 hours, spread over stations, levels and states."""
    numbers = fill_warnings(b.app, args.warnings)
    print(f"{len(numbers)} open warnings loaded")
    return [
        (f"预警看板：{len(numbers)} 条（整页）", "/console/warnings", f'id="open-count">{len(numbers)}<'),
        ("预警看板：自动刷新部分", "/console/warnings/rows", f'id="open-count">{len(numbers)}<'),
        ("预警看板：城关所+红色", "/console/warnings?station=chengguan&level=红", "未办结"),
        ("一条预警及其记录", f"/console/warnings/{numbers[len(numbers) // 2]}", "全部记录"),
    ]


SECTIONS = {"warnings": section_warnings, "cases": section_cases}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--section", action="append", choices=list(SECTIONS), help="default: every section")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--warnings", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--limit-ms", type=float, default=300)
    ap.add_argument("--pg", default="", help="a PostgreSQL server URL: run on a fresh database there")
    args = ap.parse_args()
    ok = True
    for name in args.section or list(SECTIONS):
        with tempfile.TemporaryDirectory(prefix=f"fanzha-bench-console-{name}-") as folder, \
                database(folder, args.pg) as url:
            b = start(folder, url)
            try:
                pages = SECTIONS[name](b, args)
                print(f"\n[{name}] {make_url(url).get_backend_name()}, {args.requests} requests per page after 2 to warm up (ms)")
                print(f"{pad('page', 30)}{'median':>9}{'p99':>9}{'max':>9}")
                for label, path, must in pages:
                    ts = time_page(b, path, must, args.requests)
                    slow = p99(ts) > args.limit_ms and must != CHART
                    ok &= not slow
                    print(f"{pad(label, 30)}{statistics.median(ts):>9.1f}{p99(ts):>9.1f}{max(ts):>9.1f}"
                          + ("  SLOW" if slow else "  (image, no target)" if must == CHART else ""))
            finally:
                b.service.stop()
                b.service.engine.dispose()
    print("\nOK" if ok else f"\nSLOWER THAN {args.limit_ms:g} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
