"""Cases at scale: import 100,000 cases from CSV, the weekly analysis, chart rendering (SQLite).

    python bench/cases.py [--cases 100000] [--xlsx]

Writes a demo case file (`python -m bot cases demo-data --csv`), imports it into a fresh SQLite
database (`cases import`), imports it again (every case updated, none duplicated), then times
the weekly report's figures (analysis + warning statistics + assessment, all in SQL) and each chart.
Goals (issue 7): import ≤ 30 s, weekly analysis ≤ 2 s, a chart ≤ 1 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

from common import config

from bot import cases, reports, stats  # noqa: E402
from bot.db import make_engine, session_factory, upgrade  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--xlsx", action="store_true", help="also time an XLSX file of the same cases")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fanzha-bench-cases-")
    cfg = config({"DATABASE_URL": f"sqlite:///{tmp}/bench.db"})
    engine = make_engine(cfg.database.url)
    upgrade(engine)
    sessions = session_factory(engine)
    now = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
    rows = cases.demo_cases(cfg, count=args.cases, end=now.date())
    path = os.path.join(tmp, "cases.csv")
    cases.write_csv(rows, path, cfg)
    print(f"{args.cases} cases, {os.path.getsize(path) / 1e6:.1f} MB CSV")
    ok = True
    for what in ("import (new)", "import again (updates)"):
        t = time.perf_counter()
        res = cases.import_file(sessions, cfg, path)
        took = time.perf_counter() - t
        print(f"{what}: {took:.1f} s ({res.inserted} new, {res.updated} updated, {len(res.errors)} errors)")
        ok &= took <= 30 and not res.errors
    if args.xlsx:
        from openpyxl import Workbook
        wb = Workbook(write_only=True)
        ws = wb.create_sheet()
        import csv
        with open(path, encoding="utf-8-sig") as f:
            for r in csv.reader(f):
                ws.append(r)
        xpath = os.path.join(tmp, "cases.xlsx")
        wb.save(xpath)
        t = time.perf_counter()
        res = cases.import_file(sessions, cfg, xpath)
        print(f"import XLSX (updates): {time.perf_counter() - t:.1f} s ({res.updated} updated)")
    times = []
    for _ in range(5):
        t = time.perf_counter()
        period = stats.week_period(cfg, now, complete=True)
        a = stats.analyse(sessions, cfg, period)
        stats.warning_stats(sessions, cfg, period, now)
        stats.assess(sessions, cfg, period, now)
        stats.rising(sessions, cfg, now)
        times.append(time.perf_counter() - t)
    print(f"weekly analysis (types, townships, ages, occupations, channels, 12 months, previous week, rising, "
          f"warnings, assessment): median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"({a.total} cases in the week)")
    ok &= max(times) <= 2
    font = reports.cjk_font()
    scores = stats.assess(sessions, cfg, period, now)
    reports.stats_chart(a, font)                      # warm-up: matplotlib's first figure loads its machinery
    for name, draw in (("cases", lambda: reports.stats_chart(a, font)), ("trend", lambda: reports.rising_chart(a, font)),
                       ("assessment", lambda: reports.assessment_chart(period.label, scores, font))):
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            png = draw()
            ts.append(time.perf_counter() - t)
        print(f"chart {name}: median {statistics.median(ts) * 1000:.0f} ms ({len(png) // 1024} KB)")
        ok &= max(ts) <= 1
    t = time.perf_counter()
    rep = reports.Report(sessions, cfg, "monthly", now)
    data = rep.workbook()
    print(f"monthly workbook: {(time.perf_counter() - t) * 1000:.0f} ms ({len(data) // 1024} KB)")
    print("OK" if ok else "SLOWER THAN THE GOALS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
