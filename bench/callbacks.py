"""Callback round trip (encrypt → POST → decrypt the reply) against `serve` under gunicorn.

    python bench/callbacks.py [--clients 16] [--requests 2000] [--workers 3] [--worker-class sync] [--threads 1]

Starts gunicorn on a fresh SQLite database (or $DATABASE_URL), runs both endpoints with
N concurrent clients, prints median and p99 per endpoint. Each client encrypts its requests
before the clock starts and decrypts and checks the answers after it stops: the load generator
shares the server's two cores, and its own AES work would otherwise be counted as server latency.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

from common import ROOT, Client, aibot_callback, aibot_request, app_request, config, free_port, summary, wait_http


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that are alive (gunicorn's workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid] + [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    for p in pids:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=2000, help="per endpoint")
    # the README's production command; gunicorn turns sync into gthread when --threads is above 1
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker-class", default="sync", help="gunicorn -k: sync or gthread")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="fanzha-bench-")
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    env["LOG_LEVEL"] = "WARNING"
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-k", args.worker_class,
                             "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             "bot.wsgi:app"], cwd=ROOT, env=env)
    try:
        wait_http(f"{base}/healthz", proc=proc)
        cfg = config({"DATABASE_URL": env["DATABASE_URL"]})
        kind = args.worker_class if args.threads == 1 else "gthread"
        print(f"gunicorn {args.workers} {kind} workers x {args.threads} threads, {args.clients} clients, "
              f"database {env['DATABASE_URL'].split('://')[0]}")
        for name, make in (("aibot  /wecom/aibot/callback", aibot_request), ("app    /wecom/callback", app_request)):
            per_client = args.requests // args.clients
            batches = [[make(cfg, "#帮助") for _ in range(per_client)] for _ in range(args.clients)]
            conns = [Client(base) for _ in range(args.clients)]
            for c in conns:
                aibot_callback(c, base, cfg, "#帮助")          # warm the connection
            samples: list[float] = []
            answers: list[tuple] = []
            errors: list[str] = []
            lock = threading.Lock()

            def client(conn, batch):
                for path, query, body, content_type, read in batch:
                    t0 = time.perf_counter()
                    try:
                        status, content = conn.post(path, query, body, content_type)
                    except Exception as e:  # counted, not hidden
                        errors.append(repr(e))
                        continue
                    elapsed = (time.perf_counter() - t0) * 1000
                    with lock:
                        samples.append(elapsed)
                        answers.append((status, content, read))

            threads = [threading.Thread(target=client, args=(c, b)) for c, b in zip(conns, batches)]
            cpu0 = cpu_seconds(proc.pid)
            t0 = time.perf_counter()
            [t.start() for t in threads]
            [t.join() for t in threads]
            wall = time.perf_counter() - t0
            server_cpu = (cpu_seconds(proc.pid) - cpu0) / max(1, len(samples)) * 1000
            for status, content, read in answers:  # every answer decrypted and checked, after the clock
                try:
                    assert status == 200, status
                    answer = read(content)
                    assert "可用命令" in answer, answer
                except Exception as e:
                    errors.append(repr(e))
            print(summary(name, samples) + f" throughput={len(samples) / wall:.0f}/s "
                  f"server CPU={server_cpu:.2f} ms/callback errors={len(errors)}")
            if errors:
                print("  first error:", errors[0])
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
