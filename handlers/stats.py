"""#统计 (this week), #研判 (what is rising), #考核 (unit scores): a markdown summary and a chart
image through the group robot, in the linkage and leadership groups. #承诺书 records household
pledges for the unit of the group it is sent in (grid workers and propaganda staff). #回访 records
and lists victim follow-ups of a case, in the linkage group only (notes may name the victim)."""
from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from bot import cases, reports, stats
from bot.channels.base import Unreachable
from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.router import Handler

log = logging.getLogger(__name__)

STAFF = {"admin", "police", "liaison", "propaganda"}
# a note typed in a chat: longer than this is refused with its length, never cut short
NOTE_MAX = cases.NOTE_MAX


def too_long(note: str) -> str:
    return f"说明太长（{len(note)}字，最多{NOTE_MAX}字），没有记录。请精简后再发。" if len(note) > NOTE_MAX else ""


class _StatsHandler(Handler):
    roles = STAFF
    chats = {"linkage", "leadership"}

    def figures(self, ctx: Context, now):
        raise NotImplementedError

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        now = ctx.clock()
        text, chart = self.figures(ctx, now)
        try:
            png = chart()
        except reports.FontMissing as e:
            log.error("%s chart: %s", self.command, e)
            return [Reply.formatted(text + "\n（图表未生成：服务器缺少中文字体）")]
        key = f"stats:{self.name}:{msg.channel}:{msg.dedupe_key}"
        try:
            ctx.outbox.to_group_image(msg.chat_id, png, dedupe_key=key, source=f"stats:{self.name}")
        except (Unreachable, ValueError) as e:
            log.warning("%s chart not sent: %s", self.command, e)
        return [Reply.formatted(text)]


class StatsHandler(_StatsHandler):
    name = "stats"
    command = "统计"
    usage = "#统计"
    summary = "本周案件与预警统计（附图）"

    def figures(self, ctx: Context, now):
        a = stats.analyse(ctx.sessions, ctx.config, stats.week_period(ctx.config, now))
        st = stats.warning_stats(ctx.sessions, ctx.config, a.period, now)
        return stats.stats_markdown(a, st), lambda: reports.stats_chart(a, reports.cjk_font(ctx.config.reports.font))


class RisingHandler(_StatsHandler):
    name = "rising"
    command = "研判"
    usage = "#研判"
    summary = "近期上升的诈骗类型和乡镇（附图）"

    def figures(self, ctx: Context, now):
        a, rises = stats.rising(ctx.sessions, ctx.config, now)
        return stats.rising_markdown(a, rises), lambda: reports.rising_chart(a, reports.cjk_font(ctx.config.reports.font))


class AssessmentHandler(_StatsHandler):
    name = "assessment"
    command = "考核"
    usage = "#考核"
    summary = "本周各责任单位考核得分（附图）"

    def figures(self, ctx: Context, now):
        period = stats.week_period(ctx.config, now)
        scores = stats.assess(ctx.sessions, ctx.config, period, now)
        return (stats.assessment_markdown(period, scores),
                lambda: reports.assessment_chart(period.label, scores, reports.cjk_font(ctx.config.reports.font)))


PLEDGE_USAGE = "用法：#承诺书 户数 说明，例如：#承诺书 35 东关村三组入户签订"


class PledgeHandler(Handler):
    name = "pledge"
    quick = True
    command = "承诺书"
    roles = {"propaganda", "admin"}
    chats = {"community", "bank", "school", "square", "network", "station", "unit", "enterprise"}
    usage = "#承诺书 户数 说明"
    summary = "登记签订家庭防骗承诺书的户数（计入本群责任单位的考核）"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        m = re.fullmatch(r"(\d{1,5})\s*户?\s*(.*)", args.strip(), re.S)
        if not m or int(m.group(1)) <= 0:
            return [Reply(PLEDGE_USAGE)]
        group = ctx.config.group(msg.chat_id or "")
        if group is None or not group.unit:
            return [Reply("本群没有配置责任单位，无法登记承诺书。")]
        n = int(m.group(1))
        if too_long(m.group(2).strip()):
            return [Reply(too_long(m.group(2).strip()))]
        new = cases.record_pledge(ctx.sessions, unit=group.unit, households=n, note=m.group(2).strip(),
                            by=msg.sender, source_ref=f"{msg.channel}:{msg.dedupe_key}", at=ctx.clock())
        unit = ctx.config.unit_name(group.unit)
        # recorded once per message: the same message handled again (after a crash) answers the same
        log.info("pledge %s for %s: %s households (%s)", "recorded" if new else "already recorded", group.unit, n,
                 msg.dedupe_key)
        return [Reply(f"已登记：{unit} 家庭防骗承诺书 {n} 户。")]


FOLLOW_UP_USAGE = ("用法：#回访 案件编号 情况说明（记录一次回访，可用“走访：”“电话：”开头说明方式）；"
                   "#回访 案件编号（查看这起案件的回访记录）")
FOLLOW_UP_METHODS = cases.FOLLOW_UP_METHODS


class FollowUpHandler(Handler):
    name = "follow_up"
    quick = True
    command = "回访"
    roles = {"police", "liaison", "admin"}
    chats = {"linkage"}
    usage = "#回访 案件编号 [情况说明]"
    summary = "记录或查看受害人回访"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_-]{1,39})\s*(.*)", args.strip(), re.S)
        if not m:
            return [Reply(FOLLOW_UP_USAGE)]
        case_no, note = m.group(1), m.group(2).strip()
        method = "电话"
        how = re.match(r"(%s)\s*[:：]\s*" % "|".join(FOLLOW_UP_METHODS), note)
        if how:
            method, note = how.group(1), note[how.end():].strip()
        sessions = ctx.sessions
        if too_long(note):
            return [Reply(too_long(note))]
        try:
            if note:
                cases.add_follow_up(sessions, case_no, by=msg.sender, note=note, method=method,
                                    at=ctx.clock(), source_ref=f"{msg.channel}:{msg.dedupe_key}")
            case, items = cases.follow_ups(sessions, case_no)
        except cases.CaseError as e:
            return [Reply(f"{e}。{FOLLOW_UP_USAGE}")]
        tz = ZoneInfo(ctx.config.timezone)
        head = (f"{case.case_no}（{case.occurred_at.astimezone(tz):%m-%d} {case.township} "
                f"{cases.type_name(case.fraud_type, ctx.config)}）")
        if note:
            return [Reply(f"已记录{head}的{method}回访，共回访 {len(items)} 次。")]
        if not items:
            return [Reply(f"{head}还没有回访记录。")]
        lines = [f"{head}回访 {len(items)} 次："]
        for f in items[-10:]:
            who = ctx.config.person(f.by)
            lines.append(f"{f.at.astimezone(tz):%m-%d %H:%M} {f.method} {who.name if who else f.by}：{f.note}")
        return [Reply("\n".join(lines))]


def stats_handlers() -> list[Handler]:
    return [StatsHandler(), RisingHandler(), AssessmentHandler(), PledgeHandler(), FollowUpHandler()]
