"""In a real browser: the propaganda officer pauses a campaign on the 宣传推送 page, the page shows it
paused, and the campaign's next scheduled slot sends nothing to the simulator's groups."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.campaign_models import CampaignDelivery
from bot.console_models import ConsoleAction
from bot.core import scheduling
from scheduler.campaigns import campaign_slot
from tests.conftest import wait_for
from tests.console.browser import chromium, console_stack, desk  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

NAME = "企业财务提醒"          # "2-59/5 * * * *" → the textile company's finance group (a group robot)
GROUP = "textile_finance"


def scheduled_slot(stack, when: dt.datetime) -> None:
    """The scheduler's job for the campaign, as it runs at `when`."""
    ctx = stack.service.ctx
    ctx.clock = lambda: when
    old, scheduling._context = scheduling._context, ctx
    try:
        campaign_slot(NAME)
    finally:
        scheduling._context = old


def test_a_paused_campaign_shows_paused_and_its_next_slot_sends_nothing(console_stack, desk):
    stack = console_stack
    svc = stack.service
    # the test may run at night: without quiet hours a slot really sends
    svc.ctx.config = svc.config = svc.config.model_copy(update={"campaigns": [
        c.model_copy(update={"quiet_hours": None}) for c in svc.config.campaigns]})
    first = dt.datetime.now(dt.timezone.utc).replace(second=30, microsecond=0)
    scheduled_slot(stack, first)                      # running: the group gets the push
    assert wait_for(lambda: len(stack.bot_messages(GROUP)) == 1, timeout=15), stack.bot_messages(GROUP)

    clerk = desk("propaganda_yang")
    page = clerk.go("/console/campaigns")
    card = page.locator(f"tr.campaign[data-name='{NAME}']")
    assert card.locator(".tag").get_attribute("data-state") == "running"
    page.once("dialog", lambda d: d.accept())          # "暂停…？到点时将不再推送。"
    card.locator("button.pause").click()
    page.wait_for_selector("#said")
    assert f"已暂停“{NAME}”" in page.locator("#said").inner_text()
    card = page.locator(f"tr.campaign[data-name='{NAME}']")
    assert card.locator(".tag").get_attribute("data-state") == "paused"
    assert "已暂停" in card.locator(".state-line").inner_text() and "杨宣传于" in card.locator(".state-line").inner_text()
    assert card.locator("button.resume").count() == 1 and card.locator("button.pause").count() == 0
    clerk.shot("campaigns")

    # the next scheduled slot: recorded as skipped, nothing reaches the group
    later = first + dt.timedelta(minutes=5)
    scheduled_slot(stack, later)
    stack.settle()
    assert len(stack.bot_messages(GROUP)) == 1
    with svc.sessions() as s:
        rows = list(s.scalars(select(CampaignDelivery).where(CampaignDelivery.campaign == NAME)
                              .order_by(CampaignDelivery.slot)))
        assert [r.state for r in rows] == ["queued", "paused"]
        assert [(a.userid, a.action, a.target) for a in s.scalars(select(ConsoleAction))
                if a.action != "login"] == [("propaganda_yang", "campaign.pause", NAME)]
    # and the day's log says why
    day = later.astimezone(ZoneInfo(svc.config.timezone)).date()
    page = clerk.go(f"/console/campaigns/log?group={GROUP}&day={day}")
    assert "推送已暂停（杨宣传于" in page.locator(f"#g-{GROUP}").inner_text()
