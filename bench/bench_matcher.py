"""Benchmark the content matcher: start-up, per-message latency, memory.

    /work/venv/bin/python bench/bench_matcher.py [--repeat N] [FILE.jsonl]

Start-up is measured in a fresh interpreter (process start -> first answer, jieba cache warm);
latency in process over the messages of FILE (default ../shared/data/dev_questions.jsonl)
repeated N times; RSS is the peak resident set of this process.
"""
from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "dev_questions.jsonl"

_FIRST_ANSWER = (
    "import time; t0 = time.perf_counter(); import sys; sys.path.insert(0, {root!r})\n"
    "from content import load_library, Matcher\n"
    "from content.answers import answer_for\n"
    "lib = load_library(); m = Matcher(lib)\n"
    "answer_for(m.match('有人叫我刷单返利 先垫付 靠谱吗'), lib)\n"
    "print(time.perf_counter() - t0)\n"
)


def startup_seconds() -> float:
    """Wall time from launching a new interpreter to its first answer."""
    code = _FIRST_ANSWER.format(root=str(ROOT))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total = time.perf_counter() - t0
    inner = float(out.stdout.strip().splitlines()[-1])
    return total, inner


def main(argv: list[str]) -> int:
    repeat = 20
    if "--repeat" in argv:
        i = argv.index("--repeat")
        repeat = int(argv[i + 1])
        del argv[i:i + 2]
    path = Path(argv[0]) if argv else DEFAULT_FILE
    texts = [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]

    startup_seconds()  # first run may write jieba's cache; measure the steady case
    total, inner = startup_seconds()

    from content import Matcher, load_library
    from content.answers import answer_for

    lib = load_library()
    m = Matcher(lib)
    for t in texts:  # warm-up
        answer_for(m.match(t), lib)
    lat = []
    for _ in range(repeat):
        for t in texts:
            t0 = time.perf_counter()
            answer_for(m.match(t), lib)
            lat.append((time.perf_counter() - t0) * 1000.0)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    print(f"messages {len(lat)} ({len(texts)} x {repeat})")
    print(f"median {statistics.median(lat):.3f} ms   p99 {p99:.3f} ms   max {lat[-1]:.3f} ms  (match + reply)")
    print(f"start to first answer {total:.2f} s (process)   {inner:.2f} s (in-interpreter imports + load + jieba)")
    print(f"peak RSS {rss_mb:.0f} MB")
    ok = statistics.median(lat) <= 1.0 and p99 <= 5.0 and total <= 2.5 and rss_mb <= 200
    print("within budget (median <= 1 ms, p99 <= 5 ms, start <= 2.5 s, RSS <= 200 MB):", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
