"""Loader and validator: every problem is reported as 'file: field: reason'."""
from __future__ import annotations

import re

import pytest
import yaml

from content import ContentError, load_library
from content.intents import catalog

FRAUD_INTENTS, INTENTS = catalog().fraud, catalog().intents

from .conftest import SHARED


def _edit(path, **changes):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _errors(directory):
    with pytest.raises(ContentError) as exc:
        load_library(directory)
    return exc.value.errors


def test_library_loads_every_intent(lib):
    assert set(lib.scenarios) == set(INTENTS)
    for sc in lib.scenarios.values():
        assert sc.name and sc.summary and sc.case and sc.now
        assert 3 <= len(sc.red_flags) <= 5
        assert len(sc.keywords) >= 8


def test_intents_agree_with_shared_intent_list():
    path = SHARED / "data" / "intents.yaml"
    if not path.exists():
        pytest.skip(f"{path} not present (shared data lives next to the repo)")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data["fraud_scenarios"]) == set(FRAUD_INTENTS)
    assert set(data["service_intents"]) == set(INTENTS) - set(FRAUD_INTENTS) | {"none"}


def test_red_flag_count_names_file_and_field(scenario_copy):
    _edit(scenario_copy / "shuadan.yaml", red_flags=["只有一条", "两条"])
    errors = _errors(scenario_copy)
    assert any(e.startswith("shuadan.yaml: red_flags: needs 3 to 5 items") for e in errors), errors


def test_bad_regex_and_weight_are_reported(scenario_copy):
    _edit(scenario_copy / "kefu.yaml", patterns=[{"re": "(未闭合", "weight": 1, "label": "x"}])
    _edit(scenario_copy / "touzi.yaml", keywords={"荐股": 9, **{f"词{i}": 1 for i in range(8)}})
    errors = _errors(scenario_copy)
    assert any(e.startswith("kefu.yaml: patterns: item 1 regex does not compile") for e in errors), errors
    assert any(e.startswith("touzi.yaml: keywords: '荐股'") and "out of range" in e for e in errors), errors


@pytest.mark.parametrize("bad_text, reason", [
    ("遇到诈骗请拨打96110报警。", "96110"),
    ("下载中国反诈中心APP。", "国家反诈中心"),
    ("可拨打165反诈专线。", "165"),
    ("连续输错三次密码就能冻结骗子账户。", "紧急止付"),
])
def test_wrong_facts_are_rejected(scenario_copy, bad_text, reason):
    data = yaml.safe_load((scenario_copy / "daikuan.yaml").read_text(encoding="utf-8"))
    _edit(scenario_copy / "daikuan.yaml", advice=data["advice"] + [bad_text])
    errors = _errors(scenario_copy)
    hits = [e for e in errors if e.startswith("daikuan.yaml: advice: wrong fact")]
    assert hits and reason in hits[0], errors


def test_after_scam_must_lead_with_the_four_steps(scenario_copy):
    data = yaml.safe_load((scenario_copy / "after_scam.yaml").read_text(encoding="utf-8"))
    steps = data["first_steps"]
    _edit(scenario_copy / "after_scam.yaml", first_steps=[steps[1], steps[0], steps[2], steps[3]])
    errors = _errors(scenario_copy)
    assert any(e.startswith("after_scam.yaml: first_steps: step 1") for e in errors), errors
    assert any(e.startswith("after_scam.yaml: first_steps: step 2") for e in errors), errors


def test_missing_unknown_and_broken_files(scenario_copy):
    (scenario_copy / "app.yaml").unlink()
    (scenario_copy / "weather.yaml").write_text("name: 天气\n", encoding="utf-8")
    (scenario_copy / "youxi.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    errors = _errors(scenario_copy)
    assert any(e.startswith("app.yaml: file: missing") for e in errors), errors
    # a new file is a new intent once it says its kind; without one it is refused
    assert any(e.startswith("weather.yaml: kind: must be one of fraud, service") for e in errors), errors
    assert any(e.startswith("youxi.yaml: file: YAML syntax error") for e in errors), errors


def test_unknown_field_and_missing_field(scenario_copy):
    _edit(scenario_copy / "laoshi.yaml", red_flag=["拼错的字段"], case=None)
    errors = _errors(scenario_copy)
    assert "laoshi.yaml: red_flag: unknown field" in errors
    assert "laoshi.yaml: case: missing" in errors


def test_keyword_must_be_normalised(scenario_copy):
    data = yaml.safe_load((scenario_copy / "gouwu.yaml").read_text(encoding="utf-8"))
    _edit(scenario_copy / "gouwu.yaml", keywords={**data["keywords"], "微商賣貨": 1, "ABC": 1})
    errors = _errors(scenario_copy)
    assert any("gouwu.yaml: keywords: '微商賣貨' is not in normalised form (write '微商卖货')" == e for e in errors), errors
    assert any("'ABC' is not in normalised form" in e for e in errors), errors


def test_every_error_line_has_file_field_reason(scenario_copy):
    _edit(scenario_copy / "butie.yaml", red_flags="不是列表", keywords=[1, 2])
    for line in _errors(scenario_copy):
        assert re.match(r"^[\w.]+\.yaml: \w+: .+", line), line


def test_no_text_in_the_library_states_a_wrong_fact(lib):
    # the validator already ran on load; this checks the texts a resident reads end up right
    for sc in lib.scenarios.values():
        texts = [sc.name, sc.summary, sc.now, sc.case, *sc.how, *sc.red_flags, *sc.advice, *sc.first_steps]
        joined = "\n".join(texts)
        assert "中国反诈中心" not in joined
        assert not re.search(r"96110[^。；，\n]{0,6}报警", joined), sc.id
