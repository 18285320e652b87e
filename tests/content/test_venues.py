"""Venue propaganda (八进): the shipped files, the posters, and the validator's messages."""
from __future__ import annotations

import importlib.util
import re
import shutil

import pytest
import yaml

from content.intents import catalog
from content.library import ContentError, check_facts

FRAUD_INTENTS = catalog().fraud
from content.venues import (
    DEFAULT_DIR, IMAGE_MAX_BYTES, PNG_SIGNATURE, SMS_BODY_MAX, VENUES, VenueItem, check_hotlines, load_venues,
    main, png_size,
)

HIGH_INCIDENCE = ("shuadan", "touzi", "daikuan", "kefu", "gongjianfa", "gouwu")
POSTER_DIR = DEFAULT_DIR / "posters"


@pytest.fixture(scope="module")
def venues():
    return load_venues()


@pytest.fixture
def venue_copy(tmp_path):
    """A writable copy of content/venues (with the posters), to break."""
    dst = tmp_path / "venues"
    shutil.copytree(DEFAULT_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _save(path, data):
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _edit_item(directory, venue, n, **changes):
    """Change item n (counting from 1, as the error lines do) of venue.yaml; None removes a field."""
    path = directory / f"{venue}.yaml"
    data = _load(path)
    item = data["items"][n - 1]
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    _save(path, data)


def _errors(directory):
    with pytest.raises(ContentError) as exc:
        load_venues(directory)
    return exc.value.errors


def _has(errors, prefix, *words):
    return any(e.startswith(prefix) and all(w in e for w in words) for e in errors)


def _fields(item: VenueItem):
    return [(name, value) for name, value in
            (("title", item.title), ("text", item.text), ("markdown", item.markdown), ("sms", item.sms))
            if value]


# ---------------------------------------------------------------- shipped content

def test_every_venue_file_loads(venues):
    assert VENUES == ("community", "bank", "school", "square", "network", "station", "unit", "enterprise")
    assert set(venues.venues) == set(VENUES) | {"general"}
    for key, v in venues.venues.items():
        assert v.venue == key and v.name and v.audience
        assert all(item.venue == key for item in v.items)
    assert len(venues.items) == sum(len(v.items) for v in venues.venues.values())


def test_each_venue_has_8_to_14_items_over_at_least_4_fraud_types(venues):
    for venue in VENUES:
        own = venues.venues[venue].items
        fraud_types = {i.intent for i in own if i.intent in FRAUD_INTENTS}
        assert 8 <= len(own) <= 14, (venue, len(own))
        assert len(fraud_types) >= 4, (venue, sorted(fraud_types))


def test_high_incidence_types_reach_most_venues(venues):
    for intent in HIGH_INCIDENCE:
        where = [v for v in VENUES if any(i.intent == intent for i in venues.venues[v].items)]
        assert len(where) >= 6, (intent, where)


def test_items_for_gives_the_venue_items_then_general(venues):
    bank = venues.items_for("bank")
    own, general = venues.venues["bank"].items, venues.venues["general"].items
    assert [i.id for i in bank] == [i.id for i in own] + [i.id for i in general]
    assert any(i.intent == "app" for i in general)  # the APP reaches every venue
    assert {"general-96110", "general-12381", "general-sanbuyiduo"} <= {i.id for i in bank}
    assert venues.items["bank-anquanzhanghu"].venue == "bank"
    with pytest.raises(KeyError):
        venues.items_for("market")


def test_ids_are_unique_and_readable(venues):
    for item_id, item in venues.items.items():
        assert item.id == item_id
        assert re.fullmatch(r"[a-z0-9-]+", item_id)


def test_texts_fit_a_phone_screen(venues):
    for item in venues.items.values():
        assert len(item.text) <= 300, item.id
        assert len(item.title) <= 30, item.id
    for item in venues.venues["square"].items:  # banners and screens: one short idea
        assert len(item.text) <= 60, item.id


def test_network_and_general_items_have_an_sms_body_without_a_signature(venues):
    # the campaign puts the bureau's signature in front (tests/campaigns/test_sms.py)
    assert SMS_BODY_MAX == 66     # 70 minus the shortest signature, 【xx】
    for item in venues.items_for("network"):
        assert item.sms, item.id
        assert len(item.sms) <= SMS_BODY_MAX, (item.id, len(item.sms))
        assert not item.sms.startswith("【") and "反诈提醒" not in item.sms, item.id
        assert not re.search(r"https?://|www\.", item.sms), item.id
    network_types = {i.intent for i in venues.venues["network"].items}
    assert len(network_types & set(FRAUD_INTENTS)) >= 10


def test_hotlines_are_named_correctly_everywhere(venues):
    for item in venues.items.values():
        for name, value in _fields(item):
            assert "中国反诈中心" not in value and not re.search(r"(?<!\d)165(?!\d)", value), item.id
            assert not re.search(r"96110[^。；，\n]{0,6}(报警|报案)", value), (item.id, name)
            assert not re.search(r"(报警|报案)[^。；，\n]{0,4}96110", value), (item.id, name)
            if "96110" in value and name != "title":
                # whoever reads 96110 also reads that a crime is reported on 110
                assert re.search(r"(?<!\d)110(?!\d)", value.replace("96110", "")), (item.id, name)
            if "报警" in value:
                assert re.search(r"(?<!\d)110(?!\d)", value.replace("96110", "")), (item.id, name)


def test_longer_texts_end_with_where_to_turn(venues):
    # outside the banner and hall-screen venues every text names 110
    for venue in ("community", "bank", "school", "network", "station", "enterprise", "general"):
        for item in venues.venues[venue].items:
            assert re.search(r"(?<!\d)110(?!\d)", item.text.replace("96110", "")), item.id


def test_markdown_says_the_same_as_text(venues):
    with_md = [i for i in venues.items.values() if i.markdown]
    assert len(with_md) >= 8
    for item in with_md:
        plain = re.sub(r'<font color="\w+">|</font>|\*\*|^>\s?', "", item.markdown, flags=re.M)
        assert re.sub(r"\s", "", plain) == re.sub(r"\s", "", item.text), item.id


def test_the_pieces_the_bureau_asked_for(venues):
    titles = {i.title: i for i in venues.items.values()}
    pledge = titles["防范电信网络诈骗承诺书"]
    assert pledge.venue == "community" and "签字" in pledge.text
    broadcast = titles["大喇叭广播稿"]
    assert broadcast.venue == "community"
    sentences = [s for s in re.split(r"[。！？\n]", broadcast.text) if s.strip()]
    assert max(len(s) for s in sentences[1:]) <= 25  # short enough to read aloud
    letter = titles["致学生家长的一封信"]
    assert letter.venue == "school"
    for topic in ("老师", "游戏", "刷单", "裸聊", "银行卡", "帮信", "110", "96110"):
        assert topic in letter.text, topic
    bank = " ".join(i.text for i in venues.venues["bank"].items)
    for topic in ("安全账户", "屏幕共享", "紧急止付", "陌生", "110"):
        assert topic in bank, topic
    enterprise = " ".join(i.text for i in venues.venues["enterprise"].items)
    for topic in ("老板", "打电话", "当面核实", "换了", "兼职"):
        assert topic in enterprise, topic
    station = " ".join(i.text for i in venues.venues["station"].items)
    for topic in ("退票", "改签", "公检法没有安全账户"):
        assert topic in station, topic


def test_official_slogans_are_quoted_exactly(venues):
    every = " ".join(i.text for i in venues.items.values())
    for slogan in ("陌生来电不轻信", "未知链接不点击", "个人信息不透露", "转账汇款多核实",
                   "公检法没有安全账户", "凡是需要先行充值或垫付资金的刷单都是诈骗",
                   "96110来电要接听", "12381短信要重视", "凡是主动联系你领取育儿补贴的都是诈骗"):
        assert slogan in every, slogan


def test_the_app_is_installed_from_the_app_store(venues):
    for item in venues.items.values():
        if item.intent == "app" and "下载" in item.text:
            assert "应用商店" in item.text, item.id


def test_cli_prints_counts(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "network" in out and "total" in out


# ---------------------------------------------------------------- posters

def test_posters_are_real_pngs_under_2_mb_with_sensible_size():
    posters = sorted(POSTER_DIR.glob("*.png"))
    assert 6 <= len(posters) <= 10, [p.name for p in posters]
    for p in posters:
        data = p.read_bytes()
        assert data.startswith(PNG_SIGNATURE), p.name
        assert len(data) <= IMAGE_MAX_BYTES, p.name
        w, h = png_size(data)
        assert 600 <= w <= 3000 and 600 <= h <= 3000, (p.name, w, h)
        assert 0.5 <= w / h <= 2, (p.name, w, h)


def test_every_poster_is_used_and_every_image_is_readable(venues):
    used = {i.image.name for i in venues.items.values() if i.image}
    assert used == {p.name for p in POSTER_DIR.glob("*.png")}
    for item in venues.items.values():
        if item.image:
            assert item.image.is_absolute()
            assert item.png_bytes().startswith(PNG_SIGNATURE)
        else:
            with pytest.raises(ValueError):
                item.png_bytes()


def test_poster_texts_pass_the_same_fact_checks():
    spec = importlib.util.spec_from_file_location("make_posters", DEFAULT_DIR / "make_posters.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # Pillow is only imported when drawing
    assert {f"{n}.png" for n in mod.POSTERS} == {p.name for p in POSTER_DIR.glob("*.png")}
    for name in mod.POSTERS:
        texts = mod.poster_texts(name)
        errors: list[str] = []
        check_facts(f"{name}.png", [("poster", t) for t in texts], errors)
        check_hotlines(f"{name}.png", "poster", "\n".join(texts), errors)
        assert errors == [], errors
        assert any("110" in t.replace("96110", "") for t in texts), name


# ---------------------------------------------------------------- validator messages

def test_a_valid_copy_loads_from_another_directory(venue_copy):
    lib = load_venues(venue_copy)
    assert lib.path == venue_copy
    assert lib.items["general-app"].image == (venue_copy / "posters" / "app.png").resolve()


def test_many_problems_are_reported_at_once(venue_copy):
    _edit_item(venue_copy, "network", 2, sms=None)
    _edit_item(venue_copy, "network", 3, sms="放款前要交钱的网贷都是诈骗，" * 5)
    _edit_item(venue_copy, "bank", 1, id="community-pledge")
    _edit_item(venue_copy, "bank", 2, colour="red")
    _edit_item(venue_copy, "bank", 3, intent="fraud")
    _edit_item(venue_copy, "school", 4, text="刷单" * 151)
    _edit_item(venue_copy, "station", 5, title=None)
    errors = _errors(venue_copy)
    assert _has(errors, "network.yaml: items.2.sms: missing"), errors
    assert _has(errors, "network.yaml: items.3.sms: too long (70 chars, at most 66)"), errors
    assert _has(errors, "bank.yaml: items.1.id: duplicate id 'community-pledge'", "community.yaml"), errors
    assert _has(errors, "bank.yaml: items.2.colour: unknown field"), errors
    assert _has(errors, "bank.yaml: items.3.intent: 'fraud' is not an intent"), errors
    assert _has(errors, "school.yaml: items.4.text: too long (302 chars, at most 300)"), errors
    assert _has(errors, "station.yaml: items.5.title: missing"), errors
    assert len(errors) == 7, errors


@pytest.mark.parametrize("bad_text, reason", [
    ("遇到诈骗请拨打96110报警。", "96110"),
    ("请下载中国反诈中心APP。被骗打110。", "国家反诈中心"),
    ("可拨打165反诈专线。", "165"),
    ("连续输错三次密码就能冻结骗子账户。", "紧急止付"),
    ("拿不准打96110咨询。", "not 110"),
    ("扫码即可下载国家反诈中心APP。被骗打110。", "app store"),
    ("有疑问请拨打12345。", "not a known hotline"),
    ("转错钱、被骗了，马上打110申请止付。", "a mistaken transfer is for the bank"),
    ("帮信罪最高可判三年有期徒刑，并处罚金。被骗打110。", "三年以下有期徒刑或者拘役，并处或者单处罚金"),
    ("帮信罪处三年以下有期徒刑，并处罚金。被骗打110。", "quote it exactly"),
    ("退税只在个人所得税APP办理。被骗打110。", "自然人电子税务局网站, 办税服务厅"),
    ("银保监会提醒您：谨防诈骗。被骗打110。", "国家金融监督管理总局"),
])
def test_wrong_facts_are_refused(venue_copy, bad_text, reason):
    _edit_item(venue_copy, "unit", 3, text=bad_text)
    errors = _errors(venue_copy)
    assert any(e.startswith("unit.yaml: items.3.text:") and reason in e for e in errors), errors


def test_the_right_words_pass_the_same_checks(venue_copy):
    _edit_item(venue_copy, "unit", 3, text="帮信罪（明知对方搞诈骗还给他卡）情节严重的，处三年以下有期徒刑或者拘役，"
                                            "并处或者单处罚金。骗子还自称2023年已撤销的“银保监会”。"
                                            "退税通过个人所得税APP、自然人电子税务局网站或办税服务厅办理。被骗打110。")
    _edit_item(venue_copy, "unit", 4, text="被骗了打110；转错钱找银行。")
    load_venues(venue_copy)


def test_an_sms_that_brings_its_own_signature_is_refused(venue_copy):
    _edit_item(venue_copy, "network", 1, sms="【反诈提醒】刷单都是诈骗，被骗打110。")
    _edit_item(venue_copy, "general", 2, sms="[公安提醒]96110来电要接听，被骗打110。")
    errors = _errors(venue_copy)
    assert _has(errors, "network.yaml: items.1.sms: starts with a signature ('【反诈提醒】')",
                "config: sms_signature"), errors
    assert _has(errors, "general.yaml: items.2.sms: starts with a signature"), errors


def test_amounts_and_dates_are_not_taken_for_phone_numbers(venue_copy):
    _edit_item(venue_copy, "unit", 3, text="2025年起，每孩每年3600元的育儿补贴，凡是主动联系你领取育儿补贴的都是诈骗。")
    load_venues(venue_copy)


def test_images_are_checked(venue_copy):
    (venue_copy / "posters" / "fake.png").write_text("not an image", encoding="utf-8")
    (venue_copy / "posters" / "huge.png").write_bytes(
        PNG_SIGNATURE + b"\x00\x00\x00\rIHDR\x00\x00\x04\x38\x00\x00\x05\xa0" + b"\0" * IMAGE_MAX_BYTES)
    _edit_item(venue_copy, "square", 1, image="posters/fake.png")
    _edit_item(venue_copy, "square", 2, image="posters/missing.png")
    _edit_item(venue_copy, "square", 3, image="posters/huge.png")
    _edit_item(venue_copy, "square", 4, image="../../secret.png")
    errors = _errors(venue_copy)
    assert _has(errors, "square.yaml: items.1.image: 'posters/fake.png' is not a PNG"), errors
    assert _has(errors, "square.yaml: items.2.image: 'posters/missing.png' not found"), errors
    assert _has(errors, "square.yaml: items.3.image: 'posters/huge.png'", "over the 2 MB"), errors
    assert _has(errors, "square.yaml: items.4.image:", "inside the venues directory"), errors


def test_markdown_must_carry_the_same_words(venue_copy):
    data = _load(venue_copy / "general.yaml")
    md = data["items"][0]["markdown"].replace("免费使用", "免费使用，还送话费")
    _edit_item(venue_copy, "general", 1, markdown=md)
    _edit_item(venue_copy, "general", 2, markdown='<font color="red">96110来电要接听</font>')
    errors = _errors(venue_copy)
    assert _has(errors, "general.yaml: items.1.markdown: words differ from text"), errors
    assert _has(errors, "general.yaml: items.2.markdown: font color red unknown"), errors


def test_file_level_problems(venue_copy):
    (venue_copy / "unit.yaml").unlink()
    shutil.copy(venue_copy / "bank.yaml", venue_copy / "market.yaml")
    data = _load(venue_copy / "school.yaml")
    data["venue"] = "bank"
    data["colour"] = "blue"
    _save(venue_copy / "school.yaml", data)
    (venue_copy / "station.yaml").write_text("venue: station\nitems: [\n", encoding="utf-8")
    data = _load(venue_copy / "enterprise.yaml")
    data["items"] = []
    _save(venue_copy / "enterprise.yaml", data)
    errors = _errors(venue_copy)
    assert "unit.yaml: file: missing (every venue needs a file)" in errors, errors
    assert _has(errors, "market.yaml: file: unknown venue 'market'"), errors
    assert _has(errors, "school.yaml: venue: 'bank' does not match the file name ('school')"), errors
    assert _has(errors, "school.yaml: colour: unknown field"), errors
    assert _has(errors, "station.yaml: file: YAML syntax error at line"), errors
    assert _has(errors, "enterprise.yaml: items: must be a non-empty list"), errors


def test_sms_is_only_required_where_it_is_sent(venue_copy):
    _edit_item(venue_copy, "bank", 1, sms=None)           # optional outside network/general
    load_venues(venue_copy)
    _edit_item(venue_copy, "general", 1, sms=None)        # general items go to the network too
    assert _has(_errors(venue_copy), "general.yaml: items.1.sms: missing")


# ---------------------------------------------------------------- issue 11, items 7, 9, 10

def _posters():
    spec = importlib.util.spec_from_file_location("make_posters", DEFAULT_DIR / "make_posters.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _every_text(venues):
    """(where, text) for every venue field and every poster."""
    out = [(f"{item.id}.{name}", value) for item in venues.items.values() for name, value in _fields(item)]
    mod = _posters()
    return out + [(f"poster {name}", "\n".join(mod.poster_texts(name))) for name in mod.POSTERS]


def test_a_mistaken_transfer_goes_to_the_bank_not_to_110(venues):
    mentions = [(where, text) for where, text in _every_text(venues) if "转错" in text]
    assert {where.split(".")[0] for where, _t in mentions} >= {"bank-zhifu"}
    for where, text in mentions:
        for sentence in re.split(r"[。；！\n]", text):
            if "转错" in sentence:   # nothing after the mistaken transfer sends it to 110
                assert not re.search(r"(?<!\d)110(?!\d)", sentence[sentence.index("转错"):]), (where, sentence)
    line = next(ln for ln in venues.items["bank-zhifu"].text.splitlines() if "转错" in ln)
    assert "不用报警" in line and "开户银行的客服电话" in line and "柜台" in line
    # the line that reports a crime stays
    assert "立即打110报警" in venues.items["bank-zhifu"].text


PENALTY = "三年以下有期徒刑或者拘役，并处或者单处罚金"
PLAIN = ("明知", "帮骗子", "转移赃款", "替诈骗转移", "帮人过账", "帮人收钱")


def test_the_bangxin_penalty_is_quoted_exactly_and_the_crime_said_in_plain_words(venues):
    texts = _every_text(venues)
    quoted = [(where, text) for where, text in texts
              if re.search("帮信|帮助信息网络犯罪", text) and re.search("有期徒刑|拘役|罚金|判", text)]
    assert {w.split(".")[0] for w, _t in quoted} >= {"school-liangka", "poster liangka"}
    for where, text in quoted:
        assert PENALTY in text and "明知" in text, where
    for where, text in texts:
        if "帮信罪" in text:
            assert any(p in text for p in PLAIN), where


def test_tax_refunds_name_every_official_channel(venues):
    named = [(where, text) for where, text in _every_text(venues)
             if "退税" in text and re.search(r"(个人所得税|个税)APP", text)]
    assert {w for w, _t in named} >= {"unit-tuishui.text", "network-butie.text", "network-butie.sms"}
    for where, text in named:
        for channel in ("个人所得税APP", "自然人电子税务局网站", "办税服务厅"):
            assert channel in text, (where, channel)
    for where in ("unit-tuishui", "network-butie"):
        assert "12366" in venues.items[where].text


def test_a_medical_insurance_robocall_is_hung_up_first(venues):
    robocall = [(where, text) for where, text in _every_text(venues) if "医保部门不会" in text]
    assert {w for w, _t in robocall} >= {"community-yibao.text", "unit-butie.text"}
    for where, text in robocall:
        assert "挂断" in text and text.index("挂断") < text.index("医保部门不会"), where
        assert "医保部门不会打电话冻结" in text, where
