"""Issue 11: content that must be right when it matters most. Each test asserts what a resident
sees in the reply."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from content import Matcher, learned
from content.answers import MAX_REPLY, advice_for, answer_for, case_for, visible_len
from content.intents import catalog
from content.library import ContentError, check_facts, load_library
from content.matcher import Match

_MARKUP = re.compile(r"\*\*|<font[^>]*>|</font>|^> ", re.M)


def reply(matcher, lib, text, markdown=False):
    r = matcher.match(text)
    out = answer_for(r, lib, markdown=markdown)
    assert 0 < visible_len(out) <= MAX_REPLY, (r, out)
    return r, _MARKUP.sub("", out)


# 1. a "96110" with 00 or + in front: hang up, call 96110 or 110 yourself
@pytest.mark.parametrize("text", ["号码前面是0096110，要接吗", "+96110打来的电话，要接吗",
                                  "来电显示00 96110，说我涉嫌洗钱，是真的反诈中心吗"])
def test_a_96110_call_with_00_or_plus_in_front_is_hung_up(matcher, lib, text):
    _, out = reply(matcher, lib, text)
    assert "冒充" in out and "挂断" in out and "自己拨打96110或110" in out, out
    assert "要接听" not in out.split("。")[0]


def test_a_plain_96110_call_is_still_to_be_answered(matcher, lib):
    _, out = reply(matcher, lib, "96110是啥电话，要接吗")
    assert "本地区号+96110" in out and "要接听" in out and "报警请打110" in out


def test_the_official_account_footer_no_longer_vouches_for_every_96110_call():
    from handlers.wechat import FOOTER, welcome_text
    assert "96110打来的电话是真的" not in FOOTER
    assert "本地区号+96110" in FOOTER and "00或+" in FOOTER and "挂断" in FOOTER
    assert FOOTER in welcome_text()


# 2. a 12381 SMS or a 96110 call reached someone: a live warning, not the APP install text
@pytest.mark.parametrize("text", ["我妈刚收到12381的短信 咋回事", "96110刚给我爸打电话了",
                                  "俺婆婆接到96110的电话了，问她最近是不是在网上投资"])
def test_a_live_96110_or_12381_warning_says_stop_transfers_now(matcher, lib, text):
    r, out = reply(matcher, lib, text)
    assert r.intent == "app"
    assert "停止一切转账" in out and "回拨96110" in out and "告诉家里人" in out, out
    assert "应用商店" not in out  # not the install text


def test_a_pasted_12381_notice_is_not_a_live_warning(matcher):
    r = matcher.match("【12381】涉诈预警劝阻短信：您近期可能接到诈骗电话，请提高警惕，切勿转账汇款。")
    assert r.situation is None


# 3. cash or gold handed to a courier or a "staff member" at the door
@pytest.mark.parametrize("text", ["公安局的人让我取20万现金买金条交给上门工作人员",
                                  "说俺涉嫌洗钱，让俺把存款取出来装在袋子里，一会儿有专人来家里取",
                                  "对方让我把取的钱寄给快递，说是法院要保管核查"])
def test_cash_or_gold_for_someone_at_the_door_is_a_scam_call_110(matcher, lib, text):
    r, out = reply(matcher, lib, text)
    assert r.intent == "gongjianfa"
    assert out.startswith("这是骗局。") and "上门" in out and "马上打110" in out, out


def test_the_police_impersonation_scenario_names_cash_and_gold_at_the_door(lib):
    sc = lib.scenarios["gongjianfa"]
    assert any("金条" in f and "上门" in f for f in sc.red_flags)
    assert any("金条" in a and "110" in a for a in sc.advice)


def test_a_harmless_courier_pickup_is_no_cash_situation(matcher):
    r = matcher.match("淘宝买的鞋不合适 在app里申请退货了 快递员明天上门取件")
    assert r.intent == "none" and r.situation is None


# 4. screen sharing: the answer starts with "马上挂断，别开共享"
@pytest.mark.parametrize("markdown", [False, True])
@pytest.mark.parametrize("text", ["对方让我下载腾讯会议 共享屏幕",
                                  "客服说要给我退款，让我下个会议软件开屏幕共享",
                                  "自称警察的让我加入会议，把共享屏幕打开配合调查",
                                  "贷款平台让我开共享，说指导我操作提现"])
def test_screen_sharing_answer_starts_with_hang_up(matcher, lib, text, markdown):
    r, out = reply(matcher, lib, text, markdown)
    assert out.startswith("马上挂断，别开共享"), out
    assert "结束共享" in out and re.search(r"(?<!96)110", out)


def test_screen_sharing_asked_by_a_fake_customer_service_also_names_the_type(matcher, lib):
    r, out = reply(matcher, lib, "快递客服说我的包裹丢了要理赔，让我开屏幕共享")
    assert r.intent == "kefu" and "冒充电商物流客服" in out.splitlines()[1]


def test_money_already_gone_after_screen_sharing_gets_the_after_scam_steps(matcher, lib):
    r, out = reply(matcher, lib, "骗子让我开了屏幕共享 我卡里的钱被转走了 现在咋办")
    assert r.intent == "after_scam" and "紧急止付" in out


# 5. the wrong-password myth
@pytest.mark.parametrize("text", ["输错三次密码能冻结骗子的卡吗", "我故意把骗子那张卡的密码输错几次，能把他的卡锁住不"])
def test_wrong_passwords_do_not_freeze_the_fraudsters_card(matcher, lib, text):
    r, out = reply(matcher, lib, text)
    assert out.startswith("不能。") and "110" in out and "紧急止付" in out, out


# 6. only offered money for a bank card: don't agree, report it to 110
def test_an_offer_for_a_bank_card_is_refused_and_reported(matcher, lib):
    r, out = reply(matcher, lib, "有人出钱要买我的银行卡 给两千")
    assert r.intent == "liangka"
    now = next(line for line in out.splitlines() if line.startswith("现在："))
    assert now.startswith("现在：别答应") and "110举报" in now
    first = now.split("。")[0] + now.split("。")[1]
    assert "挂失" not in first and "派出所" not in first  # the steps for cards already given come after


# suspect and ask: none nearly won, one fraud type is clearly ahead of the others
def _weights_close_to_none(lib, intent: str):
    labels = list(lib.weights.labels)
    table = {"那个": [(labels.index("none"), 3.0), (labels.index(intent), 2.8)]}
    return replace(lib, weights=learned.Weights(labels, [0.0] * len(labels), table))


def test_a_fraud_type_close_to_none_is_named_as_a_suspicion(lib):
    m = Matcher(_weights_close_to_none(lib, "lingdao"))
    r = m.match("那个人让我转账")           # a fraud cue (转账)
    assert r.intent == "lingdao" and r.suspect
    assert m.match("那个人挺好").intent == "none"    # no cue, no pasted text: none stays


def test_the_suspect_reply_names_the_type_asks_once_and_says_do_not_pay(lib):
    r = Match("lingdao", 0.4, [("lingdao", 0.4)], [], None, text="表哥换号借钱", suspect=True)
    out = answer_for(r, lib)
    sc = lib.scenarios["lingdao"]
    assert out.startswith("不确定，先别转钱。") and f"「{sc.short}」" in out and sc.ask in out
    assert out.count("？") == 1
    assert "96110" in out and re.search(r"(?<!96)110", out)
    assert "新号" in out  # the red flag that matches what the resident wrote


@pytest.mark.parametrize("intent", catalog().fraud)
def test_every_fraud_type_has_one_question_to_ask(lib, intent):
    ask = lib.scenarios[intent].ask
    assert ask.endswith("？") and ask.count("？") == 1


# the loader checks situations like every other text
def test_a_situation_with_a_wrong_fact_or_a_bad_regex_is_refused(scenario_copy):
    import yaml
    path = scenario_copy / "kefu.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["situations"] = [{"id": "x", "when": "(", "say": "打96110报警"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_library(scenario_copy, with_weights=False)
    errors = "\n".join(exc.value.errors)
    assert "kefu.yaml: situations: item 1 regex does not compile" in errors
    assert "kefu.yaml: situations: wrong fact" in errors


def test_screen_sharing_nobody_asked_for_is_no_situation(matcher):
    for text in ["我在公司用腾讯会议开周会，共享屏幕给大家看报表", "孩子网课要用会议软件，老师发了会议号"]:
        r = matcher.match(text)
        assert r.situation is None and r.intent == "none", (text, r)


# issue 11, item 11: missing scams, each where it belongs
@pytest.mark.parametrize("text, intent", [
    ("有人打电话说是孩子班主任 说孩子在学校摔断了腿 要我先转五千手术费", "laoshi"),
    ("收到短信说我有违章罚款没交 逾期吊销驾照 让点链接缴费", "gongjianfa"),
    ("有个当兵的来店里说部队采购 要订一百箱方便面 让我先垫钱从他说的厂家进货", "gouwu"),
    ("有人说能帮俺娘代办养老保险 交三万代办费 以后每月多领一千", "yanglao"),
    ("群里说民族资产解冻 每个老人能领一百万 先交三百登记费", "yanglao"),
    ("朋友拉我玩球赛竞猜 说有内部消息稳赢", "touzi"),
    ("有人介绍俺侄子去缅北上班 说一个月挣三万 机票都给买好了", "liangka"),
    ("网上约了个上门按摩 交了三百定金 又说要交保证金才派技师", "gouwu"),
])
def test_missing_scams_are_named(matcher, lib, text, intent):
    r, out = reply(matcher, lib, text)
    assert r.intent == intent, r
    assert lib.scenarios[intent].name in out


def test_the_hurt_child_call_has_its_own_red_flag_and_advice(matcher, lib):
    r, out = reply(matcher, lib, "电话里说是孩子的班主任，孩子在学校受伤了，要先交手术费")
    assert "手术费" in out  # the red flag that matches this story is shown, not the group-fee ones


# 9. the 帮信罪 penalty, exact, with the crime in plain words ("怎么办" after a 两卡 answer)
def test_the_card_renting_advice_quotes_the_bangxin_penalty_and_says_what_it_is(matcher, lib):
    r, _ = reply(matcher, lib, "有人出钱要租我的银行卡 这算帮信罪不 会判几年")
    assert r.intent == "liangka"
    out = advice_for("liangka", lib)
    line = next(ln for ln in out.splitlines() if "帮信罪" in ln)
    assert "三年以下有期徒刑或者拘役，并处或者单处罚金" in line and "明知" in line, line


# 10. 退税 through every official channel; a 医保 robocall is hung up first
def test_the_tax_refund_advice_names_every_official_channel(lib):
    out = advice_for("butie", lib)
    line = next(ln for ln in out.splitlines()[1:] if "退税" in ln)
    for channel in ("个人所得税APP", "自然人电子税务局网站", "办税服务厅", "12366"):
        assert channel in line, channel


@pytest.mark.parametrize("text, intent", [
    ("接到个电话 说我医保卡异常要冻结 让按9转人工", "butie"),
    ("语音电话说您的医保卡即将停用，请按9咨询", "butie"),
    ("社保中心打电话说我社保卡在外地被人用了 要冻结", "butie"),
    ("医保局来电话说我医保卡被冻结了，转接到公安说我涉嫌洗钱", "gongjianfa"),
])
def test_a_medical_insurance_robocall_is_hung_up_first(matcher, lib, text, intent):
    r, out = reply(matcher, lib, text)
    assert r.intent == intent
    assert out.startswith("马上挂断") and "医保部门不会打电话冻结医保卡" in out, out
    assert "挂断" in advice_for("butie", lib).split("医保部门不会")[0]


def test_a_notice_about_the_robocall_is_no_situation(matcher):
    r = matcher.match("社区提醒：冒充医保局打电话说医保卡冻结的都是诈骗，请勿轻信")
    assert r.situation is None and r.intent == "none"


@pytest.mark.parametrize("text", ["自称银保监会的工作人员说我的账户是高风险 要我配合注销",
                                  "银保监会打电话说我大学时开的校园贷没注销 影响征信",
                                  "有人出钱要租我的银行卡 这算帮信罪不", "收到短信说有退税待领取 点链接填卡号",
                                  "接到个电话 说我医保卡异常要冻结 让按9转人工"])
def test_replies_and_their_follow_ups_pass_the_fact_checks(matcher, lib, text):
    r, out = reply(matcher, lib, text)
    errors: list[str] = []
    check_facts("reply", [("reply", out), ("怎么办", advice_for(r.intent, lib)), ("案例", case_for(r.intent, lib))],
                errors)
    assert errors == []


# 11. overseas "high-pay" jobs (liangka: being drawn into working for fraud gangs) and deposits for a
# "上门服务" that never comes (gouwu: a paid service never delivered); each reply shows its own red flag
@pytest.mark.parametrize("text, intent, flag, advice", [
    ("有人介绍俺侄子去缅北上班 说一个月挣三万 机票都给买好了", "liangka", "缅北", "境外高薪"),
    ("朋友叫我去柬埔寨那边打字 包吃住 一个月两万", "liangka", "柬埔寨", "境外高薪"),
    ("网上约了个上门按摩 交了三百定金 又说要交保证金才派技师", "gouwu", "上门服务", "不再付任何费用"),
    ("同城app上约的上门服务 付了路费 现在又要押金 人也没来", "gouwu", "上门服务", "不再付任何费用"),
])
def test_the_missing_scams_show_their_own_red_flag_and_what_to_do(matcher, lib, text, intent, flag, advice):
    r, out = reply(matcher, lib, text)
    assert r.intent == intent, r
    flags = next(ln for ln in out.splitlines() if ln.startswith("识别："))
    assert flag in flags.split("；")[0], flags     # the matching red flag comes first
    now = next(ln for ln in out.splitlines() if ln.startswith("现在："))
    assert advice in now


@pytest.mark.parametrize("text", ["儿子公司派他去泰国出差 机票单位订的", "在美团上约了上门保洁 阿姨做完才付的钱",
                                  "县里组织去日本劳务 签了正式合同"])
def test_their_harmless_look_alikes_stay_none(matcher, text):
    assert matcher.match(text).intent == "none"


# 7. a mistaken transfer is no fraud: the bot does not send it to the 110 steps
@pytest.mark.parametrize("text", ["转账转错人了 能找回来吗", "手机银行转错账了 咋弄"])
def test_a_mistaken_transfer_gets_no_report_to_110_answer(matcher, lib, text):
    r = matcher.match(text)
    assert r.intent == "none" and answer_for(r, lib) == ""
