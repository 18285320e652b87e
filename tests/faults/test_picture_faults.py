"""The web process killed with SIGKILL while it reads a burst of pictures: after a restart every
picture is answered, once (the app channel: WeCom drops a repeated send within its duplicate check),
by WeCom's retries or the recovery job."""
from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys

import pytest
import requests
import yaml
from sqlalchemy import func, select

from bot.config import load_config
from bot.db import make_engine, session_factory
from bot.models import InboundMessage
from bot.netutil import ServerThread, free_port
from bot.simulator import create_simulator
from tests import drawing
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow

RESIDENTS = ("res_liu", "res_zhao", "res_sun", "teacher_he", "bank_guo", "fin_wu")
SMS = "【顺丰速运】您的快递在运输途中丢失，我司将为您办理三倍理赔，请添加理赔客服QQ：2873456612登记办理。"


def test_a_web_process_killed_while_reading_pictures_answers_each_once_after_the_restart(db_url, tmp_path):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["wecom"]["handling_lease_seconds"] = 3
    raw["sender"].update(claim_seconds=4, http_timeout_seconds=2)
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    sim_port, bot_port = free_port(), free_port()
    sim_url, bot_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{bot_port}"
    env = dict(os.environ, DATABASE_URL=db_url, WECOM_API_BASE=sim_url, MP_API_BASE=sim_url, LOG_LEVEL="WARNING")
    config = load_config(cfg_path, env=env)
    sim = ServerThread(create_simulator(config, bot_url=bot_url, public_url=sim_url), port=sim_port).start()
    requests.post(f"{sim_url}/sim/limits", json={"enabled": False}, timeout=5)
    engine = make_engine(db_url)
    sessions = session_factory(engine)

    def serve():
        return subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(cfg_path), "--port",
                                 str(bot_port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def count(*where):
        with sessions() as s:
            return s.scalar(select(func.count()).select_from(InboundMessage).where(*where))

    def up() -> bool:
        try:
            return requests.get(f"{bot_url}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False

    def answers(user: str) -> list[str]:
        msgs = requests.get(f"{sim_url}/sim/messages", params={"chat": f"dm:{user}"}, timeout=5).json()
        return [m["text"] for m in msgs if m["from"] == "bot" and "图里写着" in m["text"]]

    picture = base64.b64encode(drawing.sms_screenshot(SMS)).decode()
    first = serve()
    second = None
    try:
        assert wait_for(up, timeout=30, interval=0.1), "the bot did not start"
        for user in RESIDENTS:
            r = requests.post(f"{sim_url}/sim/say", json={"chat": f"dm:{user}", "user": user, "image": picture},
                              timeout=5)
            assert r.ok, r.text
        # killed while it reads: some pictures answered, the rest in its line
        assert wait_for(lambda: count(InboundMessage.state == "done") >= 1, timeout=60, interval=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        left = count(InboundMessage.state == "processing")
        second = serve()
        assert wait_for(lambda: count(InboundMessage.state == "done") == len(RESIDENTS), timeout=120), \
            "not every picture was answered after the restart"
        assert wait_for(lambda: all(answers(u) for u in RESIDENTS), timeout=30), left
        assert {u: len(answers(u)) for u in RESIDENTS} == {u: 1 for u in RESIDENTS}, left
        assert left >= 1          # the kill did catch pictures unread
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(10)
        sim.stop()
        engine.dispose()
