"""A county of N groups per channel on one database, the WeCom simulator, and sender processes that
can be killed with SIGKILL: the ground for the fault tests and `bench/faults.py`.

What reached WeCom is read back from the simulator: every message in every chat, every mass-send
task. A message is lost when its addressee never got it, and doubled when it got it twice.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests
import yaml
from sqlalchemy import func, select

from bot.config import load_config
from bot.models import OutboxMessage
from bot.netutil import ServerThread, free_port
from bot.simulator import create_simulator

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ("webhook", "appchat", "customer_group", "app")


class FaultWorld:
    def __init__(self, db_url: str, folder: Path, n: int = 50, sender: dict | None = None):
        self.n = n
        self.folder = Path(folder)
        port = free_port()
        self.sim_url = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ, DATABASE_URL=db_url, WECOM_API_BASE=self.sim_url, MP_API_BASE=self.sim_url,
                        LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
        self.config_path = self._write_config(sender or {})
        self.config = load_config(self.config_path, env=self.env)
        self.sim = ServerThread(create_simulator(self.config, bot_url="http://127.0.0.1:9", public_url=self.sim_url),
                                port=port).start()
        requests.post(f"{self.sim_url}/sim/limits", json={"enabled": False}, timeout=5)
        self.workers: list[subprocess.Popen] = []

    # --- the county --------------------------------------------------------------------------------
    def _write_config(self, sender: dict) -> Path:
        raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        n = self.n
        members = [f"m{i:04d}" for i in range(n)]
        raw["people"] += [{"userid": u, "name": f"成员{i}", "roles": ["resident"]} for i, u in enumerate(members)]
        raw["robots"].update({f"fr{i}": {"key": f"fault-key-{i}"} for i in range(n)})
        # one group of each channel after the other, so that a fan-out has every channel in flight at once
        for i in range(n):
            raw["groups"] += [
                {"id": f"hook{i:04d}", "name": f"网格群{i}", "kind": "community",
                 "send": {"via": "webhook", "robot": f"fr{i}"}},
                {"id": f"chat{i:04d}", "name": f"应用群{i}", "kind": "unit", "send": {"via": "appchat", "chatid": f"fchat{i:04d}"},
                 "members": [members[i], members[(i + 1) % n]]},
                {"id": f"cust{i:04d}", "name": f"客户群{i}", "kind": "community", "external": True,
                 "send": {"via": "customer_group", "owner": members[i], "chatid": f"wrFault{i:04d}"},
                 "members": [members[i]]}]
        raw["campaigns"] = [{"name": "故障演练", "targets": {"groups": [f"{p}{i:04d}" for p in ("hook", "chat", "cust")
                                                                   for i in range(n)]},
                             "cron": "0 10 * * *", "draw_from": ["venue", "scenario"], "msgtype": "text",
                             "quiet_hours": None}]
        raw["sender"] = {**raw.get("sender", {}), "robot_per_minute": 10 ** 6, "member_per_minute": 10 ** 6,
                         "backoff_base_seconds": 0.2, "backoff_max_seconds": 1, "poll_seconds": 0.2, **sender}
        path = self.folder / "faults.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def members(self) -> list[str]:
        return [f"m{i:04d}" for i in range(self.n)]

    # --- what is queued ------------------------------------------------------------------------------
    def queue_everything(self, service) -> int:
        """One campaign slot to every group (webhook, appchat, customer group) and one message to every
        member one to one (the app), as a warning's fan-out would; returns the rows queued."""
        from bot import campaigns as cp
        campaign = self.config.campaigns[0]
        for i, u in enumerate(self.members()):       # the one-to-one messages first, then the slot
            service.outbox.to_members([u], f"致{u}：请核实预警信息", dedupe_key=f"fault-dm-{u}")
            if i == self.n // 4:
                cp.run_slot(service, campaign, cp.previous_slot(campaign, self.config.timezone, service.clock()))
        with service.sessions() as s:
            return s.scalar(select(func.count()).select_from(OutboxMessage))

    # --- sender processes ----------------------------------------------------------------------------
    def start_worker(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--config", str(self.config_path)],
                                cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def sent_rows(self, service) -> int:
        with service.sessions() as s:
            return s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == "sent"))

    def wait_sent(self, service, n: int, timeout: float = 120.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.sent_rows(service) >= n:
                return True
            time.sleep(0.05)
        return False

    def slow_answers(self, apis: list[str], after_ms: int, count: int = 10 ** 6) -> None:
        """WeCom takes the message and answers after `after_ms`: a sender that gives up first does not
        learn that it worked."""
        for api in apis:
            requests.post(f"{self.sim_url}/sim/faults", json={"api": api, "slow_after_ms": after_ms, "count": count},
                          timeout=5)

    def clear_faults(self) -> None:
        requests.post(f"{self.sim_url}/sim/faults", json={"clear": True}, timeout=5)

    # --- what reached WeCom ----------------------------------------------------------------------------
    def received(self) -> dict[str, Counter]:
        """Per channel: how many times each addressee got its message."""
        msgs = requests.get(f"{self.sim_url}/sim/messages", timeout=60).json()
        out = {c: Counter() for c in CHANNELS}
        for m in msgs:
            chat, frm = m["chat"], m["from"]
            if chat.startswith("hook") and frm.startswith("robot:"):
                out["webhook"][chat] += 1
            elif chat.startswith("chat") and frm == "bot":
                out["appchat"][chat] += 1
            elif chat.startswith("dm:m") and frm == "bot" and "请核实预警信息" in m["text"]:
                out["app"][chat] += 1
        for task in requests.get(f"{self.sim_url}/sim/mass_tasks", timeout=60).json():
            for chat_id in task.get("chat_ids") or []:
                out["customer_group"][chat_id] += 1
        return out

    def tally(self) -> dict[str, dict[str, int]]:
        """Per channel: addressees, sent (reached at least once), duplicates (extra copies), lost."""
        got = self.received()
        out = {}
        for ch in CHANNELS:
            c = got[ch]
            out[ch] = {"addressees": self.n, "reached": len(c), "duplicates": sum(v - 1 for v in c.values()),
                       "lost": self.n - len(c)}
        return out

    def stop(self) -> None:
        for p in self.workers:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.sim.stop()
