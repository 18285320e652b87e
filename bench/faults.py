"""A sender killed with SIGKILL in the middle of a fan-out: what each channel delivered.

    python bench/faults.py [--groups 300] [--slow-ms 150] [--kill-at 0.3]

N groups per channel (group robots, app group chats, customer groups) get one campaign slot, and N
members one message each through the app. A `python -m bot worker` sends while WeCom (the simulator)
answers each send after --slow-ms; it is killed with SIGKILL once --kill-at of the rows are sent, and
a second worker finishes. Prints per channel: addressees, reached, duplicates, lost, and the sends
whose outcome was unknown (the only ones that may repeat).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

sys.path.insert(0, str(ROOT))
from sqlalchemy import func, select  # noqa: E402

from bot.app import Service  # noqa: E402
from bot.models import OutboxMessage  # noqa: E402
from tests.faults.world import CHANNELS, FaultWorld  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=300)
    ap.add_argument("--slow-ms", type=int, default=150)
    ap.add_argument("--kill-at", type=float, default=0.3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fanzha-faults-"))
    db = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/faults.db"
    world = FaultWorld(db, tmp, n=args.groups, sender={"http_timeout_seconds": 2.0, "claim_seconds": 10})
    try:
        svc = Service(world.config)
        total = world.queue_everything(svc)
        world.slow_answers(["webhook/send", "appchat/send", "message/send", "externalcontact/add_msg_template"],
                           after_ms=args.slow_ms)
        first = world.start_worker()
        if not world.wait_sent(svc, int(total * args.kill_at), timeout=600):
            print("the first worker did not get far enough")
            return 1
        killed_at = world.sent_rows(svc)
        world.kill(first)
        world.clear_faults()
        t0 = time.monotonic()
        second = world.start_worker()
        while time.monotonic() - t0 < 600:
            with svc.sessions() as s:
                left = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "sent"))
            if not left:
                break
            time.sleep(0.2)
        finished = time.monotonic() - t0
        world.kill(second)
        tally = world.tally()
        with svc.sessions() as s:
            unknown = dict(s.execute(select(OutboxMessage.channel, func.sum(OutboxMessage.unknown_outcomes))
                                     .group_by(OutboxMessage.channel)).all())
        print(f"{total} rows on {db.split('://')[0]}; SIGKILL after {killed_at} sent; the second worker finished "
              f"in {finished:.1f} s (claims of the dead one run out after {world.config.sender.claim_seconds:g} s)")
        print(f"{'channel':16s} {'addressees':>10s} {'reached':>8s} {'duplicates':>10s} {'lost':>5s} {'unknown':>8s}")
        for ch in CHANNELS:
            t = tally[ch]
            print(f"{ch:16s} {t['addressees']:10d} {t['reached']:8d} {t['duplicates']:10d} {t['lost']:5d} "
                  f"{unknown.get(ch) or 0:8d}")
        lost = sum(t["lost"] for t in tally.values())
        return 0 if lost == 0 and tally["app"]["duplicates"] == 0 else 1
    finally:
        world.stop()


if __name__ == "__main__":
    sys.exit(main())
