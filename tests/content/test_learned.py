"""Learned word weights: features, the examples' validation, the weights file, retraining."""
from __future__ import annotations

import json
import shutil

import pytest

from content import ContentError, Matcher, learned, load_library
from content.cli import cmd_check_content, cmd_train

NEW_PRETEXT = "有人拉俺认养云端果树 说年底分钱"
# what an officer would add after residents met a new pretext: "adopt" trees or animals online
TEACH = [
    "有个平台叫俺认养果树 一棵八百 说每年按收成给分红",
    "朋友圈里说云养牛 认养一头牛五千 每个月返利润",
    "群里拉人认养茶树 交钱后天天看收益 提现要交手续费",
    "认养一只羊年化百分之二十 说比存银行强 靠谱不",
    "说是线上认养橙子树 年底分钱 拉人还有奖励",
    "俺姨在搞认养生猪的项目 投一万 月月分红",
    "认养果园的app突然提不了现 客服说要再交保证金",
    "网上认养土鸡 一只三百 说到期连本带利返",
]


def test_features_are_characters_pairs_and_jieba_words():
    feats = learned.features("先垫付 再返佣", ["先", "垫付", " ", "再", "返佣"])
    assert {"先", "垫", "先垫", "垫付", "再返", "w:垫付", "w:返佣"} <= set(feats)
    assert not any(" " in f for f in feats)          # no pair spans the space between words


def test_a_bad_example_line_is_named_with_file_and_line(tmp_path, capsys):
    (tmp_path / "mine.jsonl").write_text(
        '{"text": "有人叫我刷单", "intent": "shuadan"}\n'
        '{"text": "", "intent": "shuadan"}\n'
        '{"text": "你好", "intent": "shuadna"}\n'
        'not json\n', encoding="utf-8")
    assert cmd_check_content(["--examples", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "mine.jsonl:2: text: missing or empty"
    assert out[1].startswith("mine.jsonl:3: intent: 'shuadna' is not one of")
    assert out[2].startswith("mine.jsonl:4: line: not JSON")
    with pytest.raises(ContentError):
        learned.load_examples(tmp_path)


def test_missing_or_broken_weights_stop_the_library_with_the_reason(tmp_path):
    with pytest.raises(ContentError) as e:
        load_library(weights_path=tmp_path / "weights.json")
    assert e.value.errors == ["weights.json: file: missing (run: python -m bot train)"]
    doc = json.loads(learned.WEIGHTS_PATH.read_text(encoding="utf-8"))
    doc["labels"] = doc["labels"][:-1]
    (tmp_path / "weights.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ContentError) as e:
        load_library(weights_path=tmp_path / "weights.json")
    assert e.value.errors[0].startswith("weights.json: labels: must be exactly the intents and none")


def test_stale_weights_are_reported_by_check_content(tmp_path, capsys):
    shutil.copytree(learned.EXAMPLES_DIR, tmp_path / "ex")
    with open(tmp_path / "ex" / "extra.jsonl", "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "今儿天不错", "intent": "none"}, ensure_ascii=False) + "\n")
    assert cmd_check_content(["--examples", str(tmp_path / "ex")]) == 0
    out = capsys.readouterr().out
    assert "warning: weights.json was trained on other examples" in out and "python -m bot train" in out


@pytest.mark.slow
def test_an_officer_teaches_a_new_pretext_by_adding_examples(tmp_path, capsys):
    lib = load_library()
    assert Matcher(lib).match(NEW_PRETEXT).intent != "touzi"
    shutil.copytree(learned.EXAMPLES_DIR, tmp_path / "ex")
    with open(tmp_path / "ex" / "adoption.jsonl", "w", encoding="utf-8") as fh:
        for text in TEACH:
            fh.write(json.dumps({"text": text, "intent": "touzi"}, ensure_ascii=False) + "\n")
    out = tmp_path / "weights.json"
    assert cmd_train(["--examples", str(tmp_path / "ex"), "--out", str(out)]) == 0
    assert "trained on" in capsys.readouterr().out
    retrained = load_library(weights_path=out)
    r = Matcher(retrained).match(NEW_PRETEXT)
    assert r.intent == "touzi"
    # and what it knew before still holds
    assert Matcher(retrained).match("有人让我先垫付再返佣金靠谱吗").intent == "shuadan"
    assert Matcher(retrained).match("明儿谁去县城 帮我捎瓶酱油").intent == "none"


@pytest.mark.slow
def test_training_refuses_examples_that_miss_an_intent(tmp_path, capsys):
    (tmp_path / "few.jsonl").write_text('{"text": "有人叫我刷单", "intent": "shuadan"}\n', encoding="utf-8")
    assert cmd_train(["--examples", str(tmp_path), "--out", str(tmp_path / "w.json")]) == 1
    assert capsys.readouterr().out.startswith("cannot train: no examples for:")
    assert not (tmp_path / "w.json").exists()


def test_train_help_prints_the_usage_and_trains_nothing(capsys):
    before = learned.WEIGHTS_PATH.stat().st_mtime_ns
    assert cmd_train(["--help"]) == 0
    assert "Usage: train" in capsys.readouterr().out
    assert learned.WEIGHTS_PATH.stat().st_mtime_ns == before


def test_evidence_from_the_weights_is_words_a_resident_recognises(matcher):
    r = matcher.match("俺闺女在抖音上认识个男的 天天叫她宝贝 现在叫她往一个平台充钱")
    assert r.intent == "jiaoyou"
    assert not {"她", "在", "的", "现在", "一个"} & set(r.evidence)
