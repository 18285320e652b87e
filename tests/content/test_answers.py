"""Replies: short enough for a phone, the right hotlines, after_scam steps first."""
from __future__ import annotations

import re

import pytest

from content.answers import MAX_REPLY, advice_for, answer_for, case_for, help_line, visible_len
from content.intents import catalog

INTENTS = catalog().intents

from .examples import EXAMPLES

LONG_FORWARD = {
    intent: items[2][1] + " 详情点击 http://a-very-long-suspicious-domain-name.top/path?x=1 联系 13800001111"
    for intent, items in EXAMPLES.items()
}


@pytest.mark.parametrize("intent", INTENTS)
@pytest.mark.parametrize("markdown", [False, True])
def test_reply_fits_a_phone_screen_and_names_the_hotlines(matcher, lib, intent, markdown):
    for text in [t for _, t in EXAMPLES[intent]] + [LONG_FORWARD[intent]]:
        r = matcher.match(text)
        assert r.intent == intent
        reply = answer_for(r, lib, markdown=markdown)
        assert 0 < visible_len(reply) <= MAX_REPLY, (visible_len(reply), reply)
        assert "96110" in reply and re.search(r"(?<!96)110", reply), reply
        assert "中国反诈中心" not in reply
        assert not re.search(r"96110[^。；，\n]{0,6}报警", reply), reply


def test_plain_replies_have_no_markdown_and_markdown_replies_do(matcher, lib):
    r = matcher.match(EXAMPLES["kefu"][2][1])
    plain = answer_for(r, lib)
    md = answer_for(r, lib, markdown=True)
    assert "**" not in plain and "<font" not in plain
    assert "**" in md and '<font color="warning">' in md and "\n> " in md


def test_fraud_reply_names_the_type_and_red_flags(matcher, lib):
    r = matcher.match(EXAMPLES["touzi"][0][1])
    reply = answer_for(r, lib)
    assert lib.scenarios["touzi"].name in reply
    assert "识别" in reply and "现在" in reply


def test_forwarded_message_says_likely_fraud_with_evidence(matcher, lib):
    r = matcher.match("【物流通知】您的快递在运输途中丢失 请点击 kd-lp.top 办理双倍理赔")
    reply = answer_for(r, lib)
    assert reply.startswith("这很可能是冒充电商物流客服诈骗")
    # the evidence quotes the link, written so that a chat app does not make it tappable
    assert "kd-lp[.]top" in reply and "kd-lp.top" not in reply and "发现" in reply


@pytest.mark.parametrize("markdown", [False, True])
def test_after_scam_reply_leads_with_the_four_steps_in_order(matcher, lib, markdown):
    reply = answer_for(matcher.match("被骗了五千 现在该怎么办"), lib, markdown=markdown)
    positions = [reply.find(w) for w in ("停止", "屏幕共享", "110", "紧急止付", "银行", "证据")]
    assert all(p >= 0 for p in positions), reply
    assert positions[0] < positions[2] < positions[4] < positions[5]
    # the steps come before anything else the reply says
    first_line_after_title = reply.splitlines()[1]
    assert "停止" in first_line_after_title or "先做" in first_line_after_title
    assert "96110是咨询专线" in reply


def test_none_gets_no_answer_and_help_line_is_one_line(matcher, lib):
    assert answer_for(matcher.match("晚上一起打牌不"), lib) == ""
    line = help_line(lib)
    assert "\n" not in line and "刷单" in line and "96110" in line and "110报警" in line


def test_clarify_asks_a_question(lib):
    from content.matcher import Match
    r = Match("jiaoyou", 0.5, [("jiaoyou", 0.5), ("luoliao", 0.45)], ["网恋", "裸聊"], ("jiaoyou", "luoliao"))
    reply = answer_for(r, lib)
    # the verdict first (issue 11: "不确定，先别转钱"), then the question
    assert reply.startswith("不确定，先别转钱。您说的是「") and "还是「" in reply and "？" in reply
    assert "96110" in reply


@pytest.mark.parametrize("intent", INTENTS)
def test_case_and_advice_follow_ups(lib, intent):
    case = case_for(intent, lib)
    advice = advice_for(intent, lib)
    sc = lib.scenarios[intent]
    assert sc.case in case and "示例" in case
    assert all(a in advice for a in sc.advice)
    assert re.search(r"(?<!96)110", advice)
    if intent == "after_scam":
        steps = [advice.find(s) for s in sc.first_steps]
        assert steps == sorted(steps) and steps[0] < advice.find(sc.advice[0])
    assert case_for("none", lib) == "" and advice_for("nonsense", lib) == ""

