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


@pytest.mark.slow
def test_ask_image_prints_the_json_line_of_ask_jsonl_with_what_the_picture_says(tmp_path):
    import json
    from tests import drawing
    picture = tmp_path / "sms.png"
    picture.write_bytes(drawing.sms_screenshot("【中国邮政】您的包裹因地址不详无法派送，请于24小时内点击 "
                                               "https://yz-cn.top/p 更新地址，逾期退回。"))
    r = subprocess.run([sys.executable, "-m", "bot", "ask", "--image", str(picture)], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"intent", "score", "candidates", "evidence", "reply", "ocr_text"} <= set(out)
    assert out["intent"] == "kefu" and "中国邮政" in out["ocr_text"]
    assert "图里写着" in out["reply"] and "yz-cn[.]top/p" in out["reply"]
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    r = subprocess.run([sys.executable, "-m", "bot", "ask", "--image", str(notes)], capture_output=True,
                       text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 1 and json.loads(r.stdout)["refused"] == "not_image"
