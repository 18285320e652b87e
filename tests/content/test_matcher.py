"""What a resident notices: the right fraud type, or no answer for ordinary chatter."""
from __future__ import annotations

import pytest

from content import Matcher, learned

from .examples import EXAMPLES, HARD_NEGATIVES

CASES = [(intent, kind, text) for intent, items in EXAMPLES.items() for kind, text in items]


@pytest.mark.parametrize("intent, kind, text", CASES, ids=[f"{i}-{k}" for i, k, _ in CASES])
def test_each_intent_typical_colloquial_forwarded(matcher, intent, kind, text):
    r = matcher.match(text)
    assert r.intent == intent, (r.intent, r.candidates, r.evidence)
    assert r.evidence, "an answer must say what it found"


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_harmless_chatter_is_none(matcher, text):
    r = matcher.match(text)
    assert r.intent == "none", (r.candidates, r.evidence)


def test_village_pig_slaughter_is_not_a_pig_butchering_scam(matcher):
    assert matcher.match("腊月里俺家杀猪 大家来吃杀猪菜").intent == "none"
    assert matcher.match("网上那种杀猪的套路是咋回事").intent == "jiaoyou"


@pytest.mark.parametrize("text", ["", "   ", "@反诈哨兵", "@反诈哨兵 ", "😂😂😂", "[流泪][流泪]", "？？？"])
def test_empty_mention_only_and_emoji_only(matcher, text):
    r = matcher.match(text)
    assert r.intent == "none" and r.score == 0 and r.clarify is None


def test_mention_does_not_change_the_answer(matcher):
    plain = matcher.match("有人叫我交钱刷流水才能放款")
    mentioned = matcher.match("@反诈哨兵 有人叫我交钱刷流水才能放款")
    assert plain.intent == mentioned.intent == "daikuan"


def test_traditional_characters(matcher):
    assert matcher.match("網上兼職刷單 先墊付再返傭金 靠譜嗎").intent == "shuadan"
    assert matcher.match("自稱公安局的說我涉嫌洗錢 要轉到安全賬戶").intent == "gongjianfa"


def test_typos_pinyin_and_abbreviations(matcher):
    assert matcher.match("刷单反利是真的不").intent == "shuadan"
    assert matcher.match("积芬换话费 要点链接").intent == "zhongjiang"
    assert matcher.match("jc说我的卡涉嫌洗钱").intent == "gongjianfa"
    assert matcher.match("有人找我跑f 说一天挣五百").intent == "liangka"
    assert matcher.match("国家反炸中心app咋装").intent == "app"


def test_emoji_inside_text(matcher):
    assert matcher.match("网恋对象🥰叫我在平台上充钱💰说有漏洞").intent == "jiaoyou"


def test_urls_and_phone_numbers_inside_text(matcher):
    r = matcher.match("【顺丰】您的快递丢失 理赔请点击 sf-lp.top 或致电 13912345678")
    assert r.intent == "kefu" and r.forwarded
    assert any("sf-lp.top" in e for e in r.evidence)
    # a phone number in an ordinary delivery notice does not make it fraud
    assert matcher.match("【顺丰速运】快递员李师傅 13912345678 今天下午派送 请保持电话畅通").intent == "none"


def test_jieba_swallowing_trap(matcher):
    # jieba cuts 解冻费用 as 解冻/费用 and 刷单子 as 刷/单子, so the library words 解冻费 and 刷单
    # are not tokens here; matching on the normalised raw text still finds them
    assert "解冻费" not in matcher.tokens("先交解冻费用")
    assert "刷单" not in matcher.tokens("刷单子一天挣两百")
    assert matcher.match("贷款没到账 先交解冻费用才能放款").intent == "daikuan"
    r = matcher.match("兼职刷单子一天挣两百")
    assert r.intent == "shuadan" and "刷单" in r.evidence


def test_user_dictionary_words_are_tokens(matcher):
    assert "百万保障" in matcher.tokens("客服说我的百万保障要扣费")


def test_negation_does_not_count_the_negated_word(matcher):
    assert matcher.match("俺闺女开了个网店 卖土特产 不是刷单哈").intent == "none"
    assert matcher.match("银行的人来宣传 说不要把卡借给别人").intent == "none"
    # "是不是" asks, it does not negate
    assert matcher.match("这是不是刷单").intent == "shuadan"


def test_dismissed_clause_gives_way_to_the_real_question(matcher):
    r = matcher.match("我知道刷单是骗人的，那有人叫我交会费学炒股 跟着老师买股票 靠谱吗")
    assert r.intent == "touzi", r.candidates


def test_money_already_gone_is_after_scam_but_still_asking_is_the_fraud_type(matcher):
    assert matcher.match("做任务已经被骗了八千 现在咋办 能追回来不").intent == "after_scam"
    assert matcher.match("做任务的说卡单了 还要再充一万才能提现 我还充不充").intent == "shuadan"
    # ongoing extortion stays luoliao even after a payment
    assert matcher.match("裸聊被录了视频 已经转了两千 他还要 咋办").intent == "luoliao"


def test_forwarded_flag(matcher):
    assert matcher.match("收到短信：【XX贷款】无抵押 秒到账 点击 dk-kd.top").forwarded
    assert not matcher.match("贷款要先交钱是不是骗人").forwarded


def test_candidates_are_ranked_and_scored(matcher):
    r = matcher.match("网恋对象带我在平台上投资 说有漏洞")
    scores = [s for _, s in r.candidates]
    assert scores == sorted(scores, reverse=True)
    assert r.candidates[0] == (r.intent, r.score)


def _weights_that_split(lib, a: str, b: str):
    """A library whose learned weights lean on 网恋 for a and 裸聊 for b, equally."""
    from dataclasses import replace
    labels = list(lib.weights.labels)
    table = {"网恋": [(labels.index(a), 4.0)], "裸聊": [(labels.index(b), 4.0)]}  # character pairs
    return replace(lib, weights=learned.Weights(labels, [0.0] * len(labels), table))


def test_two_close_candidates_ask_back(lib):
    m = Matcher(_weights_that_split(lib, "jiaoyou", "luoliao"))
    # romance scam or sextortion? the weights cannot tell: ask
    r = m.match("网恋对象 裸聊")
    assert r.clarify is not None and set(r.clarify) == {"jiaoyou", "luoliao"}
    # a clear lead does not ask back
    r = m.match("网恋对象叫俺投钱")
    assert r.intent == "jiaoyou" and r.clarify is None


def test_a_message_is_answered_without_shared_state(matcher):
    first = matcher.match("有人冒充老师在家长群收资料费 扫个人收款码")
    matcher.match("明儿谁去县城")
    again = matcher.match("有人冒充老师在家长群收资料费 扫个人收款码")
    assert first == again


# ------------------------------------------------------------ generalisation mechanisms

def test_henan_dialect_forms_are_normalised(matcher):
    # 俺/恁/嘞 are written once in the lexicon; keywords use the standard form
    assert matcher.normalize("俺嘞卡 恁嘞钱") == "我的卡 你的钱"
    assert matcher.match("俺叫人骗了两万 咋弄").intent == "after_scam"


def test_pressure_cues_lift_a_weak_topic_over_the_threshold(matcher):
    # one topic word alone is not enough ...
    assert matcher.match("俺表姐在国外").intent == "none"
    # ... but "pay a fee first" + "move money" around it is
    r = matcher.match("表姐说在国外要给我转一笔钱 叫我先帮她垫个手续费")
    assert r.intent == "lingdao", r.candidates


def test_pressure_cue_families_are_general(matcher):
    # the same shape of demand with different wording: pay before release
    for text in ("做任务的说得先交六百才能提现", "做任务的说充了钱才能结算", "做任务的叫俺再垫一单才给返佣"):
        assert matcher.match(text).intent == "shuadan", text
    # secrecy towards family lifts an impersonation claim
    assert matcher.match("说是检察院的 不能跟家人说 叫俺去开个房间").intent == "gongjianfa"


def test_pressure_cues_alone_never_name_one_intent_outright(matcher):
    # no topic at all: the bot may say none or ask which type, but must not assert one
    r = matcher.match("先交钱 加微信 扫码 别告诉别人")
    assert r.intent == "none" or r.clarify is not None
    assert matcher.rule_match("先交钱 加微信 扫码 别告诉别人").intent == "none"


def test_warnings_written_with_negations_do_not_count_the_cue(matcher):
    # 勿/请勿 negate like 不要: an official warning is not a demand
    b1, cues1, _ = matcher._suspicion(matcher.normalize("请勿转账 切勿点击链接"))
    assert "转账" not in cues1 and "点击" not in cues1


def test_legit_notices_and_user_started_contacts_stay_none(matcher):
    assert matcher.match("ETC扣费了 俺看了记录没错 就是觉得贵").intent == "none"
    assert matcher.match("我在淘宝买的锅坏了 自己在app里点的联系客服 客服说给补发").intent == "none"
    assert matcher.match("孩子学校通知交伙食费 在学校公众号里交").intent == "none"
    assert matcher.match("【XX银行】您尾号1234的卡工资收入3000元 活期余额5000元").intent == "none"


def test_romance_origin_wins_over_the_investment_it_leads_to(matcher):
    r = matcher.match("相亲群里认识个大哥 说他有个理财平台稳赚 叫我投五万")
    assert r.intent == "jiaoyou" and r.clarify is None, r.candidates
    # without the romance origin the same pitch is touzi
    assert matcher.match("群里有个大哥 说他有个理财平台稳赚 叫我投五万").intent == "touzi"


# ---------------------------------------------------------------- round 2 mechanisms

@pytest.mark.parametrize("text", [
    "俺家会计照着假老板的意思汇了五万过去 老板回来说根本没让转 现在咋办",
    "网上买手机转了三千 对方拉黑了 能追回来不",
    "手机银行转出人民币20000元 不是我转的 现在该找谁",
])
def test_money_gone_and_what_now_is_after_scam_whatever_the_type(matcher, text):
    assert matcher.match(text).intent == "after_scam"


@pytest.mark.parametrize("text, intent", [
    ("网上买了个手机 钱转了三千 卖家说还要交保证金才发货 还交不交", "gouwu"),
    ("在一个小网站付了八百块 网页就打不开了 这是不是被骗了", "gouwu"),
    ("对方手里有我的裸照 已经给了两千 他还要 咋办", "luoliao"),
])
def test_still_deciding_or_ongoing_keeps_the_fraud_type(matcher, text, intent):
    assert matcher.match(text).intent == intent


def test_a_corrected_clause_does_not_decide_the_type(matcher):
    # "不是X，是Y": the first clause says what the case is not
    r = matcher.match("我不是跟网上对象投的 是单位同事拉我进了个炒币群 老师天天喊单")
    assert r.intent == "touzi", r.candidates


def test_weak_topic_words_without_any_cue_are_none(matcher):
    assert matcher.match("老师说明天带彩笔 穿校服").intent == "none"
    assert matcher.match("群里老师说交校服费 直接私发红包给她").intent == "laoshi"


def test_a_check_the_writer_made_counts_unless_it_exposed_the_fraud(matcher):
    assert matcher.match("学校让交资料费 俺去学校问了 在财务室当面交的 收据也有").intent == "none"
    assert matcher.match("群里老师让交资料费 俺去学校问了 班主任说没发过").intent == "laoshi"


def test_after_state_in_lexicon_is_validated(tmp_path):
    import shutil
    from content.library import LEXICON_PATH, ContentError, load_library
    bad = tmp_path / "lexicon.yaml"
    shutil.copy(LEXICON_PATH, bad)
    bad.write_text(bad.read_text(encoding="utf-8").replace("after_state:\n  gone:", "after_state:\n  went:"),
                   encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_library(lexicon_path=bad)
    assert any("after_state" in e for e in exc.value.errors)


@pytest.mark.parametrize("text", [
    "演唱会门票抢到了 下个月去看", "村里老中医把脉挺准的", "养老保险今年要交多少",
    "信用卡额度提升了 银行app上看到的", "医保卡在外地能用不", "年化收益多少算正常 存银行的话",
    "孩子中考体育考了满分", "交警说明天这条路封路", "期末考试成绩出来了 老师发群里了",
])
def test_round2_topic_words_alone_stay_none(matcher, text):
    assert matcher.match(text).intent == "none", matcher.match(text).candidates


# ---------------------------------------------------------------- round 3 (set_c / set_d)

def test_news_and_warning_notices_are_none(matcher):
    # someone else's case or the news: hearsay counts against even though it names a scam
    assert matcher.match("看新闻说隔壁县有人被冒充客服的骗了五万 大家都注意点").intent == "none"
    # an official reminder saying what the police / platforms never do
    assert matcher.match("【某某县公安局】温馨提示：公检法不会通过电话办案 请转告家中老人").intent == "none"
    # ... but a resident who is in the situation still gets the fraud type
    assert matcher.match("有人打电话说他是公安局的 说我涉嫌洗钱 叫我把钱转到安全账户").intent == "gongjianfa"


def test_hearsay_in_lexicon_is_validated(tmp_path):
    import shutil
    from content.library import LEXICON_PATH, ContentError, load_library
    bad = tmp_path / "lexicon.yaml"
    shutil.copy(LEXICON_PATH, bad)
    bad.write_text(bad.read_text(encoding="utf-8").replace("hearsay:\n  看新闻: 2", "hearsay:\n  看新闻: abc"),
                   encoding="utf-8")
    with pytest.raises(ContentError) as exc:
        load_library(lexicon_path=bad)
    assert any("hearsay" in e for e in exc.value.errors)


def test_a_verified_family_transfer_is_none(matcher):
    assert matcher.match("表哥微信找我借三千 我打电话问他了 确实是他 已经转了").intent == "none"
    assert matcher.match("表哥微信找我借三千 说换了新号 不方便接电话 叫我先转过去").intent == "lingdao"


def test_game_items_are_youxi_not_shopping(matcher):
    # youxi dominates gouwu and kefu once its own evidence reaches the threshold
    assert matcher.match("网上有人卖原神的号 说私下交易便宜一半 先付款后给号").intent == "youxi"


def test_a_verified_call_back_the_user_started_is_none(matcher):
    assert matcher.match("淘宝客服给我回电话了 是我在app里申请的退款 钱已经退回来了").intent == "none"


@pytest.mark.parametrize("text", [
    "【XX派出所】提醒：凡是网上刷单要先垫钱的都是诈骗，一分钱都别转！",
    "各位家长：学校从不在班级群里收费，有人冒充老师发收款码请不要扫。——XX小学",
    "【中国移动】您的积分3260分可登录中国移动APP积分商城兑换话费，积分年底清零。退订回TD",
])
def test_anti_fraud_notices_and_service_sms_are_notices(matcher, text):
    norm = matcher.normalize(text)
    assert matcher.is_notice(norm)
    assert matcher.match(text).intent == "none"


@pytest.mark.parametrize("text", [
    "网上刷单要先垫钱是不是都是诈骗？俺已经垫了两百",          # a question about one's own case
    "【积分兑换】您的积分即将清零，请登录 jf-dh.top 兑换现金",   # a link, not the sender's app
    "对方说凡是配合调查的都不会有事，让我把钱转到安全账户",      # general words inside a scam
])
def test_questions_links_and_scams_are_no_notices(matcher, text):
    assert not matcher.is_notice(matcher.normalize(text))
