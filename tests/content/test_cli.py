from __future__ import annotations

import io
import json

from content.cli import cmd_ask, cmd_check_content, cmd_eval


def test_check_content_ok(capsys):
    assert cmd_check_content([]) == 0
    assert capsys.readouterr().out.strip() == "ok"


def test_check_content_prints_every_error(capsys, scenario_copy):
    (scenario_copy / "app.yaml").unlink()
    (scenario_copy / "shuadan.yaml").write_text("name: [\n", encoding="utf-8")
    assert cmd_check_content(["--content", str(scenario_copy)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("app.yaml: file: missing") for line in out)
    assert any(line.startswith("shuadan.yaml: file: YAML syntax error") for line in out)


def test_ask_prints_reply_and_decision(capsys):
    assert cmd_ask(["有人叫我刷单", "先垫付三千"]) == 0
    out = capsys.readouterr().out
    assert "刷单返利诈骗" in out and "intent=shuadan" in out


def test_ask_jsonl_reads_plain_and_json_lines(capsys, monkeypatch):
    lines = "\n".join([
        json.dumps({"text": "网贷放款前要交解冻费"}, ensure_ascii=False),
        "明儿谁去县城 帮我捎瓶酱油",
        "",
        "{not json but text",
    ]) + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert cmd_ask(["--jsonl"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    assert rows[0]["intent"] == "daikuan" and rows[0]["reply"] and rows[0]["evidence"]
    assert rows[1]["intent"] == "none" and rows[1]["reply"] == ""
    for row in rows:
        assert set(row) >= {"intent", "score", "candidates", "evidence", "reply"}
        assert all(isinstance(c, list) and len(c) == 2 for c in row["candidates"])


def test_eval_prints_accuracy_none_figures_and_confusion(capsys, tmp_path):
    f = tmp_path / "mini.jsonl"
    f.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"text": "有人叫我刷单先垫付", "intent": "shuadan"},
        {"text": "晚上一起打牌不", "intent": "none"},
        {"text": "晚上一起吃饭不", "intent": "shuadan"},  # deliberately wrong gold label
    ]) + "\n", encoding="utf-8")
    assert cmd_eval([str(f), "--errors"]) == 0
    out = capsys.readouterr().out
    assert "accuracy 0.667 (2/3)" in out
    assert "none precision 0.500  none recall 1.000  fraud answered none 0.500" in out
    assert "confusion" in out and "shuadan -> none: 晚上一起吃饭不" in out


def test_eval_rejects_a_bad_file(capsys, tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"text": "no intent"}\n', encoding="utf-8")
    assert cmd_eval([str(f)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().out
