"""The command line as an operator meets it: a broken content file stops start-up with its name."""
import pytest
import shutil
import subprocess
import sys

import yaml

from content.library import DEFAULT_DIR
from tests.conftest import ROOT


pytestmark = pytest.mark.slow   # each test runs the bot in a subprocess


def test_serve_refuses_a_broken_content_file(tmp_path):
    scenarios = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_DIR, scenarios)
    data = yaml.safe_load((scenarios / "shuadan.yaml").read_text(encoding="utf-8"))
    data["red_flags"] = ["只有一条"]
    (scenarios / "shuadan.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["qa"] = {"content_dir": str(scenarios)}
    raw["database"] = {"url": f"sqlite:///{tmp_path / 'x.db'}"}
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "bot", "serve", "--config", str(cfg), "--port", "9"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 1
    assert "shuadan.yaml: red_flags:" in r.stderr and "Traceback" not in r.stderr


def test_ask_jsonl_answers_one_json_line_per_message():
    r = subprocess.run([sys.executable, "-m", "bot", "ask", "--jsonl"], input='先垫付再返佣金\n{"text": "今天吃啥"}\n',
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    import json
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["intent"] for x in lines] == ["shuadan", "none"]
    assert "96110" in lines[0]["reply"] and lines[1]["reply"] == ""
