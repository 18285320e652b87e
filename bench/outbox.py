"""Outbox throughput: enqueue N messages, drain them to the WeCom simulator (limits off).

    python bench/outbox.py [--messages 2000] [--channel app|webhook]

Uses a fresh SQLite database (or $DATABASE_URL) and the in-process sender; prints messages/s
from the first claim to the last final state, and checks every message arrived once.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import requests

from common import config, free_port

from bot.app import Service  # noqa: E402
from bot.netutil import ServerThread  # noqa: E402
from bot.simulator import create_simulator  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--channel", choices=["app", "webhook"], default="webhook")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fanzha-bench-")
    db = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/outbox.db"
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    cfg = config({"DATABASE_URL": db, "WECOM_API_BASE": sim_url})
    # our own pacing (WeCom's 20/minute per robot, 30/minute per member) is part of correctness,
    # not of throughput
    cfg = cfg.model_copy(update={"sender": cfg.sender.model_copy(update={"robot_per_minute": 10**9,
                                                                         "member_per_minute": 10**9})})
    sim = ServerThread(create_simulator(cfg, bot_url="http://127.0.0.1:9", public_url=sim_url), port=port).start()
    requests.post(f"{sim_url}/sim/limits", json={"enabled": False}, timeout=5)
    svc = Service(cfg)
    t0 = time.perf_counter()
    for i in range(args.messages):
        if args.channel == "webhook":
            svc.outbox.to_group("linkage", f"第{i}条预警提醒", dedupe_key=f"bench-{i}")
        else:
            svc.outbox.to_members(["liaison_chen"], f"第{i}条预警提醒", dedupe_key=f"bench-{i}")
    enqueue_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    svc.sender.drain(timeout=600)
    drain_s = time.perf_counter() - t1
    chat = "linkage" if args.channel == "webhook" else "dm:liaison_chen"
    got = requests.get(f"{sim_url}/sim/messages", params={"chat": chat}, timeout=30).json()
    texts = [m["text"] for m in got]
    ok = sorted(texts) == sorted(f"第{i}条预警提醒" for i in range(args.messages))
    print(f"{args.messages} messages via {args.channel} on {db.split('://')[0]}: enqueue {args.messages / enqueue_s:.0f}/s, "
          f"send {args.messages / drain_s:.0f}/s ({drain_s:.2f} s), all delivered once: {ok}")
    sim.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
