"""In a real browser: the duty officer sees a warning posted in the linkage group appear on the board,
signs it, reports 已劝阻, and the linkage group in the simulator gets the posts."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.console_models import ConsoleAction
from bot.warnings.models import Warning, WarningEvent
from tests.conftest import wait_for
from tests.console.browser import chromium, console_stack, desk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_duty_officer_sees_a_chat_warning_live_signs_it_and_reports_dissuaded(console_stack, desk):
    stack = console_stack
    officer = desk("police_duty")
    page = officer.go("/console/warnings")
    assert page.locator("#open-count").inner_text() == "0"
    # a police officer posts a warning in the linkage group; the open board shows it without a reload
    stack.say("linkage", "police_110", "#预警 姓名:张三 电话:13812345678 地址:东关村3组 类型:刷单 级别:红")
    row = page.locator("#warnings tbody tr[data-number]")
    row.first.wait_for(timeout=15_000)
    number = row.first.get_attribute("data-number")
    assert "张三 13812345678" in row.first.inner_text()          # the duty officer sees full details
    assert "红" in row.first.inner_text() and "城关派出所" in row.first.inner_text()
    officer.shot("warnings-board")
    row.first.locator("a").click()
    page.wait_for_url(f"**/console/warnings/{number}")
    page.click("#sign")
    page.wait_for_selector("#said")
    assert "已签收" in page.locator("#state").inner_text()
    page.select_option("#result", "dissuaded")
    page.fill("input[name=note]", "已电话劝阻，对象停止转账")
    page.click("#report")
    page.wait_for_selector("#said")
    assert "已办结" in page.locator("#state").inner_text()
    assert re.search(r"签收.*反诈中心值班员", page.locator("#events").inner_text())
    officer.shot("warning-history")

    # the linkage group got the same posts as from the chat commands
    def posts():
        return [m["text"] for m in stack.messages("linkage") if m["from"] == "bot" or m["from"].startswith("robot:")]
    assert wait_for(lambda: any(number in t and "签收" in t for t in posts())
                    and any(number in t and "已劝阻" in t for t in posts()), timeout=15), posts()
    with stack.service.sessions() as s:
        w = s.scalar(select(Warning).where(Warning.number == number))
        assert (w.state, w.result) == ("closed", "dissuaded")
        kinds = [(e.kind, e.actor, e.channel) for e in s.scalars(select(WarningEvent).where(WarningEvent.warning_id == w.id))]
        assert ("signed", "police_duty", "console") in kinds and ("reported", "police_duty", "console") in kinds
        actions = [(a.userid, a.action, a.target) for a in s.scalars(select(ConsoleAction))]
        assert ("police_duty", "warning.sign", number) in actions and ("police_duty", "warning.report", number) in actions


def test_a_propaganda_officer_sees_the_board_masked_and_no_actions(console_stack, desk):
    console_stack.say("linkage", "police_110", "#预警 姓名:李四 电话:13912345678 地址:河口镇 类型:刷单")
    assert wait_for(lambda: console_stack.service.sessions().scalar(select(Warning.number)), timeout=10)
    clerk = desk("propaganda_yang")
    page = clerk.go("/console/warnings")
    text = page.locator("#warnings").inner_text()
    assert "139****5678" in text and "13912345678" not in text and "李四" not in text
    page.locator("#warnings tbody tr[data-number] a").first.click()
    assert page.locator("#sign").count() == 0 and page.locator("#report").count() == 0
