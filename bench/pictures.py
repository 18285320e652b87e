"""Pictures: OCR + match per picture, how much of each picture is read, intent pictured against typed,
and how long a resident waits for the answer in the simulator.

    python bench/pictures.py                       # the screenshot set: speed, characters, intents
    python bench/pictures.py --sim --rates 1,10 --burst 16   # + the service and the simulator: waiting, RSS

The screenshot set (tests/data/screenshots.jsonl, 60 items) holds scam SMS and chat messages and
everyday service SMS written by outside writers (blind sets m and q), each drawn here in a phone's
style with the shipped CJK font (tests/drawing.py): SMS screens 720 and 1080 pixels wide, as PNG and
JPEG, and chats cut into bubbles.

Characters: the share of a message's characters found, in order, in what was read (punctuation
and spaces aside). Intents: the Q&A's intent on the picture against the same text typed.

--sim runs `python -m bot serve` (SQLite, in its own process: its peak RSS is the service's with OCR
loaded) and the simulator; residents send pictures to the app one to one at each rate (pictures a
minute, evenly spaced, --count of them), and the wait is from sending to the answer in the chat.
"""
from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time

from common import ROOT, free_port, summary, wait_http

sys.path.insert(0, str(ROOT))
import requests  # noqa: E402

from bot.config import PicturesConfig, load_config  # noqa: E402
from bot.netutil import ServerThread  # noqa: E402
from bot.pictures import Reader  # noqa: E402
from bot.simulator import create_simulator  # noqa: E402
from content import Matcher, load_library  # noqa: E402
from tests import drawing  # noqa: E402
from tests.screenshots import load_set, screenshot_set  # noqa: E402

def run_sim(rates: list[float], count: int, burst: int = 0) -> None:
    sim_port, bot_port = free_port(), free_port()
    sim_url, bot_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{bot_port}"
    folder = tempfile.mkdtemp(prefix="fanzha-pictures-")
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder}/bench.db", WECOM_API_BASE=sim_url,
               MP_API_BASE=sim_url, LOG_LEVEL="WARNING")
    cfg = load_config(ROOT / "config.yaml", env=env)
    sim = ServerThread(create_simulator(cfg, bot_url=bot_url, public_url=sim_url), port=sim_port).start()
    requests.post(f"{sim_url}/sim/limits", json={"enabled": False}, timeout=5)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(bot_port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    items = load_set()
    residents = ("res_liu", "res_zhao", "res_sun", "teacher_he", "bank_guo", "bank_ma", "fin_wu", "fin_qian")
    try:
        wait_http(f"{bot_url}/healthz", proc=proc)
        print(f"service started; RSS before the first picture {rss(proc.pid)[0]:.0f} MB")
        k = 0
        for rate in rates:
            waits, gap, sent = [], 60.0 / rate, []
            start = time.monotonic()
            for i in range(count):
                time.sleep(max(0.0, start + i * gap - time.monotonic()))
                item, user = items[k % len(items)], residents[k % len(residents)]
                k += 1
                chat = f"dm:{user}"
                before = len(answers(sim_url, chat))
                requests.post(f"{sim_url}/sim/say", json={"chat": chat, "user": user, "image": base64.b64encode(
                    drawing.screenshot(item)).decode()}, timeout=10).raise_for_status()
                sent.append((chat, before, time.monotonic()))
                # evenly spaced: wait for answers as they come, between sends
                waits += collect(sim_url, sent, until=start + (i + 1) * gap if i + 1 < count else None)
            print(summary(f"wait for the answer at {rate:g} pictures a minute", [w * 1000 for w in waits]))
        if burst:
            sent = []
            for i in range(burst):        # everyone at once: the pictures wait in the heavy pool's line
                item, user = items[k % len(items)], residents[i % len(residents)]
                k += 1
                chat = f"dm:{user}"
                sent.append((chat, len(answers(sim_url, chat)), time.monotonic()))
                requests.post(f"{sim_url}/sim/say", json={"chat": chat, "user": user, "image": base64.b64encode(
                    drawing.screenshot(item)).decode()}, timeout=10).raise_for_status()
            waits = collect_in_order(sim_url, sent)
            print(summary(f"wait for the answer, {burst} pictures at once", [w * 1000 for w in waits]))
        now, peak = rss(proc.pid)
        print(f"service RSS now {now:.0f} MB, peak {peak:.0f} MB (OCR loaded)")
    finally:
        proc.kill()
        proc.wait(10)
        sim.stop()


def answers(sim_url: str, chat: str) -> list[dict]:
    msgs = requests.get(f"{sim_url}/sim/messages", params={"chat": chat}, timeout=5).json()
    return [m for m in msgs if m["from"] == "bot" and "正在识别" not in m["text"]]


def collect(sim_url: str, sent: list, until: float | None) -> list[float]:
    """Waits of the sent pictures answered by `until` (None: all of them, at most two minutes)."""
    waits = []
    deadline = until if until is not None else time.monotonic() + 120
    while sent and time.monotonic() < deadline:
        for entry in list(sent):
            chat, before, at = entry
            got = answers(sim_url, chat)
            if len(got) > before:
                waits.append(got[before]["time"] - (time.time() - (time.monotonic() - at)))
                sent.remove(entry)
        time.sleep(0.05)
    return waits


def collect_in_order(sim_url: str, sent: list) -> list[float]:
    """Waits when several pictures come from one chat: the n-th answer there answers its n-th picture."""
    by_chat: dict[str, list] = {}
    for chat, before, at in sent:
        by_chat.setdefault(chat, []).append((before, at))
    waits, deadline = [], time.monotonic() + 300
    while by_chat and time.monotonic() < deadline:
        for chat, pending in list(by_chat.items()):
            got = answers(sim_url, chat)
            base = pending[0][0]
            while pending and len(got) > base:
                _before, at = pending.pop(0)
                waits.append(got[base]["time"] - (time.time() - (time.monotonic() - at)))
                base += 1
            if not pending:
                del by_chat[chat]
            else:
                by_chat[chat] = [(base, a) for _b, a in pending]
        time.sleep(0.05)
    return waits


def rss(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", action="store_true", help="also the service and the simulator: waiting and RSS")
    ap.add_argument("--rates", default="1,10", help="pictures a minute, comma separated")
    ap.add_argument("--count", type=int, default=5, help="pictures sent at each rate")
    ap.add_argument("--burst", type=int, default=0, help="then this many pictures at once (they queue)")
    ap.add_argument("--errors", action="store_true", help="list the items pictured and typed disagree on")
    args = ap.parse_args()
    lib = load_library()
    matcher = Matcher(lib)
    reader = Reader.from_config(PicturesConfig())
    reader.engine()
    result = screenshot_set(load_set(), reader, lib, matcher)
    print(summary("OCR + match per picture", result["ms"]))
    print(f"characters read: mean {result['chars']:.3f}, worst picture {result['chars_min']:.3f}")
    print(f"intent accuracy on {result['n']} screenshots: typed {result['typed']:.3f}, pictured "
          f"{result['pictured']:.3f} (gap {100 * (result['typed'] - result['pictured']):.1f} points)")
    if args.errors:
        for r in result["rows"]:
            if r["typed"] != r["pictured"] or r["pictured"] != r["gold"]:
                print("  ", r)
    if args.sim:
        run_sim([float(x) for x in args.rates.split(",")], args.count, args.burst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
