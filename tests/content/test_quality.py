"""The quality bar of issue 3 on the shared dev set, and regression on our own message sets."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from content.cli import evaluate

DEV = Path(__file__).resolve().parents[3] / "shared/data/dev_questions.jsonl"
OWN = Path(__file__).resolve().parent / "data"


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_bar(res):
    assert res["accuracy"] >= 0.92, res["errors"]
    assert res["none_recall"] >= 0.95, res["errors"]          # none items answered none
    assert res["fraud_to_none"] <= 0.05, res["errors"]        # fraud items answered none


def test_dev_set_quality_bar(matcher):
    if not DEV.exists():
        pytest.skip(f"dev set not found at {DEV} (it lives in ../shared next to the repo)")
    _check_bar(evaluate(matcher, _rows(DEV)))


def test_dev_set_both_halves(matcher):
    """Each half on its own (odd/even lines): the bar must not rest on a few lucky items."""
    if not DEV.exists():
        pytest.skip(f"dev set not found at {DEV}")
    rows = _rows(DEV)
    for half in (rows[0::2], rows[1::2]):
        _check_bar(evaluate(matcher, half))


@pytest.mark.parametrize("name", ["own_messages.jsonl", "blind_messages.jsonl", "blind2_messages.jsonl",
                                  "probe3_messages.jsonl", "probe4_messages.jsonl", "probe5_messages.jsonl",
                                  "probe6_messages.jsonl"])
def test_own_message_sets(matcher, name):
    # written for this project (not dev paraphrases); first measured blind, then used for tuning
    _check_bar(evaluate(matcher, _rows(OWN / name)))
