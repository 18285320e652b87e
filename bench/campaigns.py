"""One campaign slot fanned out to many groups: enqueue time, then delivery through the simulator.

    python bench/campaigns.py [--groups 2000]

Builds the demo config with N extra community groups (each with its own group robot), runs one
slot, and drains the outbox into the WeCom simulator (its limits on: 20 a minute per robot).
Checks that every group got exactly one message.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter

import requests

from common import config, free_port

from bot import campaigns as cp  # noqa: E402
from bot.app import Service  # noqa: E402
from bot.config import CampaignConfig, GroupConfig, RobotConfig  # noqa: E402
from bot.netutil import ServerThread  # noqa: E402
from bot.simulator import create_simulator  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=2000)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fanzha-bench-")
    db = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/campaigns.db"
    port = free_port()
    sim_url = f"http://127.0.0.1:{port}"
    cfg = config({"DATABASE_URL": db, "WECOM_API_BASE": sim_url})
    groups = [GroupConfig(id=f"village{i:04d}", name=f"第{i}村网格群", kind="community",
                          send={"via": "webhook", "robot": f"r{i}"}) for i in range(args.groups)]
    robots = {f"r{i}": RobotConfig(key=f"bench-key-{i}") for i in range(args.groups)}
    campaign = CampaignConfig(name="压测推送", targets={"groups": [g.id for g in groups]}, cron="0 10 * * *",
                              draw_from=["venue", "scenario"], msgtype="text")
    cfg = cfg.model_copy(update={"groups": list(cfg.groups) + groups, "robots": {**cfg.robots, **robots},
                                 "campaigns": [campaign]})
    sim = ServerThread(create_simulator(cfg, bot_url="http://127.0.0.1:9", public_url=sim_url), port=port).start()
    svc = Service(cfg)
    slot = cp.previous_slot(campaign, cfg.timezone, svc.clock())
    t0 = time.perf_counter()
    result = cp.run_slot(svc, campaign, slot)
    enqueue_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    svc.sender.drain(timeout=600)
    send_s = time.perf_counter() - t1
    msgs = requests.get(f"{sim_url}/sim/messages", timeout=60).json()
    per_chat = Counter(m["chat"] for m in msgs if m["chat"].startswith("village"))
    again = cp.run_slot(svc, campaign, slot)
    ok = len(per_chat) == args.groups and set(per_chat.values()) == {1} and again.counts == {"duplicate": args.groups}
    print(f"{args.groups} groups on {db.split('://')[0]}: enqueue {enqueue_s:.2f} s ({dict(result.counts)}), "
          f"delivery {send_s:.2f} s ({args.groups / send_s:.0f}/s); every group once: {ok}; "
          f"second firing of the slot: {dict(again.counts)}")
    sim.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
