"""Process start to first answered callback: `python -m bot serve` on a fresh database.

    python bench/startup.py [--runs 5]

Each run starts the service (migrating an empty SQLite file, or $DATABASE_URL), sends an
@-mention through the AI bot callback until one is answered, and stops it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import ROOT, Client, aibot_callback, config, free_port


def one_run() -> float:
    tmp = tempfile.mkdtemp(prefix="fanzha-start-")
    env = dict(os.environ, LOG_LEVEL="WARNING")
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp}/start.db")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = config({"DATABASE_URL": env["DATABASE_URL"]})
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            try:
                if "可用命令" in aibot_callback(Client(base), base, cfg, "#帮助"):
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.02)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    times = [one_run() for _ in range(args.runs)]
    print(f"start to first answered callback: runs={len(times)} median={statistics.median(times):.2f} s "
          f"max={max(times):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
