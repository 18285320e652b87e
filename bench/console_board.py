"""The console's warnings board with many open warnings: full page, the live part, one warning's page.

    python bench/console_board.py [--warnings 1000] [--runs 30]

A fresh SQLite database (or $DATABASE_URL, an empty one) gets N open warnings spread over the stations,
levels and states, each with its history; the console is asked through Flask's test client logged in as
the duty officer (no network: the time is the server's). Target (issue 13): ≤ 300 ms a page.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time

from common import ROOT, config

from bot.app import create_app  # noqa: E402
from bot.db import make_engine, session_scope, upgrade  # noqa: E402
from bot.warnings.models import ISSUED, REPORTED, SIGNED, Warning, WarningEvent  # noqa: E402

SECRET = "bench-console-secret-0123456789abcdef"


def fill(app, n: int) -> list[str]:
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


def timed(client, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(path)
        samples.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return samples


def board(n: int = 1000, runs: int = 30) -> list[tuple[str, list[float]]]:
    """→ [(what, samples in ms)] for the board with n open warnings."""
    tmp = tempfile.mkdtemp(prefix="fanzha-bench-console-")
    env = {"DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db",
           "CONSOLE_LOGIN": "local", "FANZHA_CONSOLE_SECRET": SECRET}
    cfg = config(env)
    upgrade(make_engine(cfg.database.url))
    app = create_app(cfg, start_sender=False)
    try:
        numbers = fill(app, n)
        c = app.test_client()
        c.get("/console/login")
        with c.session_transaction() as sess:
            token = sess["csrf"]
        assert c.post("/console/login/local", data={"userid": "police_duty", "csrf_token": token}).status_code == 302
        page = c.get("/console/warnings").data.decode()
        assert page.count("data-number=") == n, "not every open warning is on the board"
        timed(c, "/console/warnings", 3)                       # templates compiled, caches warm
        return [(f"board, {n} open warnings (full page)", timed(c, "/console/warnings", runs)),
                ("board, its live part (/console/warnings/rows)", timed(c, "/console/warnings/rows", runs)),
                ("board filtered to one station and red", timed(c, "/console/warnings?station=chengguan&level=红", runs)),
                ("one warning's page with its history", timed(c, f"/console/warnings/{numbers[n // 2]}", runs))]
    finally:
        app.extensions["fanzha"].stop()


def report(rows: list[tuple[str, list[float]]]) -> None:
    width = max(len(w) for w, _ in rows)
    for what, samples in rows:
        samples = sorted(samples)
        p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
        print(f"{what:<{width}}  median {statistics.median(samples):6.1f} ms  p99 {p99:6.1f} ms  "
              f"{'ok' if p99 <= 300 else 'OVER 300 ms'}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warnings", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    print(f"console pages, database {os.environ.get('DATABASE_URL', 'sqlite').split('://')[0]} ({ROOT.name})")
    report(board(args.warnings, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
