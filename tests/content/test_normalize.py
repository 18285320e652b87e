from __future__ import annotations

from content.normalize import Normalizer, base_normalize


def test_traditional_fullwidth_case_and_spaces():
    assert base_normalize("微商賣的東西　收了錢") == "微商卖的东西 收了钱"
    assert base_normalize("ＡＰＰ１２３") == "app123"


def test_emoji_wechat_codes_and_mentions_are_removed():
    assert base_normalize("@反诈哨兵 贷款到账前要交解冻金[发呆]😂") == "贷款到账前要交解冻金"
    assert base_normalize("@反诈哨兵") == ""
    assert base_normalize("👍👍") == ""


def test_typos_and_abbreviations(lib):
    n = Normalizer(lib.lexicon)
    assert n("刷单反利靠谱吗") == "刷单返利靠谱吗"
    assert n("积芬兑换") == "积分兑换"
    assert n("jc 打电话说我洗钱") == "警察 打电话说我洗钱"
    assert n("luo聊被录了") == "裸聊被录了"
    # the canonical word is not expanded twice, an abbreviation only counts as a whole latin token
    assert n("刷单返利") == "刷单返利"
    assert n("jcb信用卡") == "jcb信用卡"
