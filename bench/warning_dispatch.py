"""Warning dispatch under load: N warnings posted in the linkage group within a minute, through the
WeCom simulator (real HTTP, real encryption, the in-process sender).

    python bench/warning_dispatch.py [--warnings 100] [--seconds 60] [--wecom-limits]

For every warning it measures, on this machine's one clock:
- callback → outbox row: from the simulator starting the AI-bot callback that carries `#预警` to the
  commit of the outbox row of the @-message (outbox.created_at);
- callback → @-message: to the simulator recording the group robot's @-message in the linkage group.
It checks that every warning was created once, posted once with its liaisons @-mentioned, and that
each got its task card. Fresh SQLite under a temp dir, or $DATABASE_URL.

By default the simulator's rate limits are off and so is our own 20-per-minute robot limit, so the
figure is the bot's own latency. With --wecom-limits both stay on: one group robot may post 20
messages a minute, so 100 posts need five minutes whatever the bot does.
"""
from __future__ import annotations

import os
import sys

# this file shares its name with the standard library's `warnings`: keep its folder from shadowing
# it, and look for `common` after the standard library
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE] + [_HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import requests  # noqa: E402

from common import config, free_port  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.netutil import ServerThread  # noqa: E402
from bot.simulator import create_simulator  # noqa: E402

PLACES = ["城关镇东关村{}组", "河口镇滨河社区{}号楼", "石桥乡柳湾村{}组", "解放路{}号", "码头新村{}号", "高庄{}组"]
TYPES = ["冒充公检法", "刷单", "虚假投资", "冒充客服", "网络贷款"]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warnings", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--wecom-limits", action="store_true", help="keep WeCom's rate limits (20 posts/min per robot)")
    args = ap.parse_args()

    from sqlalchemy import select
    from bot.models import OutboxMessage
    from bot.warnings.models import Warning

    tmp = tempfile.mkdtemp(prefix="fanzha-bench-")
    db = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/warnings.db"
    sim_port, bot_port = free_port(), free_port()
    sim_url, bot_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{bot_port}"
    cfg = config({"DATABASE_URL": db, "WECOM_API_BASE": sim_url})
    if not args.wecom_limits:
        cfg = cfg.model_copy(update={"sender": cfg.sender.model_copy(update={"robot_per_minute": 10**9})})
    sim = ServerThread(create_simulator(cfg, bot_url=bot_url, public_url=sim_url), port=sim_port).start()
    requests.post(f"{sim_url}/sim/limits", json={"enabled": bool(args.wecom_limits)}, timeout=5)
    app = create_app(cfg, start_sender=True)
    svc = app.extensions["fanzha"]
    bot = ServerThread(app, port=bot_port).start()
    http = requests.Session()

    gap = args.seconds / args.warnings
    msgids = []
    t_start = time.monotonic()
    for i in range(args.warnings):
        due = t_start + i * gap
        time.sleep(max(0.0, due - time.monotonic()))
        text = (f"#预警 姓名:测试{i} 电话:13{800000000 + i:09d} 地址:{PLACES[i % len(PLACES)].format(i)} "
                f"类型:{TYPES[i % len(TYPES)]} 级别:{'红' if i % 3 == 0 else '橙'} 说明:压测第{i}条")
        r = http.post(f"{sim_url}/sim/say", json={"chat": "linkage", "user": "police_duty", "text": text}, timeout=10)
        r.raise_for_status()
        body = r.json()
        if not body.get("delivered"):
            print(f"warning {i} not delivered by the simulator: {body.get('reason')}", file=sys.stderr)
        msgids.append(body["msgid"])
    posted_s = time.monotonic() - t_start

    def posts():
        got = http.get(f"{sim_url}/sim/messages", params={"chat": "linkage"}, timeout=30).json()
        return [m for m in got if m["from"] == "robot:linkage_robot" and m["text"].startswith("【预警 ")]
    deadline = time.monotonic() + (600 if args.wecom_limits else 120)
    while len(posts()) < args.warnings and time.monotonic() < deadline:
        time.sleep(0.5)
    seen = {m["text"].split("【预警 ")[1].split("｜")[0]: m for m in posts()}

    with svc.sessions() as s:
        warnings = {w.source_ref: w for w in s.scalars(select(Warning))}
        rows = {r.dedupe_key: r for r in s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("wn:%")))}
    to_row, to_sim, missing = [], [], []
    for msgid in msgids:
        w = warnings.get(f"aibot:{msgid}")
        attempts = http.get(f"{sim_url}/sim/deliveries", params={"msgid": msgid}, timeout=10).json()
        if w is None or not attempts:
            missing.append(msgid)
            continue
        t_callback = min(a["time"] for a in attempts)
        row = rows.get(f"wn:{w.number}:a1:post")
        if row is None or w.number not in seen:
            missing.append(w.number)
            continue
        to_row.append((row.created_at.timestamp() - t_callback) * 1000)
        to_sim.append((seen[w.number]["time"] - t_callback) * 1000)
    cards = [k for k in rows if k.endswith("-a1-sign")]
    mentions_ok = all(m["mentions"] for m in seen.values())
    ok = (not missing and len(warnings) == args.warnings and len(seen) == args.warnings
          and len(posts()) == args.warnings and len(cards) == args.warnings and mentions_ok)
    print(f"{args.warnings} warnings posted in {posted_s:.1f} s on {db.split('://')[0]}"
          f"{' with WeCom limits' if args.wecom_limits else ''}: created {len(warnings)}, "
          f"@-messages {len(seen)} (each once: {len(posts()) == len(seen)}), task cards {len(cards)}, "
          f"all dispatched: {ok}")
    if to_row:
        print(f"callback -> outbox row:  median {statistics.median(to_row):.1f} ms, p99 {pct(to_row, 99):.1f} ms, "
              f"max {max(to_row):.1f} ms")
        print(f"callback -> @-message:   median {statistics.median(to_sim):.1f} ms, p99 {pct(to_sim, 99):.1f} ms, "
              f"max {max(to_sim):.1f} ms")
    if missing:
        print(f"missing: {missing[:10]}", file=sys.stderr)
    bot.stop()
    svc.stop()
    sim.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
