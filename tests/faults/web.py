"""The bot's web process (`python -m bot serve`) on one database beside the WeCom simulator, started in a
subprocess so that a test can kill it with SIGKILL mid-work and start it again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
import yaml
from sqlalchemy import func, select

from bot.config import load_config
from bot.db import make_engine, session_factory
from bot.netutil import ServerThread, free_port
from bot.simulator import create_simulator
from tests.conftest import ROOT, wait_for


class WebWorld:
    def __init__(self, db_url: str, folder: Path, sim_settings: dict | None = None):
        raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        raw["wecom"]["handling_lease_seconds"] = 3
        # the dead process's sender leaves claims behind too: short ones, so the restarted one sends soon
        raw["sender"].update(claim_seconds=4, http_timeout_seconds=2)
        self.config_path = Path(folder) / "c.yaml"
        self.config_path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        sim_port, self.port = free_port(), free_port()
        self.sim_url, self.bot_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=db_url, WECOM_API_BASE=self.sim_url, MP_API_BASE=self.sim_url,
                        LOG_LEVEL="WARNING")
        config = load_config(self.config_path, env=self.env)
        self.sim = ServerThread(create_simulator(config, bot_url=self.bot_url, public_url=self.sim_url),
                                port=sim_port).start()
        requests.post(f"{self.sim_url}/sim/limits", json={"enabled": False}, timeout=5)
        if sim_settings:
            requests.post(f"{self.sim_url}/sim/settings", json=sim_settings, timeout=5)
        self.engine = make_engine(db_url)
        self.sessions = session_factory(self.engine)
        self.processes: list[subprocess.Popen] = []

    def serve(self) -> subprocess.Popen:
        """Start the web process and wait until it answers."""
        proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(self.config_path), "--port",
                                 str(self.port)], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.processes.append(proc)
        assert wait_for(self.up, timeout=30, interval=0.1), "the bot did not start"
        return proc

    def production(self, workers: int = 2) -> subprocess.Popen:
        """The README's production shape: gunicorn's sync workers for the web, `python -m bot worker` for the
        outbox and the scheduler. Returns gunicorn's master."""
        env = dict(self.env, FANZHA_CONFIG=str(self.config_path))
        master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "sync", "-w", str(workers), "-b",
                                   f"127.0.0.1:{self.port}", "--log-level", "warning", "bot.wsgi:app"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        worker = subprocess.Popen([sys.executable, "-m", "bot", "worker", "--config", str(self.config_path)],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.processes += [master, worker]
        assert wait_for(self.up, timeout=30, interval=0.1), "gunicorn did not start"
        return master

    @staticmethod
    def web_workers(master: subprocess.Popen) -> list[int]:
        """The pids of gunicorn's workers under its master."""
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        return [int(c) for c in children]

    def up(self) -> bool:
        try:
            return requests.get(f"{self.bot_url}/healthz", timeout=1).ok
        except requests.RequestException:  # refused, or accepted by gunicorn before a worker is ready
            return False

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def count(self, model, *where) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where))

    def say(self, **body) -> dict:
        r = requests.post(f"{self.sim_url}/sim/say", json=body, timeout=5)
        assert r.ok, r.text
        return r.json()

    def messages(self, chat: str) -> list[dict]:
        return requests.get(f"{self.sim_url}/sim/messages", params={"chat": chat}, timeout=5).json()

    def stop(self) -> None:
        for proc in self.processes:  # gunicorn's master stops its workers on SIGTERM; SIGKILL would orphan them
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill(proc)
        self.sim.stop()
        self.engine.dispose()
