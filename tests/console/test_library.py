"""宣传内容: every Q&A scenario as residents read it (the Q&A's own replies), the venue texts, and the
content check of `python -m bot check-content` on the files as they are on disk."""
from __future__ import annotations

import html
import re
import shutil
from collections import Counter

import pytest

from bot.campaigns import venue_items
from content import answers, learned, markup
from content.library import DEFAULT_DIR
from content.matcher import Match
from content.venues import signed_sms
from handlers.ask import AskHandler
from tests.console.conftest import Console, console_config


def text_of(page: str, element_id: str) -> str:
    """The text of the element with this id, as a browser shows it (tags out, entities decoded)."""
    m = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert m, f"no #{element_id} in the page"
    return html.unescape(re.sub(r"<[^>]+>", "", m.group(2)))


def row_of(page: str, attr: str, value: str) -> str:
    m = re.search(rf'<tr {attr}="{re.escape(value)}">(.*?)</tr>', page, re.S)
    assert m, f"no row {attr}={value}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def test_the_index_lists_every_scenario_with_its_kind_and_examples_and_says_the_check_passed(console):
    lib = console.service.library
    page = console.as_("leader_zheng").get("/console/library").data.decode()
    assert "内容检查通过" in page and 'id="check-errors"' not in page
    assert "python -m bot check-content" in page and "宣传干事" in page and "本页只读" in page
    counts = Counter(e.intent for e in learned.load_examples())
    assert len(re.findall(r'<tr data-intent=', page)) == len(lib.scenarios) == len(lib.catalog.intents)
    for sid, sc in lib.scenarios.items():
        row = row_of(page, "data-intent", sid)
        kind = "诈骗类型" if sc.kind == "fraud" else "服务"
        assert f"{sc.name} {sc.short} {kind} {counts[sid]} {len(sc.keywords)} {sid}.yaml" == row
    for venue in ("community", "bank", "school", "square", "network", "station", "unit", "enterprise", "general"):
        assert f'data-venue="{venue}"' in page
    assert "场所文本检查通过" in page


def test_each_scenario_page_shows_the_replies_the_qa_builds_as_plain_text(console):
    lib = console.service.library
    c = console.as_("propaganda_yang")
    for sid, sc in lib.scenarios.items():
        page = c.get(f"/console/library/scenarios/{sid}").data.decode()
        match = Match(intent=sid, score=1.0, candidates=[(sid, 1.0)])
        assert text_of(page, "reply-answer") == markup.plain(answers.answer_for(match, lib))
        assert text_of(page, "reply-case") == markup.plain(answers.case_for(sid, lib))
        assert text_of(page, "reply-advice") == markup.plain(answers.advice_for(sid, lib))
        for part in ("reply-answer", "reply-case", "reply-advice"):       # WeChat shows no markdown
            assert "**" not in text_of(page, part) and "<font" not in text_of(page, part)
        flags = text_of(page, "red-flags")
        assert all(f in flags for f in sc.red_flags)
        assert all(a in text_of(page, "advice") for a in sc.advice)
        assert sc.case in text_of(page, "case")
        keywords = text_of(page, "keywords")
        assert all(k in keywords for k in sc.keywords)


@pytest.mark.parametrize("question,intent", [("国家反诈中心APP怎么下载", "app"),
                                              ("有个客服打电话说要给我退款理赔", "kefu"),
                                              ("我被骗了五千块钱现在怎么办", "after_scam"),
                                              ("网上认识的老师拉我进群炒股，说稳赚不赔", "touzi")])
def test_the_reply_shown_is_what_a_resident_asking_on_wechat_gets(console, question, intent):
    reply = AskHandler.answer(question, console.service.ctx)[0]
    assert reply.intent == intent
    page = console.as_("leader_zheng").get(f"/console/library/scenarios/{intent}").data.decode()
    assert text_of(page, "reply-answer") == markup.plain(reply.text)


def test_an_unknown_scenario_or_venue_says_so(console):
    c = console.as_("leader_zheng")
    r = c.get("/console/library/scenarios/nosuch")
    assert r.status_code == 404 and "没有“nosuch”" in r.data.decode()
    assert c.get("/console/library/venues/nosuch").status_code == 404
    assert c.get("/console/library/posters/nosuch.png").status_code == 404


def test_the_library_needs_a_log_in(console):
    r = console.client().get("/console/library")
    assert r.status_code == 302 and "/console/login" in r.headers["Location"]


def test_a_venue_page_shows_what_its_groups_get(console):
    svc = console.service
    c = console.as_("leader_zheng")
    page = c.get("/console/library/venues/bank").data.decode()
    texts = [html.unescape(re.sub(r"<[^>]+>", "", t)) for t in re.findall(r'class="msg bot item-text">(.*?)</div>', page, re.S)]
    assert texts == [p.text for p in venue_items(svc.venues, "bank", svc.config.signature)]
    assert "农行安平支行员工群" in text_of(page, "venue-groups")
    ids = [it.id for it in svc.venues.items_for("bank")]
    assert re.findall(r'data-item="([^"]+)"', page) == ids
    assert any(it.venue == "general" for it in svc.venues.items_for("bank")) and "· 通用" in page
    # a poster is served from the console itself (no outside address)
    item = next(it for it in svc.venues.items_for("bank") if it.image is not None)
    r = c.get(f"/console/library/posters/{item.id}.png")
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data == item.png_bytes()
    # the network venue's residents get the reminder SMS with the bureau's signature in front
    page = c.get("/console/library/venues/network").data.decode()
    sms = [it for it in svc.venues.items_for("network") if it.sms]
    assert sms and all(html.escape(signed_sms(svc.config.signature, it.sms), quote=False) in page for it in sms)


@pytest.fixture
def content_copy(tmp_path):
    folder = tmp_path / "scenarios"
    shutil.copytree(DEFAULT_DIR, folder)
    return folder


def console_on(db_url, folder) -> Console:
    config = console_config(db_url)
    config = config.model_copy(update={"qa": config.qa.model_copy(update={"content_dir": str(folder)})})
    return Console(config)


def test_a_broken_file_in_the_content_folder_shows_file_field_reason(db_url, content_copy):
    console = console_on(db_url, content_copy)
    assert console.service.library.path == content_copy
    c = console.as_("propaganda_yang")
    assert "内容检查通过" in c.get("/console/library").data.decode()
    kefu = content_copy / "kefu.yaml"
    kefu.write_text(re.sub(r"(?m)^red_flags:\n(  - .*\n)+", "", kefu.read_text(encoding="utf-8")), encoding="utf-8")
    (content_copy / "touzi.yaml").write_text("kind: fraud\nname: [\n", encoding="utf-8")
    page = c.get("/console/library").data.decode()
    assert "内容检查通过" not in page
    problems = text_of(page, "check-errors")
    assert "kefu.yaml: red_flags: missing" in problems
    assert re.search(r"touzi\.yaml: file: YAML syntax error at line \d+", problems)
    # residents still get what the service loaded at start: the pages show it
    assert "【冒充电商物流客服诈骗】" in c.get("/console/library/scenarios/kefu").data.decode()


def test_stale_weights_are_a_warning_and_an_edit_not_yet_running_is_said(db_url, content_copy):
    console = console_on(db_url, content_copy)
    c = console.as_("propaganda_yang")
    page = c.get("/console/library").data.decode()
    assert "check-warning" not in page and 'id="changed"' not in page
    kefu = content_copy / "kefu.yaml"
    kefu.write_text(kefu.read_text(encoding="utf-8").replace("keywords:\n", "keywords:\n  退款专员: 2\n", 1),
                    encoding="utf-8")
    page = c.get("/console/library").data.decode()
    assert "内容检查通过" in page
    assert "weights.json was trained on other examples or keywords than these" in page and "python -m bot train" in page
    assert "重启服务后居民才会收到修改后的回答" in text_of(page, "changed")
