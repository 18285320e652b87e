"""`python -m bot demo` as the README promises: both servers up, a question answered, Ctrl-C stops it."""
import pytest
import os
import signal
import subprocess
import sys

import requests
import yaml

from bot.netutil import free_port
from tests.conftest import ROOT, wait_for


pytestmark = pytest.mark.slow   # each test runs the bot in a subprocess


def test_demo_runs_answers_and_stops_cleanly(tmp_path):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["database"] = {"url": f"sqlite:///{tmp_path / 'demo.db'}"}
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "WECOM_API_BASE")}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--config", str(cfg), "--port", str(port),
                             "--sim-port", str(sim_port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    sim = f"http://127.0.0.1:{sim_port}"
    try:
        def up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok and \
                    requests.get(f"{sim}/healthz", timeout=1).ok
            except requests.RequestException:
                return False
        assert wait_for(up, timeout=30, interval=0.1)
        requests.post(f"{sim}/sim/say", json={"chat": "dongguan_grid", "user": "res_liu",
                                              "text": "有人打电话说俺涉嫌洗钱 要把钱转到安全账户"}, timeout=5)
        answer = wait_for(lambda: [m for m in requests.get(f"{sim}/sim/messages", params={"chat": "dongguan_grid"},
                                                           timeout=5).json() if m["from"] == "bot"], timeout=10)
        assert answer and "公检法" in answer[0]["text"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{sim_port}/" in out and "stopped" in out and "Traceback" not in out
