"""One source for the fraud types: the scenario files. A new type is its file (plus examples and a
retrain): every list and name in the service follows from it."""
from __future__ import annotations

import pytest
import yaml

from content import ContentError, load_library
from content.answers import help_line
from content.intents import catalog

NEW = {"kind": "fraud", "case_name": "虚假票务", "case_words": ["票务", "抢票"],
       "name": "虚假票务诈骗", "short": "虚假票务"}


def add_type(folder):
    """A copy of an existing scenario as a new fraud type 'piaowu' (ticket scams)."""
    data = yaml.safe_load((folder / "gouwu.yaml").read_text(encoding="utf-8"))
    data.update(NEW)
    (folder / "piaowu.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_new_scenario_file_is_a_new_fraud_type_everywhere(scenario_copy, config):
    add_type(scenario_copy)
    cat = catalog(scenario_copy)
    assert "piaowu" in cat.fraud and "piaowu" not in cat.service and cat.labels[-1] == "none"
    assert cat.case_type("演唱会抢票诈骗") == "piaowu"             # a case file's type column
    assert cat.case_name("piaowu") == "虚假票务"
    cfg = config.model_copy(update={
        "qa": config.qa.model_copy(update={"content_dir": str(scenario_copy)}),
        "priorities": config.priorities.model_copy(update={"weights": {"piaowu": 2}})})
    assert cfg.content_errors() == []                              # a weight for it is accepted
    lib = load_library(scenario_copy, with_weights=False)
    assert "虚假票务" in help_line(lib)                              # residents are told they may ask


def test_weights_trained_without_the_new_type_are_refused_until_retrained(scenario_copy):
    add_type(scenario_copy)
    with pytest.raises(ContentError) as e:
        load_library(scenario_copy)
    assert any("labels: must be exactly the intents and none (run: python -m bot train)" in err
               for err in e.value.errors)


def test_config_naming_an_unknown_fraud_type_is_refused_with_the_key(config):
    cfg = config.model_copy(update={
        "priorities": config.priorities.model_copy(update={"weights": {"shuadan": 2, "piaowu": 1}}),
        "cases": config.cases.model_copy(update={"type_aliases": {"电诈": "xxx"}})})
    errors = cfg.content_errors()
    assert any(e.startswith("priorities.weights.piaowu: unknown fraud type") for e in errors)
    assert any(e.startswith("cases.type_aliases.电诈: 'xxx' is not a fraud type") for e in errors)


def test_case_words_prefer_the_longer_word():
    cat = catalog()
    assert cat.case_type("注销校园贷款") == "zhengxin"               # 校园贷 over 贷款
    assert cat.case_type("网络贷款") == "daikuan"
    assert cat.case_type("虚假投资理财") == "touzi" and cat.case_type("天气") is None


def test_a_scenario_without_a_kind_or_case_name_is_refused_naming_the_field(scenario_copy):
    data = yaml.safe_load((scenario_copy / "youxi.yaml").read_text(encoding="utf-8"))
    data.pop("case_name")
    (scenario_copy / "youxi.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    data.pop("kind")
    (scenario_copy / "extra.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as e:
        catalog(scenario_copy)
    assert any(err.startswith("youxi.yaml: case_name:") for err in e.value.errors)
    assert any(err.startswith("extra.yaml: kind:") for err in e.value.errors)
