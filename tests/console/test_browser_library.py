"""In a real browser: the leadership reads the content library (the reply shown for a fraud type is the one
a WeChat resident just got from the official account) and the groups and people."""
from __future__ import annotations

import pytest
import requests

from tests.conftest import wait_for
from tests.console.browser import chromium, console_stack, desk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

QUESTION = "有个客服打电话说要给我退款理赔"


def test_leadership_reads_the_library_and_the_groups_and_people(console_stack, desk):
    stack = console_stack
    stack.sim_post("/sim/mp/say", {"name": "张大妈", "text": QUESTION})      # a WeChat resident asks
    chat = next(f["chat"] for f in requests.get(f"{stack.sim_url}/sim/mp/followers", timeout=5).json()["followers"]
                if f["name"] == "张大妈")

    def answers():
        return [m["text"] for m in stack.messages(chat) if m["from"] == "bot"]
    assert wait_for(lambda: len(answers()) >= 1, timeout=15), stack.messages(chat)
    stack.sim_post("/sim/mp/say", {"name": "张大妈", "text": "怎么办"})
    assert wait_for(lambda: len(answers()) >= 2, timeout=15), stack.messages(chat)
    answer, advice = answers()[:2]

    leader = desk("leader_zheng")
    page = leader.go("/console/")
    page.click("header nav >> text=宣传内容")
    page.wait_for_url("**/console/library")
    assert page.locator("#check-ok").inner_text() == "内容检查通过"
    assert page.locator("#scenarios tbody tr").count() == len(stack.service.library.scenarios)
    leader.shot("library")
    page.click("#scenarios >> text=冒充电商物流客服诈骗")
    page.wait_for_url("**/console/library/scenarios/kefu")
    assert page.locator("#reply-answer").inner_text().strip() == answer.strip()
    assert page.locator("#reply-advice").inner_text().strip() == advice.strip()
    leader.shot("library-scenario")

    page = leader.go("/console/library/venues/bank")
    poster = page.locator("img.poster").first
    poster.scroll_into_view_if_needed()
    assert wait_for(lambda: poster.evaluate("img => img.complete && img.naturalWidth > 0"), timeout=10)
    leader.shot("library-venue")

    page.click("header nav >> text=群与人员")
    page.wait_for_url("**/console/directory")
    assert page.locator("#groups tbody tr").count() == len(stack.config.groups)
    assert "客户群群发（需李网格员确认）" in page.locator("tr[data-group='binhe_residents']").inner_text()
    assert "民警、派出所联络员" in page.locator("tr[data-userid='liaison_chen']").inner_text()
    assert "只读" in page.locator("#read-only").inner_text()
    leader.shot("directory")
