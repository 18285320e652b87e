"""#推送: list, preview, run now, pause and resume scheduled campaigns (admin and propaganda staff)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot import campaigns as cp
from bot.core.context import Context
from bot.cron import weekday_name
from bot.core.inbox import received_at
from bot.core.message import Message, Reply
from bot.core.router import Handler
from bot.stats import priority_weights, weights_basis

USAGE = "用法：#推送 列表 | #推送 预览 名称 | #推送 立即 名称 | #推送 暂停 名称 | #推送 恢复 名称"


class CampaignHandler(Handler):
    name = "campaigns"
    command = "推送"
    roles = {"admin", "propaganda"}
    chats = {"leadership", "single"}
    usage = "#推送 列表|预览|立即|暂停|恢复 名称"
    summary = "管理定时宣传推送"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        ctx = ctx
        parts = args.split(maxsplit=1)
        action = parts[0] if parts else ""
        name = parts[1].strip() if len(parts) > 1 else ""
        now = ctx.clock()
        if action == "列表":
            return [Reply(list_text(ctx, now))]
        if action not in ("预览", "立即", "暂停", "恢复"):
            return [Reply(USAGE)]
        campaign = ctx.config.campaign(name)
        if campaign is None:
            names = "、".join(c.name for c in ctx.config.campaigns) or "无"
            return [Reply(f"没有名为“{name}”的推送。现有：{names}。\n{USAGE}")]
        if action == "暂停":
            cp.set_paused(ctx.sessions, name, True, msg.sender, now)
            return [Reply(f"已暂停“{name}”，发送 #推送 恢复 {name} 可恢复。")]
        if action == "恢复":
            cp.set_paused(ctx.sessions, name, False, msg.sender, now)
            return [Reply(f"已恢复“{name}”。")]
        if action == "预览":
            return [Reply(preview_text(ctx, campaign, now))]
        # the slot is the minute the message was first heard: the same message handled again (after a
        # crash) runs the same slot, which sends nothing twice
        with ctx.sessions() as s:
            heard = received_at(s, msg) or now
        slot = heard.replace(second=0, microsecond=0)
        result = cp.run_slot(ctx, campaign, slot, now, weights=priority_weights(ctx.sessions, ctx.config, now)[0])
        return [Reply(f"“{name}”已立即推送：{result.summary()}。")]


def list_text(ctx, now: dt.datetime) -> str:
    if not ctx.config.campaigns:
        return "尚未配置定时推送。"
    tz = ZoneInfo(ctx.config.timezone)
    lines = ["【定时推送】"]
    for c in ctx.config.campaigns:
        nxt = cp.trigger_for(c, ctx.config.timezone).get_next_fire_time(None, now)
        state = "已停用" if not c.enabled else "已暂停" if cp.is_paused(ctx.sessions, c.name) else "运行中"
        groups = len(ctx.config.campaign_groups(c))
        when = f"{nxt.astimezone(tz):%m-%d %H:%M}（{weekday_name(nxt.astimezone(tz))}）" if nxt else "-"
        lines.append(f"{c.name}：{state}，{groups}个群，下次 {when}（{c.cron}）")
    return "\n".join(lines)


def preview_text(ctx, campaign, now: dt.datetime) -> str:
    weights, source = priority_weights(ctx.sessions, ctx.config, now)
    basis = weights_basis(ctx.config, source)
    lines = [f"【预览：{campaign.name}】下次每个群将收到（{basis}）："]
    shown = cp.preview(ctx, campaign, now, weights)
    for group, item in shown[:6]:
        lines.append(f"· {group.name}：{item.title if item else '（无可发内容）'}")
    first = next((item for _g, item in shown if item), None)
    if first:
        lines.append("——")
        lines.append(first.text)
    return "\n".join(lines)
