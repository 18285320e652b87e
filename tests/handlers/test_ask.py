"""Resident Q&A through the simulator: answers, follow-ups, help for chatter, the group rate limit."""

from tests.conftest import wait_for


def ask(stack, chat, user, text, expect_total):
    """Say something and wait until the bot has said `expect_total` things in that chat."""
    stack.say(chat, user, text)
    got = wait_for(lambda: (lambda b: b if len(b) >= expect_total else None)(stack.bot_messages(chat)), timeout=5)
    assert got, f"no answer to {text!r}"
    return got[-1]


def test_fraud_question_in_a_village_group_is_named_with_hotlines(stack):
    r = ask(stack, "dongguan_grid", "res_liu", "有人叫俺在家做任务 先垫付几百块再返佣金 中不中", 1)
    assert "刷单" in r["text"] and "96110" in r["text"] and "110" in r["text"]
    assert r["msgtype"] == "markdown"          # WeCom members read the bot's markdown
    assert len(r["text"]) <= 360


def test_forwarded_sms_gets_likely_fraud_with_evidence(stack):
    r = ask(stack, "dongguan_grid", "res_zhao",
            "【快递服务】您的包裹丢失，加客服微信办理双倍理赔，点 t.cn/A6abc 登记", 1)
    assert "这很可能是" in r["text"] and "客服" in r["text"]


def test_follow_ups_give_case_and_advice_for_the_last_answer(stack):
    ask(stack, "dongguan_grid", "res_liu", "网上说无抵押低息贷款 放款前要先交保证金 靠谱吗", 1)
    case = ask(stack, "dongguan_grid", "res_sun", "案例", 2)
    assert "贷款" in case["text"] and "案例" in case["text"]
    advice = ask(stack, "dongguan_grid", "res_sun", "怎么办", 3)
    assert "贷款" in advice["text"] and "1." in advice["text"]


def test_follow_up_without_an_answer_before_is_not_a_guess(stack):
    r = ask(stack, "dongguan_grid", "res_liu", "案例", 1)
    assert "可以问我" in r["text"]


def test_chatter_gets_the_help_line_not_a_fraud_type(stack):
    r = ask(stack, "dongguan_grid", "res_zhao", "今天去银行存钱人可多了 排了半天队", 1)
    assert r["text"].startswith("可以问我") and "诈骗" not in r["text"].split("：")[0]


def test_past_the_answers_a_minute_a_question_waits_its_turn_and_the_bot_says_so_once(stack):
    from sqlalchemy import select
    from bot.models import OutboxMessage
    for q in ["刷单返利是真的吗", "网上贷款要先交钱咋回事", "冒充客服退款咋认", "裸聊被敲诈咋办", "有人让我买游戏点卡"]:
        stack.say("dongguan_grid", "res_sun", q)
        stack.settle()                      # one at a time: the limit counts them in order
    said = [m["text"] for m in stack.bot_messages("dongguan_grid")]
    assert len(said) == 4 and said[3].startswith("收到。您一分钟内问得较多") and "110" in said[3]
    with stack.service.sessions() as s:
        waiting = list(s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("later:%"))))
    # the 4th and 5th answers wait until the 1st and 2nd leave the minute; nothing is dropped
    assert len(waiting) == 2 and all(r.state == "pending" for r in waiting)
    assert "裸聊" in waiting[0].payload["text"] and "游戏" in waiting[1].payload["text"]
    assert all(50 < (r.next_attempt_at - r.created_at).total_seconds() <= 60 for r in waiting)
    # the follow-up the bot invited is answered at once, past the limit or not
    ask(stack, "dongguan_grid", "res_sun", "怎么办", 5)
    # another member is answered at once
    ask(stack, "dongguan_grid", "res_liu", "有人让我买游戏装备私下转账", 6)


def test_one_to_one_has_no_rate_limit_and_gets_plain_text(stack):
    for i in range(5):
        ask(stack, "dm:res_zhao", "res_zhao", f"有人让我刷单返利第{i}次 先垫钱", i + 1)
    replies = stack.bot_messages("dm:res_zhao")
    assert len(replies) == 5
    assert all("**" not in r["text"] and "<font" not in r["text"] for r in replies)


def test_after_scam_leads_with_stopping_payment_and_110(stack):
    r = ask(stack, "dm:res_liu", "res_liu", "俺刚才给骗子转了两万 钱没了 咋办", 1)
    first = r["text"].split("\n")
    body = "\n".join(first)
    assert body.index("停止") < body.index("110") and "紧急止付" in body
